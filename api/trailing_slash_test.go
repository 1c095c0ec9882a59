package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"jindalai/model"
)

// TestNoPathRedirects: a path that differs from a route only by a trailing
// slash or letter case is not redirected (gin's 301/307 with an HTML body
// and no X-Request-Id) but answered like any unknown path: 404 not_found
// in the error shape, with X-Request-Id.
func TestNoPathRedirects(t *testing.T) {
	h := newHarness(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/requests/1/"},
		{"POST", "/api/v1/requests/"},
		{"GET", "/api/v1/categories/"},
		{"GET", "/healthz/"},
		{"GET", "/API/V1/categories"},
		{"GET", "/api/v1//categories"},
	} {
		var body *strings.Reader
		if c.method == "POST" {
			body = strings.NewReader(`{}`)
		} else {
			body = strings.NewReader("")
		}
		hr, err := http.NewRequest(c.method, h.http.URL+c.path, body)
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		var e errorBody
		decodeErr := json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || decodeErr != nil || e.Error.Code != model.CodeNotFound ||
			resp.Header.Get("X-Request-Id") == "" || resp.Header.Get("Location") != "" {
			t.Errorf("%s %s: %d Location %q X-Request-Id %q (%v %+v), want a JSON 404 with X-Request-Id", c.method, c.path,
				resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("X-Request-Id"), decodeErr, e)
		}
	}
}
