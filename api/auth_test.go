package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"jindalai/model"
)

func TestLoginCreatesOneUserPerOpenID(t *testing.T) {
	h := newHarness(t)
	tok1, u1 := h.login("alice")
	tok2, u2 := h.login("alice")
	if u1.ID != u2.ID || tok1 == tok2 {
		t.Fatalf("two logins: users %d/%d, tokens equal=%v", u1.ID, u2.ID, tok1 == tok2)
	}
	if len(tok1) < 43 {
		t.Fatalf("token %q shorter than 32 random bytes", tok1)
	}
	if len(u1.Roles) != 1 || u1.Roles[0].Role != model.RoleResident {
		t.Fatalf("roles %+v, want resident only", u1.Roles)
	}
	r := h.do(req{method: "GET", path: "/api/v1/me", token: tok1})
	var me model.User
	r.decode(t, &me)
	if r.Status != 200 || me.ID != u1.ID {
		t.Fatalf("/me: %d %s", r.Status, r.Body)
	}
}

func TestConcurrentFirstLoginsCreateOneUser(t *testing.T) {
	h := newHarness(t)
	var wg sync.WaitGroup
	ids := make(chan int64, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, u := h.login("newcomer")
			ids <- u.ID
		}()
	}
	wg.Wait()
	close(ids)
	first := <-ids
	for id := range ids {
		if id != first {
			t.Fatalf("users %d and %d for one openid", first, id)
		}
	}
	var n int
	_ = h.store.DB.QueryRow(`SELECT COUNT(*) FROM users WHERE openid = 'dev_newcomer'`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d users, want 1", n)
	}
}

func TestBootstrapAdminIsCityAdmin(t *testing.T) {
	h := newHarness(t)
	_, u := h.login("admin")
	if !(model.Principal{Roles: u.Roles}).IsCityAdmin() {
		t.Fatalf("roles %+v, want city_admin", u.Roles)
	}
}

func TestBadLoginCode(t *testing.T) {
	h := newHarness(t)
	for _, body := range []any{map[string]string{"code": "bad-code"}, map[string]string{"code": ""}} {
		r := h.do(req{method: "POST", path: "/api/v1/auth/wechat/login", body: body})
		if r.Status != 400 || r.errorFields() == nil && r.errorCode() != model.CodeInvalid {
			t.Fatalf("%v: %d %s", body, r.Status, r.Body)
		}
	}
}

func TestLogoutKillsTheToken(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login("bob")
	other, _ := h.login("bob")
	if r := h.do(req{method: "POST", path: "/api/v1/auth/logout", token: tok}); r.Status != 204 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "GET", path: "/api/v1/me", token: tok}); r.Status != 401 || r.errorCode() != model.CodeUnauthenticated {
		t.Fatalf("after logout: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "GET", path: "/api/v1/me", token: other}); r.Status != 200 {
		t.Fatalf("the other session must live on: %d", r.Status)
	}
}

func TestMissingForgedAndExpiredTokens(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login("carol")
	forged := strings.Repeat("A", 43)
	for name, token := range map[string]string{"missing": "", "forged": forged, "garbage": "x y z", "tampered": tamper(tok)} {
		if r := h.do(req{method: "GET", path: "/api/v1/me", token: token}); r.Status != 401 {
			t.Errorf("%s token: %d %s", name, r.Status, r.Body)
		}
	}
	// Expire the session in Redis, as its idle TTL would.
	keys := h.store.Redis.Keys(context.Background(), h.store.Keys.Session("*")).Val()
	for _, k := range keys {
		h.store.Redis.PExpire(context.Background(), k, time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if r := h.do(req{method: "GET", path: "/api/v1/me", token: tok}); r.Status != 401 {
		t.Fatalf("expired token: %d %s", r.Status, r.Body)
	}
}

func TestRoleChangeRevokesOldSessionsAndReturnsFreshToken(t *testing.T) {
	h := newHarness(t)
	c := h.city()
	old1, _ := h.login("dave")
	old2, _ := h.login("dave")
	fresh := h.grant(old1, model.Role{Role: model.RoleSocialWorker, StationID: c.Gongyuan})
	for _, tok := range []string{old1, old2} {
		if r := h.do(req{method: "GET", path: "/api/v1/me", token: tok}); r.Status != 401 {
			t.Fatalf("old session after role change: %d", r.Status)
		}
	}
	r := h.do(req{method: "GET", path: "/api/v1/me", token: fresh})
	var me model.User
	r.decode(t, &me)
	p := model.Principal{Roles: me.Roles}
	if r.Status != 200 || !p.HasStationRole(c.Gongyuan, model.RoleSocialWorker) {
		t.Fatalf("fresh token: %d %s", r.Status, r.Body)
	}
}

func TestInviteRedeemedByTwoUsersAtOnceHasOneWinner(t *testing.T) {
	h := newHarness(t)
	c := h.city()
	admin, _ := h.login("admin")
	r := h.do(req{method: "POST", path: "/api/v1/admin/invites", token: admin, body: map[string]any{"role": "station_admin", "station_id": c.PointB}})
	if r.Status != 201 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	var inv model.Invite
	r.decode(t, &inv)
	tokA, _ := h.login("erin")
	tokB, _ := h.login("frank")
	statuses := make([]int, 2)
	var wg sync.WaitGroup
	for i, tok := range []string{tokA, tokB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = h.do(req{method: "POST", path: "/api/v1/me/roles", token: tok, body: map[string]string{"invite_code": inv.Code}}).Status
		}()
	}
	wg.Wait()
	if !(statuses[0] == 200 && statuses[1] == 409 || statuses[0] == 409 && statuses[1] == 200) {
		t.Fatalf("statuses %v, want one 200 and one 409", statuses)
	}
	tokC, _ := h.login("gus")
	if r := h.do(req{method: "POST", path: "/api/v1/me/roles", token: tokC, body: map[string]string{"invite_code": "NOPE23456789"}}); r.Status != 400 || r.errorFields()["invite_code"] == "" {
		t.Fatalf("unknown code: %d %s", r.Status, r.Body)
	}
}

func TestInvitePermissions(t *testing.T) {
	h := newHarness(t)
	c := h.city()
	resident, _ := h.login("gina")
	if r := h.do(req{method: "POST", path: "/api/v1/admin/invites", token: resident, body: map[string]any{"role": "social_worker", "station_id": c.City}}); r.Status != 403 {
		t.Fatalf("resident invites: %d", r.Status)
	}
	stationAdmin := h.grant(resident, model.Role{Role: model.RoleStationAdmin, StationID: c.PointA})
	if r := h.do(req{method: "POST", path: "/api/v1/admin/invites", token: stationAdmin, body: map[string]any{"role": "social_worker", "station_id": c.PointA}}); r.Status != 201 {
		t.Fatalf("station admin invites to own station: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "POST", path: "/api/v1/admin/invites", token: stationAdmin, body: map[string]any{"role": "social_worker", "station_id": c.PointB}}); r.Status != 403 {
		t.Fatalf("station admin invites to another station: %d", r.Status)
	}
	if r := h.do(req{method: "POST", path: "/api/v1/admin/invites", token: stationAdmin, body: map[string]any{"role": "org_admin", "org_id": c.OrgElder}}); r.Status != 403 {
		t.Fatalf("station admin invites an org admin: %d", r.Status)
	}
	admin, _ := h.login("admin")
	for _, body := range []map[string]any{{"role": "city_admin"}, {"role": "social_worker"}, {"role": "org_admin", "station_id": c.Gongyuan, "org_id": c.OrgElder},
		{"role": "social_worker", "station_id": 987654}, {"role": "org_admin", "org_id": 987654}} {
		if r := h.do(req{method: "POST", path: "/api/v1/admin/invites", token: admin, body: body}); r.Status != 400 || len(r.errorFields()) == 0 {
			t.Fatalf("%v: %d %s", body, r.Status, r.Body)
		}
	}
}

func TestPhoneIsStoredEncryptedAndMasked(t *testing.T) {
	h := newHarness(t)
	tok, u := h.login("hana")
	r := h.do(req{method: "POST", path: "/api/v1/auth/wechat/phone", token: tok, body: map[string]string{"code": "13812345678"}})
	var me model.User
	r.decode(t, &me)
	if r.Status != 200 || me.PhoneMasked != "138****5678" {
		t.Fatalf("bind phone: %d %s", r.Status, r.Body)
	}
	var enc, index []byte
	if err := h.store.DB.QueryRow(`SELECT phone_enc, phone_index FROM users WHERE id = ?`, u.ID).Scan(&enc, &index); err != nil {
		t.Fatal(err)
	}
	if len(enc) == 0 || bytes.Contains(enc, []byte("13812345678")) || bytes.Contains(enc, []byte("5678")) || len(index) != 32 {
		t.Fatalf("phone at rest: enc=%x index=%x", enc, index)
	}
	if r := h.do(req{method: "GET", path: "/api/v1/me", token: tok}); r.Status != 200 ||
		strings.Contains(string(r.Body), "13812345678") || !strings.Contains(string(r.Body), `"phone":"138****5678"`) {
		t.Fatalf("/me must show the masked phone only: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "POST", path: "/api/v1/auth/wechat/phone", token: tok, body: map[string]string{"code": "nope"}}); r.Status != 400 {
		t.Fatalf("bad phone code: %d", r.Status)
	}
}

func TestPatchMe(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login("ivan")
	r := h.do(req{method: "PATCH", path: "/api/v1/me", token: tok, body: map[string]string{"nickname": "小金", "avatar_url": "https://img.example/a.png"}})
	var me model.User
	r.decode(t, &me)
	if r.Status != 200 || me.Nickname != "小金" || me.AvatarURL != "https://img.example/a.png" {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	for _, body := range []string{`{"nickname": ""}`, `{"nickname": "` + strings.Repeat("长", 33) + `"}`, `{"avatar_url": "javascript:alert(1)"}`, `{}`} {
		if r := h.do(req{method: "PATCH", path: "/api/v1/me", token: tok, body: body}); r.Status != 400 || len(r.errorFields()) == 0 {
			t.Errorf("%s: %d %s", body, r.Status, r.Body)
		}
	}
}

func TestBadBodies(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name, body string
		status     int
		field      string
	}{
		{"broken json", `{"code": `, 400, "body"},
		{"unknown field", `{"code": "x", "admin": true}`, 400, "admin"},
		{"wrong type", `{"code": 42}`, 400, "code"},
		{"two objects", `{"code": "x"} {"code": "y"}`, 400, "body"},
		{"empty", ``, 400, "body"},
		{"array", `[]`, 400, "body"},
	}
	for _, c := range cases {
		r := h.do(req{method: "POST", path: "/api/v1/auth/wechat/login", body: []byte(c.body)})
		if r.Status != c.status || r.errorFields()[c.field] == "" {
			t.Errorf("%s: %d %s, want %d naming %s", c.name, r.Status, r.Body, c.status, c.field)
		}
	}
	big := fmt.Sprintf(`{"code": "%s"}`, strings.Repeat("x", 1<<20))
	if r := h.do(req{method: "POST", path: "/api/v1/auth/wechat/login", body: big}); r.Status != 413 {
		t.Fatalf("oversized body: %d %s", r.Status, r.Body)
	}
	r := h.do(req{method: "POST", path: "/api/v1/auth/wechat/login", body: `{"code":"x"}`, header: map[string]string{"Content-Type": "text/plain"}})
	if r.Status != 400 {
		t.Fatalf("text/plain body: %d", r.Status)
	}
}

func TestLoginRateLimited(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{loginPerMinute: 3})
	codes := []int{}
	for i := 0; i < 5; i++ {
		codes = append(codes, h.do(req{method: "POST", path: "/api/v1/auth/wechat/login", body: map[string]string{"code": "rl"}}).Status)
	}
	if fmt.Sprint(codes) != "[200 200 200 429 429]" {
		t.Fatalf("statuses %v", codes)
	}
}

func TestRequestIDEchoed(t *testing.T) {
	h := newHarness(t)
	r := h.do(req{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": "abc-123"}})
	if r.Header.Get("X-Request-Id") != "abc-123" {
		t.Fatalf("request id %q", r.Header.Get("X-Request-Id"))
	}
	r = h.do(req{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": "bad id"}})
	if id := r.Header.Get("X-Request-Id"); id == "" || strings.Contains(id, " ") {
		t.Fatalf("request id %q", id)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	h := newHarness(t)
	if r := h.do(req{method: "GET", path: "/api/v1/nope"}); r.Status != 404 || r.errorCode() != model.CodeNotFound {
		t.Fatalf("unknown route: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "DELETE", path: "/healthz"}); r.Status != http.StatusMethodNotAllowed {
		t.Fatalf("wrong method: %d %s", r.Status, r.Body)
	}
}

func TestWritesRateLimitedPerUser(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{writesPerMinute: 2})
	tok, _ := h.login("writer")
	statuses := []int{}
	for i := 0; i < 3; i++ {
		statuses = append(statuses, h.do(req{method: "PATCH", path: "/api/v1/me", token: tok, body: map[string]string{"nickname": "n"}}).Status)
	}
	if fmt.Sprint(statuses) != "[200 200 429]" {
		t.Fatalf("statuses %v", statuses)
	}
	if r := h.do(req{method: "GET", path: "/api/v1/me", token: tok}); r.Status != 200 {
		t.Fatalf("reads are not write-limited: %d", r.Status)
	}
}

// TestConcurrentWritesTakeOneTokenEach: the write limits of concurrent
// writes are taken in shared round trips, one token per write, so a burst
// by one user is cut at exactly the limit while another user is not.
func TestConcurrentWritesTakeOneTokenEach(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{writesPerMinute: 5})
	tok, _ := h.login("burst_writer")
	other, _ := h.login("calm_writer")
	var mu sync.Mutex
	count := map[int]int{}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.do(req{method: "PATCH", path: "/api/v1/me", token: tok, body: map[string]string{"nickname": "n"}})
			mu.Lock()
			count[r.Status]++
			mu.Unlock()
		}()
	}
	if r := h.do(req{method: "PATCH", path: "/api/v1/me", token: other, body: map[string]string{"nickname": "m"}}); r.Status != 200 {
		t.Fatalf("another user: %d %s", r.Status, r.Body)
	}
	wg.Wait()
	if count[200] != 5 || count[429] != 15 {
		t.Fatalf("statuses %v, want 5 × 200 and 15 × 429", count)
	}
}

// tamper changes the first character of a token to another valid one.
func tamper(tok string) string {
	c := byte('A')
	if tok[0] == 'A' {
		c = 'B'
	}
	return string(c) + tok[1:]
}

// TestBadPathIDsAreNamed: a path id that is not a positive integer gets 400
// invalid_argument naming it, on reads, actions and creates alike, before
// any body or key is looked at.
func TestBadPathIDsAreNamed(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login("admin")
	for _, r := range []req{
		{method: "GET", path: "/api/v1/requests/abc"},
		{method: "POST", path: "/api/v1/requests/0/accept"},
		{method: "POST", path: "/api/v1/activities/-3/claims", header: map[string]string{"Idempotency-Key": "k1"}},
		{method: "PATCH", path: "/api/v1/admin/stations/9x", body: map[string]string{"name": "站"}},
		{method: "POST", path: "/api/v1/me/messages/99999999999999999999/read"},
	} {
		r.token = tok
		got := h.do(r)
		if got.Status != http.StatusBadRequest || got.errorCode() != model.CodeInvalid || got.errorFields()["id"] == "" {
			t.Errorf("%s %s: %d %s", r.method, r.path, got.Status, got.Body)
		}
	}
}
