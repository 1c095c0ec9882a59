package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"jindalai/model"
)

// TestTimesOutOfRangeNameTheField: a time or date a client sends outside the
// years model.CheckTime accepts (in a query, a body or a cursor) gets 400
// invalid_argument naming the field, never a 500 from the database driver
// (which refuses years outside 1–9999 once the time is in UTC).
func TestTimesOutOfRangeNameTheField(t *testing.T) {
	h := newHarness(t)
	city := h.actCity()
	admin, _ := h.login("admin")
	r := h.do(req{method: "POST", path: "/api/v1/admin/services", token: admin, body: map[string]any{
		"station_id": city.Beishan, "name": "心理咨询", "category": "counselling", "duration_min": 60}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create offering: %d %s", r.Status, r.Body)
	}
	var o model.Offering
	r.decode(t, &o)
	cursor := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	slots := fmt.Sprintf("/api/v1/services/%d/slots", o.ID)
	for _, c := range []struct {
		req   req
		field string
	}{
		{req{method: "GET", path: slots + "?from=0001-01-01&to=0001-01-02"}, "from"},
		{req{method: "GET", path: slots + "?from=9999-12-30T00:00:00Z&to=9999-12-31T23:00:00-08:00"}, "from"},
		{req{method: "GET", path: slots + "?from=2199-12-30&to=2200-01-02"}, "to"},
		{req{method: "GET", path: "/api/v1/admin/stats?from=0001-01-01&to=0001-06-01"}, "from"},
		{req{method: "GET", path: "/api/v1/admin/stats?from=9999-12-01T00:00:00Z&to=9999-12-31T23:00:00-08:00"}, "from"},
		{req{method: "GET", path: "/api/v1/admin/stats?to=0001-01-01"}, "to"},
		{req{method: "GET", path: "/api/v1/activities?from=0001-01-01T00:00:00%2B08:00"}, "from"},
		{req{method: "GET", path: fmt.Sprintf("/api/v1/admin/stations/%d/bookings?date=0001-01-01", city.Beishan)}, "date"},
		{req{method: "GET", path: fmt.Sprintf("/api/v1/organizations/%d/hours?from=0001-01-01T00:00:00%%2B08:00&to=0001-02-01T00:00:00%%2B08:00",
			city.OrgElder)}, "from"},
		{req{method: "POST", path: fmt.Sprintf("/api/v1/admin/services/%d/slots/pattern", o.ID), body: map[string]any{
			"from": "0001-01-01", "to": "0001-01-05", "weekdays": []int{1, 2, 3, 4, 5, 6, 7},
			"times": []map[string]string{{"start": "09:00", "end": "10:00"}}, "capacity": 1}}, "from"},
		{req{method: "POST", path: fmt.Sprintf("/api/v1/admin/services/%d/slots/pattern", o.ID), body: map[string]any{
			"from": "2199-12-30", "to": "2199-12-31", "weekdays": []int{1}, "skip_dates": []string{"0001-01-01"},
			"times": []map[string]string{{"start": "09:00", "end": "10:00"}}, "capacity": 1}}, "skip_dates"},
		{req{method: "POST", path: fmt.Sprintf("/api/v1/admin/services/%d/slots", o.ID), body: map[string]any{
			"starts_at": "9999-12-31T23:00:00-08:00", "ends_at": "9999-12-31T23:30:00-08:00", "capacity": 1}}, "starts_at"},
		{req{method: "POST", path: "/api/v1/activities", body: h.activityBody(map[string]any{
			"starts_at": "9999-12-31T20:00:00-08:00", "ends_at": "9999-12-31T22:00:00-08:00", "signup_deadline": nil})}, "starts_at"},
		{req{method: "PATCH", path: "/api/v1/activities/1", body: map[string]any{"ends_at": "0001-01-01T00:00:00Z"}}, "ends_at"},
		{req{method: "GET", path: "/api/v1/activities?cursor=MjUzNDAyMzAwODAwMDAwLjE"}, "cursor"},
		{req{method: "GET", path: "/api/v1/activities?cursor=LTk5OTk5OTk5OTk5OTk5OTk5LjE"}, "cursor"},
		{req{method: "GET", path: "/api/v1/activities?cursor=LTYyMTM1NTk2ODAwMDAxLjE"}, "cursor"},
		{req{method: "GET", path: "/api/v1/activities?cursor=" + cursor(strconv.FormatInt(1<<63-1, 10)+".1")}, "cursor"},
		{req{method: "GET", path: "/api/v1/activities?cursor=" + cursor(strconv.FormatInt(-1<<63, 10)+".1")}, "cursor"},
		{req{method: "POST", path: fmt.Sprintf("/api/v1/admin/stations/%d/closed-dates", city.Beishan), body: map[string]any{"date": "0000-01-01"}}, "date"},
		{req{method: "DELETE", path: fmt.Sprintf("/api/v1/admin/stations/%d/closed-dates/0000-01-01", city.Beishan)}, "date"},
		{req{method: "GET", path: fmt.Sprintf("/api/v1/admin/stations/%d/closed-dates?from=2199-12-01&to=9999-12-31", city.Beishan)}, "to"},
	} {
		c.req.token = admin
		r := h.do(c.req)
		if r.Status != http.StatusBadRequest || r.errorCode() != model.CodeInvalid || r.errorFields()[c.field] == "" {
			t.Errorf("%s %s: %d %s, want 400 naming %s", c.req.method, c.req.path, r.Status, r.Body, c.field)
		}
	}
	// The edges of the range are accepted, and windows derived from them
	// (to = from + 14 days, the next midnight) stay storable.
	for _, path := range []string{
		slots + "?from=2199-12-31",
		slots + "?from=2000-01-01&to=2000-01-01",
		"/api/v1/admin/stats?from=2199-12-01&to=2199-12-31T23:00:00-08:00",
		"/api/v1/admin/stats?from=2000-01-01&to=2000-02-01",
		fmt.Sprintf("/api/v1/admin/stations/%d/bookings?date=2199-12-31", city.Beishan),
		fmt.Sprintf("/api/v1/organizations/%d/hours?from=2000-01-01T00:00:00%%2B08:00&to=2000-02-01T00:00:00%%2B08:00", city.OrgElder),
		fmt.Sprintf("/api/v1/organizations/%d/hours?from=2199-01-01T00:00:00%%2B08:00&to=2199-12-31T23:00:00-08:00", city.OrgElder),
		"/api/v1/activities?from=2199-12-31T23:00:00-08:00",
	} {
		if r := h.do(req{method: "GET", path: path, token: admin}); r.Status != http.StatusOK {
			t.Errorf("GET %s: %d %s, want 200", path, r.Status, r.Body)
		}
	}
	// An activity at the end of the range pages on: its cursor (the start in
	// UTC, already year 2200) passes the same rule.
	for _, at := range []string{"2199-12-31T22:00:00-08:00", "2199-12-31T22:30:00-08:00"} {
		h.createActivity(admin, map[string]any{"starts_at": at, "ends_at": "2199-12-31T23:30:00-08:00", "signup_deadline": nil, "credited_hours": 1})
	}
	var page model.List[model.Activity]
	h.do(req{method: "GET", path: "/api/v1/activities?limit=1&from=2199-12-31T00:00:00Z", token: admin}).decode(t, &page)
	if page.NextCursor == "" {
		t.Fatal("no next page")
	}
	if r := h.do(req{method: "GET", path: "/api/v1/activities?limit=1&from=2199-12-31T00:00:00Z&cursor=" + page.NextCursor, token: admin}); r.Status != http.StatusOK {
		t.Fatalf("next page: %d %s", r.Status, r.Body)
	}
}
