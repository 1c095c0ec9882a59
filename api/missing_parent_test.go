package api

import (
	"net/http"
	"testing"

	"jindalai/model"
)

// TestListsUnderAMissingParentAre404: a city admin (whom no scope check
// stops) asking for the lists of a station, a service or an organization
// that does not exist gets 404, not an empty list.
func TestListsUnderAMissingParentAre404(t *testing.T) {
	h := newHarness(t)
	h.city()
	admin, _ := h.login("admin")
	for _, path := range []string{
		"/api/v1/admin/stations/99999/bookings",
		"/api/v1/admin/stations/99999/closed-dates",
		"/api/v1/services/99999/slots",
		"/api/v1/organizations/99999/members",
		"/api/v1/organizations/99999/hours",
		"/api/v1/activities/99999/claims",
	} {
		r := h.do(req{method: "GET", path: path, token: admin})
		if r.Status != http.StatusNotFound || r.errorCode() != model.CodeNotFound {
			t.Errorf("GET %s: %d %s, want 404 not_found", path, r.Status, r.Body)
		}
	}
}
