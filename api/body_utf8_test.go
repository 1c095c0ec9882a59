package api

import (
	"net/http"
	"testing"

	"jindalai/model"
)

// TestBodyMustBeUTF8: API.md says JSON in is UTF-8. A body with bytes that
// are not UTF-8 (in a value or a key, in a required or an optional body) is
// a 400 naming body, not silently read with U+FFFD in their place, and
// changes nothing.
func TestBodyMustBeUTF8(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login("alice")
	if r := h.do(req{method: "PATCH", path: "/api/v1/me", token: tok, body: map[string]string{"nickname": "小金"}}); r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	for _, c := range []struct {
		name, method, path string
		body               []byte
	}{
		{"latin-1 in a value", "PATCH", "/api/v1/me", []byte("{\"nickname\": \"caf\xe9\"}")},
		{"cut sequence in a value", "PATCH", "/api/v1/me", []byte("{\"nickname\": \"\xe5\xb0\"}")},
		{"surrogate half", "PATCH", "/api/v1/me", []byte("{\"nickname\": \"\xed\xa0\x80\"}")},
		{"bad key", "PATCH", "/api/v1/me", []byte("{\"nick\xffname\": \"x\"}")},
		{"optional body", "POST", "/api/v1/bookings/1/cancel", []byte("{\"reason\": \"\xff\"}")},
	} {
		r := h.do(req{method: c.method, path: c.path, token: tok, body: c.body})
		if r.Status != http.StatusBadRequest || r.errorCode() != model.CodeInvalid || r.errorFields()["body"] == "" {
			t.Errorf("%s: %d %s, want 400 naming body", c.name, r.Status, r.Body)
		}
	}
	var me model.User
	r := h.do(req{method: "GET", path: "/api/v1/me", token: tok})
	r.decode(t, &me)
	if me.Nickname != "小金" {
		t.Fatalf("nickname %q after refused bodies", me.Nickname)
	}
}
