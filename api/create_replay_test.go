package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOfferingCreatesReplayByKey audits the keyed creates of the booking
// admin routes (the slot pattern: TestSlotPatternReplayByKey): the same key and body twice give the identical status and
// body and one row; the same key with another body is 409 naming the key.
func TestOfferingCreatesReplayByKey(t *testing.T) {
	w := newBookingWorld(t)
	loc := w.store.Loc
	day := w.clock.Now().In(loc).AddDate(0, 0, 10)
	for day.Weekday() != time.Monday {
		day = day.AddDate(0, 0, 1)
	}
	at := func(d time.Time, hour int) string {
		return time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, loc).Format(time.RFC3339)
	}
	slots := fmt.Sprintf("/api/v1/admin/services/%d/slots", w.offering)
	countSlots := fmt.Sprintf("SELECT COUNT(*) FROM slots WHERE offering_id = %d", w.offering)
	for _, c := range []keyedCreate{
		{"service", "/api/v1/admin/services",
			map[string]any{"station_id": w.st.street, "name": "法律咨询", "category": "counselling", "duration_min": 60},
			map[string]any{"station_id": w.st.street, "name": "法律援助", "category": "counselling", "duration_min": 60},
			"SELECT COUNT(*) FROM offerings WHERE name IN ('法律咨询', '法律援助')"},
		{"slot", slots,
			map[string]any{"starts_at": at(day, 9), "ends_at": at(day, 10), "capacity": 2},
			map[string]any{"starts_at": at(day, 11), "ends_at": at(day, 12), "capacity": 2},
			countSlots},
		{"closed date", fmt.Sprintf("/api/v1/admin/stations/%d/closed-dates", w.st.street),
			map[string]any{"date": day.AddDate(0, 0, 30).Format(time.DateOnly), "reason": "盘点"},
			map[string]any{"date": day.AddDate(0, 0, 31).Format(time.DateOnly), "reason": "盘点"},
			fmt.Sprintf("SELECT COUNT(*) FROM station_closed_dates WHERE station_id = %d", w.st.street)},
	} {
		w.checkReplayByKey(w.worker, c)
	}
}

// TestSlotPatternReplayByKey: a retried pattern gets the first reply, though
// every slot it names exists by then (it once got {"items": [], "skipped":
// [... "exists"]}), and another pattern under the same key is refused.
func TestSlotPatternReplayByKey(t *testing.T) {
	w := newBookingWorld(t)
	day := w.clock.Now().In(w.store.Loc).AddDate(0, 0, 10)
	path := fmt.Sprintf("/api/v1/admin/services/%d/slots/pattern", w.offering)
	body := map[string]any{"from": day.Format(time.DateOnly), "to": day.AddDate(0, 0, 6).Format(time.DateOnly),
		"weekdays": []int{1, 3}, "times": []map[string]string{{"start": "14:00", "end": "15:00"}}, "capacity": 2}
	key := map[string]string{"Idempotency-Key": "pattern-1"}
	first := w.do(req{method: "POST", path: path, token: w.worker, body: body, header: key})
	again := w.do(req{method: "POST", path: path, token: w.worker, body: body, header: key})
	if first.Status != http.StatusCreated || !again.replays(first) {
		t.Fatalf("retried: %d %s, want %d %s", again.Status, again.Body, first.Status, first.Body)
	}
	if n := w.count(fmt.Sprintf("SELECT COUNT(*) FROM slots WHERE offering_id = %d", w.offering)); n != 2 {
		t.Fatalf("%d slots, want 2", n)
	}
	body["capacity"] = 3 // the same slots, so nothing new: still another request
	if r := w.do(req{method: "POST", path: path, token: w.worker, body: body, header: key}); !r.refusesKey() {
		t.Fatalf("same key, another pattern: %d %s", r.Status, r.Body)
	}
}

// TestAdminCreatesReplayByKey audits the keyed creates of the city admin
// (organizations, categories; stations: TestAdminStationRules): the same key
// and body twice give the identical reply and one row; another body is 409.
func TestAdminCreatesReplayByKey(t *testing.T) {
	h := newHarness(t)
	h.city()
	admin, _ := h.login("admin")
	for _, c := range []keyedCreate{
		{"organization", "/api/v1/admin/organizations",
			map[string]any{"name": "幂等协会", "lat": 42.91, "lng": 129.5, "categories": []string{"home_visit"}, "address": "延吉市"},
			map[string]any{"name": "幂等协会二", "lat": 42.91, "lng": 129.5, "categories": []string{"home_visit"}, "address": "延吉市"},
			"SELECT COUNT(*) FROM organizations WHERE name IN ('幂等协会', '幂等协会二')"},
		{"category", "/api/v1/admin/categories",
			map[string]any{"code": "idem_service", "name": "幂等服务", "area": "elder_care"},
			map[string]any{"code": "idem_service2", "name": "幂等服务二", "area": "elder_care"},
			"SELECT COUNT(*) FROM categories WHERE code IN ('idem_service', 'idem_service2')"},
	} {
		h.checkReplayByKey(admin, c)
	}
}

// keyedCreate is a create audited by checkReplayByKey: body and other are
// two valid bodies, count counts the rows either would add.
type keyedCreate struct {
	name, path  string
	body, other any
	count       string
}

// checkReplayByKey posts c.body twice under one key (the identical status
// and body, 201), then c.other under it (409 naming the key), and wants one
// row counted.
func (h *harness) checkReplayByKey(token string, c keyedCreate) {
	h.t.Helper()
	key := map[string]string{"Idempotency-Key": "audit-" + strings.ReplaceAll(c.name, " ", "-")}
	first := h.do(req{method: "POST", path: c.path, token: token, body: c.body, header: key})
	if first.Status != http.StatusCreated {
		h.t.Fatalf("%s: %d %s", c.name, first.Status, first.Body)
	}
	again := h.do(req{method: "POST", path: c.path, token: token, body: c.body, header: key})
	if !again.replays(first) {
		h.t.Errorf("%s retried: %d %s, want %d %s", c.name, again.Status, again.Body, first.Status, first.Body)
	}
	r := h.do(req{method: "POST", path: c.path, token: token, body: c.other, header: key})
	if !r.refusesKey() {
		h.t.Errorf("%s, same key, another body: %d %s", c.name, r.Status, r.Body)
	}
	if n := h.count(c.count); n != 1 {
		h.t.Errorf("%s: %d rows, want 1", c.name, n)
	}
}
