package api

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"testing"
)

// TestNegativeZeroCoordinatesReplyAsStored: a station, an organization and
// an activity created (or moved) at -0 reply with the 0 their rows keep, as
// every later read does (a submit: TestSubmitReplayBodiesByteForByte).
func TestNegativeZeroCoordinatesReplyAsStored(t *testing.T) {
	h := newHarness(t)
	c := h.actCity()
	admin, _ := h.login("admin")
	negZero := math.Copysign(0, -1)
	check := func(what string, created reply, readPath string) {
		t.Helper()
		if created.Status != http.StatusCreated && created.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", what, created.Status, created.Body)
		}
		var got struct{ Lat, Lng float64 }
		created.decode(t, &got)
		if math.Signbit(got.Lat) || math.Signbit(got.Lng) {
			t.Errorf("%s replied %s", what, created.Body)
		}
		read := h.do(req{method: "GET", path: readPath, token: admin})
		if read.Status != http.StatusOK {
			t.Fatalf("%s read: %d %s", what, read.Status, read.Body)
		}
		var again struct{ Lat, Lng float64 }
		read.decode(t, &again)
		if again != got || bytes.Contains(read.Body, []byte(":-0")) {
			t.Errorf("%s: created %s, read %s", what, created.Body, read.Body)
		}
	}

	st := h.do(req{method: "POST", path: "/api/v1/admin/stations", token: admin,
		body: map[string]any{"name": "零度社工点", "level": 3, "parent_id": c.Beishan, "lat": negZero, "lng": 129.5}})
	id := func(r reply) int64 {
		var v struct{ ID int64 }
		r.decode(t, &v)
		return v.ID
	}
	check("station", st, fmt.Sprintf("/api/v1/stations/%d", id(st)))
	moved := h.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/admin/stations/%d", id(st)), token: admin,
		body: map[string]any{"lat": 42.9, "lng": negZero}})
	check("moved station", moved, fmt.Sprintf("/api/v1/stations/%d", id(st)))

	org := h.do(req{method: "POST", path: "/api/v1/admin/organizations", token: admin,
		body: map[string]any{"name": "零度协会", "lat": 42.9, "lng": negZero, "categories": []string{"home_visit"}}})
	check("organization", org, fmt.Sprintf("/api/v1/organizations/%d", id(org)))
	movedOrg := h.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/admin/organizations/%d", id(org)), token: admin,
		body: map[string]any{"lat": negZero, "lng": 129.5}})
	check("moved organization", movedOrg, fmt.Sprintf("/api/v1/organizations/%d", id(org)))

	organizer := h.organizer("zero-organizer")
	act := h.do(req{method: "POST", path: "/api/v1/activities", token: organizer,
		body: h.activityBody(map[string]any{"lat": negZero, "lng": 129.5})}) // (0, 0) is refused as no place
	check("activity", act, fmt.Sprintf("/api/v1/activities/%d", id(act)))
	movedAct := h.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/activities/%d", id(act)), token: organizer,
		body: map[string]any{"lat": 42.9, "lng": negZero}})
	check("moved activity", movedAct, fmt.Sprintf("/api/v1/activities/%d", id(act)))
}

// TestNoPlaceAtZeroZero: (0, 0), what a phone without a fix or an unfilled
// form sends, is refused naming lat and lng wherever a place is stored or
// proves presence: a submit, a station, an organization, an activity (also
// as -0), a check-in. A nearby search there is only a search.
func TestNoPlaceAtZeroZero(t *testing.T) {
	h := newHarness(t)
	c := h.actCity()
	admin, _ := h.login("admin")
	resident, _ := h.login("zero-resident")
	organizer := h.organizer("zero-place-organizer")
	vol, _ := h.volunteer("zero-volunteer", 0)
	negZero := math.Copysign(0, -1)
	zero := func(body map[string]any) map[string]any {
		body["lat"], body["lng"] = 0.0, negZero
		return body
	}
	for _, r := range []req{
		{method: "POST", path: "/api/v1/requests", token: resident, body: zero(needBody())},
		{method: "POST", path: "/api/v1/admin/stations", token: admin, body: zero(map[string]any{"name": "无位置社工点", "level": 3, "parent_id": c.Beishan})},
		{method: "PATCH", path: fmt.Sprintf("/api/v1/admin/stations/%d", c.Beishan), token: admin, body: zero(map[string]any{})},
		{method: "POST", path: "/api/v1/admin/organizations", token: admin, body: zero(map[string]any{"name": "无位置协会", "categories": []string{"home_visit"}})},
		{method: "POST", path: "/api/v1/activities", token: organizer, body: h.activityBody(zero(map[string]any{}))},
		{method: "POST", path: "/api/v1/activities/1/checkin", token: vol, body: zero(map[string]any{})},
	} {
		got := h.do(r)
		if got.Status != http.StatusBadRequest || got.errorFields()["lat"] == "" || got.errorFields()["lng"] == "" {
			t.Errorf("%s %s at (0, 0): %d %s", r.method, r.path, got.Status, got.Body)
		}
	}
	if n := h.count(`SELECT (SELECT COUNT(*) FROM requests) + (SELECT COUNT(*) FROM stations WHERE lat = 0 AND lng = 0) + (SELECT COUNT(*) FROM organizations WHERE lat = 0 AND lng = 0) + (SELECT COUNT(*) FROM activities WHERE lat = 0 AND lng = 0)`); n != 0 {
		t.Fatalf("%d rows at (0, 0)", n)
	}
	if r := h.do(req{method: "GET", path: "/api/v1/stations?lat=0&lng=0", token: resident}); r.Status != http.StatusOK {
		t.Fatalf("a nearby search at (0, 0): %d %s", r.Status, r.Body)
	}
}
