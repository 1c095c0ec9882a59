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
		body: map[string]any{"name": "零度社工点", "level": 3, "parent_id": c.Beishan, "lat": negZero, "lng": negZero}})
	id := func(r reply) int64 {
		var v struct{ ID int64 }
		r.decode(t, &v)
		return v.ID
	}
	check("station", st, fmt.Sprintf("/api/v1/stations/%d", id(st)))
	moved := h.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/admin/stations/%d", id(st)), token: admin,
		body: map[string]any{"lat": negZero, "lng": 129.5}})
	check("moved station", moved, fmt.Sprintf("/api/v1/stations/%d", id(st)))

	org := h.do(req{method: "POST", path: "/api/v1/admin/organizations", token: admin,
		body: map[string]any{"name": "零度协会", "lat": negZero, "lng": negZero, "categories": []string{"home_visit"}}})
	check("organization", org, fmt.Sprintf("/api/v1/organizations/%d", id(org)))
	movedOrg := h.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/admin/organizations/%d", id(org)), token: admin,
		body: map[string]any{"lat": 42.9, "lng": negZero}})
	check("moved organization", movedOrg, fmt.Sprintf("/api/v1/organizations/%d", id(org)))

	organizer := h.organizer("zero-organizer")
	act := h.do(req{method: "POST", path: "/api/v1/activities", token: organizer,
		body: h.activityBody(map[string]any{"lat": negZero, "lng": 129.5})}) // (0, 0) is refused as no place
	check("activity", act, fmt.Sprintf("/api/v1/activities/%d", id(act)))
	movedAct := h.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/activities/%d", id(act)), token: organizer,
		body: map[string]any{"lat": 42.9, "lng": negZero}})
	check("moved activity", movedAct, fmt.Sprintf("/api/v1/activities/%d", id(act)))
}
