package api

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"jindalai/model"
)

// GET /admin/stats carries the bookings, activities and volunteer minutes
// of the window and scope (the reply is checked against openapi.yaml, whose
// Stats schema requires them): two live bookings and a cancelled one at
// 北山, an activity of 北山 with 90 credited minutes; 公园 has none.
func TestStatsBookingsAndActivitiesOverHTTP(t *testing.T) {
	h := newHarness(t)
	c := h.actCity() // the city of activities and bookings alike
	w := &bookingWorld{harness: h, st: stationTree{city: c.City, street: c.Beishan, other: c.Gongyuan, village: c.PointA}}
	w.admin, _ = h.login("admin")
	w.worker = w.staff("worker", model.RoleSocialWorker, w.st.street)
	w.offering = w.createOffering(w.worker, w.st.street, "心理咨询")
	slot := w.createSlot(w.worker, w.offering, 48*time.Hour, 5)
	for _, code := range []string{"alice", "bob"} {
		tok, _ := w.login(code)
		w.mustBook(tok, slot)
	}
	carol, _ := w.login("carol")
	cancelled := w.mustBook(carol, slot)
	if r := w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/bookings/%d/cancel", cancelled.ID), token: carol}); r.Status != http.StatusOK {
		t.Fatalf("cancel booking: %d %s", r.Status, r.Body)
	}
	a := w.createActivity(w.organizer("org"), nil)
	if _, err := w.store.DB.Exec(`INSERT INTO volunteer_hours (volunteer_id, activity_id, claim_id, kind, minutes, recorded_by, created_at)
		VALUES (1, ?, 1, 'served', 90, 1, UTC_TIMESTAMP(3))`, a.ID); err != nil {
		t.Fatal(err)
	}

	window := "?from=" + w.clock.Now().In(w.store.Loc).Format("2006-01-02") +
		"&to=" + url.QueryEscape(w.clock.Now().Add(72*time.Hour).Format(time.RFC3339))
	for _, c := range []struct {
		name, query                   string
		bookings, activities, minutes int
	}{
		{"city", "", 2, 1, 90},
		{"北山 subtree", fmt.Sprintf("&station_id=%d", w.st.street), 2, 1, 90},
		{"公园 subtree", fmt.Sprintf("&station_id=%d", w.st.other), 0, 0, 0},
	} {
		r := w.do(req{method: "GET", path: "/api/v1/admin/stats" + window + c.query, token: w.admin})
		var st model.Stats
		r.decode(t, &st)
		if r.Status != http.StatusOK || st.Bookings != c.bookings || st.Activities != c.activities || st.VolunteerMinutes != c.minutes {
			t.Errorf("%s: %d %s, want bookings %d, activities %d, volunteer_minutes %d", c.name, r.Status, r.Body,
				c.bookings, c.activities, c.minutes)
		}
	}
}
