package api

import (
	"net/http"
	"testing"
)

// TestCancelRequestOptionalBody: the cancel body is optional like every other
// optional body (bindOptionalJSON): absent or blank cancels without a reason;
// an unknown field or broken JSON is a 400 naming it, and cancels nothing.
func TestCancelRequestOptionalBody(t *testing.T) {
	h := newHarness(t)
	h.city()
	alice, _ := h.login("alice")

	for _, c := range []struct {
		name  string
		body  any
		want  int
		field string
	}{
		{"unknown field", `{"reasn": "不需要了"}`, http.StatusBadRequest, "reasn"},
		{"broken JSON", `{"reason": `, http.StatusBadRequest, "body"},
		{"wrong type", `{"reason": 3}`, http.StatusBadRequest, "reason"},
		{"absent", nil, http.StatusOK, ""},
		{"blank", "  \n", http.StatusOK, ""},
		{"with a reason", map[string]string{"reason": "不需要了"}, http.StatusOK, ""},
	} {
		r := h.submitNeed(alice, needBody())
		out := h.do(req{method: "POST", path: reqPath(r.ID, "cancel"), token: alice, body: c.body})
		if out.Status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, out.Status, out.Body, c.want)
			continue
		}
		if c.field != "" {
			if _, ok := out.errorFields()[c.field]; !ok {
				t.Errorf("%s: fields %v, want %s named", c.name, out.errorFields(), c.field)
			}
			if got := h.getRequest(alice, r.ID); got.Status == "cancelled" {
				t.Errorf("%s: cancelled by a refused body", c.name)
			}
		}
	}
}
