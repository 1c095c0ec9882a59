package api

import (
	"net/http"
	"testing"
)

// TestBearerSchemeAnyCase: the auth scheme is case-insensitive (RFC 7235
// section 2.1), so "bearer" and "BEARER" are Bearer; another scheme, a
// missing token or a scheme run into the token is still 401.
func TestBearerSchemeAnyCase(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login("casey")
	for _, c := range []struct {
		header string
		want   int
	}{
		{"Bearer " + tok, http.StatusOK},
		{"bearer " + tok, http.StatusOK},
		{"BEARER " + tok, http.StatusOK},
		{"bEaReR  " + tok, http.StatusOK},
		{"Basic " + tok, http.StatusUnauthorized},
		{"bearer", http.StatusUnauthorized},
		{"bearer ", http.StatusUnauthorized},
		{"bearer" + tok, http.StatusUnauthorized},
		{tok, http.StatusUnauthorized},
	} {
		r := h.do(req{method: "GET", path: "/api/v1/me", header: map[string]string{"Authorization": c.header}})
		if r.Status != c.want {
			t.Errorf("Authorization %q: %d %s, want %d", c.header, r.Status, r.Body, c.want)
		}
	}
}
