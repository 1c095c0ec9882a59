package api

import (
	"net/http"
	"testing"

	"jindalai/model"
)

func TestActivitiesOpenAPIValid(t *testing.T) {
	openapiRouter(t)
}

func TestVolunteerRegistration(t *testing.T) {
	h := newHarness(t)
	org := h.actCity().OrgElder
	old, user := h.login("vera")
	if r := h.do(req{method: "POST", path: "/api/v1/volunteers", token: old, body: map[string]any{
		"real_name": "李小龙", "phone": "13912345678", "org_id": 999999}}); r.Status != http.StatusBadRequest || r.errorFields()["org_id"] == "" {
		t.Fatalf("unknown organization: %d %s", r.Status, r.Body)
	}
	r := h.do(req{method: "POST", path: "/api/v1/volunteers", token: old, body: map[string]any{
		"real_name": "李小龙", "phone": "13912345678", "skills": []string{"急救", "急救", "摄影"}, "org_id": org}})
	if r.Status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	var reg model.VolunteerRegistration
	r.decode(t, &reg)
	if reg.Volunteer.RealName != "李**" || reg.Volunteer.Phone != "139****5678" || len(reg.Volunteer.Skills) != 2 ||
		reg.Volunteer.OrgID != org || reg.Volunteer.UserID != user.ID {
		t.Fatalf("volunteer %+v", reg.Volunteer)
	}
	if !(model.Principal{Roles: reg.User.Roles}).HasOrgRole(org, model.RoleVolunteer) {
		t.Fatalf("roles %+v, want volunteer of org %d", reg.User.Roles, org)
	}
	if r := h.do(req{method: "GET", path: "/api/v1/me", token: old}); r.Status != http.StatusUnauthorized {
		t.Fatalf("old token after the role change: %d", r.Status)
	}
	if r := h.do(req{method: "GET", path: "/api/v1/volunteers/me", token: reg.Token}); r.Status != http.StatusOK {
		t.Fatalf("me: %d %s", r.Status, r.Body)
	}
	r = h.do(req{method: "POST", path: "/api/v1/volunteers", token: reg.Token, body: map[string]any{
		"real_name": "李小龙", "phone": "13912345678"}})
	if r.Status != http.StatusConflict {
		t.Fatalf("second registration: %d %s", r.Status, r.Body)
	}
	var enc []byte
	if err := h.store.DB.QueryRow(`SELECT phone_enc FROM volunteers WHERE user_id = ?`, user.ID).Scan(&enc); err != nil ||
		len(enc) == 0 || string(enc) == "13912345678" {
		t.Fatalf("phone at rest %q (%v)", enc, err)
	}
}
