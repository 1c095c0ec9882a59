package api

import (
	"testing"

	"jindalai/model"
)

// TestMeSeesProfileChangesFromEverySession: GET /me answers from each
// session's profile copy; a change through one session shows at once in the
// others.
func TestMeSeesProfileChangesFromEverySession(t *testing.T) {
	h := newHarness(t)
	phone, _ := h.login("erin")
	tablet, _ := h.login("erin")
	for _, tok := range []string{phone, tablet} {
		if r := h.do(req{method: "GET", path: "/api/v1/me", token: tok}); r.Status != 200 {
			t.Fatalf("/me: %d %s", r.Status, r.Body)
		}
	}
	r := h.do(req{method: "PATCH", path: "/api/v1/me", token: phone, body: map[string]string{"nickname": "小艾"}})
	if r.Status != 200 {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	r = h.do(req{method: "POST", path: "/api/v1/auth/wechat/phone", token: phone, body: map[string]string{"code": "13812345678"}})
	if r.Status != 200 {
		t.Fatalf("phone: %d %s", r.Status, r.Body)
	}
	for _, tok := range []string{tablet, phone} {
		var me model.User
		r := h.do(req{method: "GET", path: "/api/v1/me", token: tok})
		r.decode(t, &me)
		if r.Status != 200 || me.Nickname != "小艾" || me.PhoneMasked != "138****5678" {
			t.Fatalf("/me after the change: %d %s", r.Status, r.Body)
		}
	}
}
