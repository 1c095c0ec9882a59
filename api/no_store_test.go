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
	for _, r := range []req{
		{method: "GET", path: "/api/v1/me", token: tok},
		{method: "GET", path: "/api/v1/me"},
		{method: "GET", path: "/api/v1/requests/999", token: tok},
		{method: "GET", path: fmt.Sprintf("/api/v1/activities/%d/checkin-code", a.ID), token: org},
		{method: "GET", path: "/api/v1/nope", token: tok},
		{method: "PUT", path: "/api/v1/me", token: tok},
		{method: "PATCH", path: "/api/v1/me", token: tok, body: map[string]string{"nickname": strings.Repeat("长", 1<<19)}},
	} {
		if got := h.do(r).Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want no-store", r.method, r.path, got)
		}
	}
}
