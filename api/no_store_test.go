package api

import (
	"fmt"
	"strings"
	"testing"
)

// TestAPIRepliesAreNotStored: the API's replies (personal, per caller) say
// Cache-Control: no-store, errors included (also those answered before any
// route: 404, 405, 413), and so does the check-in code (a secret of the
// minute).
func TestAPIRepliesAreNotStored(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login("alice")
	org := h.organizer("no-store-org")
	a := h.createActivity(org, nil)
	for _, c := range []struct {
		r      req
		status int
	}{
		{req{method: "GET", path: "/api/v1/me", token: tok}, 200},
		{req{method: "GET", path: "/api/v1/me"}, 401},
		{req{method: "GET", path: "/api/v1/requests/999", token: tok}, 404},
		{req{method: "GET", path: fmt.Sprintf("/api/v1/activities/%d/checkin-code", a.ID), token: org}, 200},
		{req{method: "GET", path: "/api/v1/nope", token: tok}, 404},
		{req{method: "PUT", path: "/api/v1/me", token: tok}, 405},
		{req{method: "PATCH", path: "/api/v1/me", token: tok, body: map[string]string{"nickname": strings.Repeat("长", 1<<19)}}, 413},
	} {
		r := h.do(c.r)
		if r.Status != c.status {
			t.Errorf("%s %s: %d, want %d", c.r.method, c.r.path, r.Status, c.status)
		}
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want no-store", c.r.method, c.r.path, got)
		}
	}
}
