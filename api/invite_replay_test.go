package api

import (
	"net/http"
	"testing"

	"jindalai/model"
)

// TestInviteReplayByKey: a keyed invite retried gets the same code and
// creates no second invite; the code works, is kept only encrypted, and
// another body under the key is 409. Two concurrent submits get one invite.
func TestInviteReplayByKey(t *testing.T) {
	h := newHarness(t)
	org := h.actCity().OrgElder
	admin, adminUser := h.login("admin")
	sessions := h.sessionCount(adminUser.ID)
	invites := `SELECT COUNT(*) FROM invites WHERE created_by = ?`
	before := h.count(invites, adminUser.ID)
	body := map[string]any{"role": "org_admin", "org_id": org}
	key := map[string]string{"Idempotency-Key": "invite-1"}
	first := h.do(req{method: "POST", path: "/api/v1/admin/invites", token: admin, body: body, header: key})
	if first.Status != http.StatusCreated {
		t.Fatalf("invite: %d %s", first.Status, first.Body)
	}
	again := h.do(req{method: "POST", path: "/api/v1/admin/invites", token: admin, body: body, header: key})
	if !again.replays(first) {
		t.Fatalf("retried: %d %s, want %d %s", again.Status, again.Body, first.Status, first.Body)
	}
	if n := h.count(invites, adminUser.ID); n != before+1 {
		t.Fatalf("%d invites, want %d", n, before+1)
	}
	if n := h.sessionCount(adminUser.ID); n != sessions {
		t.Fatalf("%d sessions of the admin, want %d", n, sessions)
	}
	var inv model.Invite
	again.decode(t, &inv)
	kept := h.keptReplies(adminUser.ID)
	if len(kept) != 1 || kept[0] == "" {
		t.Fatalf("kept replies %q, want one", kept)
	}
	if inClear(kept[0], inv.Code) {
		t.Fatalf("the invite code is kept in clear: %s", kept[0])
	}
	other := h.do(req{method: "POST", path: "/api/v1/admin/invites", token: admin, header: key,
		body: map[string]any{"role": "org_admin", "org_id": h.actCity().OrgMed}})
	if !other.refusesKey() {
		t.Fatalf("same key, another body: %d %s", other.Status, other.Body)
	}

	// The replayed code redeems once.
	u, _ := h.login("invitee")
	if r := h.do(req{method: "POST", path: "/api/v1/me/roles", token: u, body: map[string]string{"invite_code": inv.Code}}); r.Status != http.StatusOK {
		t.Fatalf("redeem the replayed code: %d %s", r.Status, r.Body)
	}
	third := h.do(req{method: "POST", path: "/api/v1/admin/invites", token: admin, body: body, header: key})
	if !third.replays(first) {
		t.Fatalf("retried after redemption: %d %s, want %d %s", third.Status, third.Body, first.Status, first.Body)
	}
	u2, _ := h.login("invitee2")
	if r := h.do(req{method: "POST", path: "/api/v1/me/roles", token: u2, body: map[string]string{"invite_code": inv.Code}}); r.Status != http.StatusConflict {
		t.Fatalf("redeem a used code: %d %s", r.Status, r.Body)
	}

	// Double submit.
	double := req{method: "POST", path: "/api/v1/admin/invites", token: admin, body: body,
		header: map[string]string{"Idempotency-Key": "invite-double"}}
	out := h.doAtOnce(double, double)
	if out[0].Status != http.StatusCreated || !out[1].replays(out[0]) {
		t.Fatalf("double submit: %d %s / %d %s", out[0].Status, out[0].Body, out[1].Status, out[1].Body)
	}
	if n := h.count(invites, adminUser.ID); n != before+2 {
		t.Fatalf("%d invites after the double submit, want %d", n, before+2)
	}
}
