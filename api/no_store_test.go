package api

import "testing"

// TestAPIRepliesAreNotStored: the API's replies (personal, per caller) say
// Cache-Control: no-store, errors included.
func TestAPIRepliesAreNotStored(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login("alice")
	for _, r := range []req{
		{method: "GET", path: "/api/v1/me", token: tok},
		{method: "GET", path: "/api/v1/me"},
		{method: "GET", path: "/api/v1/requests/999", token: tok},
	} {
		if got := h.do(r).Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want no-store", r.method, r.path, got)
		}
	}
}
