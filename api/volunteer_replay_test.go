package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/service"
)

// TestVolunteerRegistrationReplayByKey: a keyed registration retried (with
// the fresh token, or after a lost reply with a new login's token) gets the
// first reply, whose token still works, and mints and revokes nothing; the
// token is kept only encrypted; another body under the key is 409.
func TestVolunteerRegistrationReplayByKey(t *testing.T) {
	h := newHarness(t)
	old, user := h.login("vreplay")
	body, key := keyedRegistration("register-1")
	first, reg := h.registerKeyed(old, body, key)
	if r := h.do(req{method: "GET", path: "/api/v1/me", token: old}); r.Status != http.StatusUnauthorized {
		t.Fatalf("old token after the role change: %d", r.Status)
	}
	if n := h.sessionCount(user.ID); n != 1 {
		t.Fatalf("%d sessions after registering, want 1", n)
	}

	again := h.do(req{method: "POST", path: "/api/v1/volunteers", token: reg.Token, body: body, header: key})
	if !again.replays(first) {
		t.Fatalf("retried: %d %s, want %d %s", again.Status, again.Body, first.Status, first.Body)
	}
	if n := h.sessionCount(user.ID); n != 1 {
		t.Fatalf("%d sessions after the replay, want 1", n)
	}

	// The reply was lost: the client logs in again and retries with the key.
	relogin, _ := h.login("vreplay")
	lost := h.do(req{method: "POST", path: "/api/v1/volunteers", token: relogin, body: body, header: key})
	if !lost.replays(first) {
		t.Fatalf("retried after a lost reply: %d %s, want %d %s", lost.Status, lost.Body, first.Status, first.Body)
	}
	if n := h.sessionCount(user.ID); n != 2 {
		t.Fatalf("%d sessions after the login and the replay, want 2", n)
	}
	for _, tok := range []string{reg.Token, relogin} {
		r := h.do(req{method: "GET", path: "/api/v1/me", token: tok})
		var me model.User
		if r.Status == http.StatusOK {
			r.decode(t, &me)
		}
		if r.Status != http.StatusOK || !(model.Principal{Roles: me.Roles}).Has(model.RoleVolunteer) {
			t.Fatalf("token after the replays: %d %s", r.Status, r.Body)
		}
	}

	other := h.do(req{method: "POST", path: "/api/v1/volunteers", token: reg.Token, header: key,
		body: map[string]any{"real_name": "李小龙", "phone": "13912345679"}})
	if !other.refusesKey() {
		t.Fatalf("same key, another body: %d %s", other.Status, other.Body)
	}
	if n := h.count(`SELECT COUNT(*) FROM volunteers WHERE user_id = ?`, user.ID); n != 1 {
		t.Fatalf("%d volunteer rows, want 1", n)
	}
	kept := h.keptReplies(user.ID)
	if len(kept) != 1 || kept[0] == "" {
		t.Fatalf("kept replies %q, want one", kept)
	}
	if inClear(kept[0], reg.Token) {
		t.Fatalf("the session token is kept in clear: %s", kept[0])
	}

	// No key: as before, a second registration is refused.
	if r := h.do(req{method: "POST", path: "/api/v1/volunteers", token: reg.Token, body: body}); r.Status != http.StatusConflict {
		t.Fatalf("unkeyed second registration: %d %s", r.Status, r.Body)
	}
}

// TestVolunteerRegistrationDoubleSubmit: two concurrent registrations with
// one key create one volunteer and get the same reply, and leave one session.
// They run on the service: over HTTP the second could be refused (401) for a
// token the first has just revoked.
func TestVolunteerRegistrationDoubleSubmit(t *testing.T) {
	h := newHarness(t)
	_, user := h.login("vdouble")
	p := model.Principal{UserID: user.ID}
	in := service.VolunteerInput{RealName: "王五", Phone: "13712345678",
		Idem: &model.Idempotency{UserID: user.ID, Key: "double", Scope: "volunteers.register", Fingerprint: [32]byte{1}}}
	var wg sync.WaitGroup
	var out [2][]byte
	var errs [2]error
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reg, err := h.server.Activities.RegisterVolunteer(context.Background(), p, in)
			errs[i] = err
			out[i], _ = json.Marshal(reg)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || !bytes.Equal(out[0], out[1]) {
		t.Fatalf("double submit: %v %s / %v %s", errs[0], out[0], errs[1], out[1])
	}
	if n := h.count(`SELECT COUNT(*) FROM volunteers WHERE user_id = ?`, user.ID); n != 1 {
		t.Fatalf("%d volunteer rows, want 1", n)
	}
	if n := h.sessionCount(user.ID); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
}

// TestKeyedRegistrationsDoNotExhaustThePool: 50 users register at once with
// keys on a pool of 8 connections; each call holds one connection, so all
// finish, and each replay gets its first reply.
func TestKeyedRegistrationsDoNotExhaustThePool(t *testing.T) {
	h := newHarness(t)
	const n = 50
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i], _ = h.login(fmt.Sprintf("vpool%02d", i))
	}
	h.store.DB.SetMaxOpenConns(8)
	body := map[string]any{"real_name": "赵六", "phone": "13612345678"}
	key := map[string]string{"Idempotency-Key": "pool"}
	registrations := make([]req, n)
	for i := range tokens {
		registrations[i] = req{method: "POST", path: "/api/v1/volunteers", token: tokens[i], body: body, header: key}
	}
	var firsts []reply
	done := make(chan struct{})
	go func() {
		defer close(done)
		firsts = h.doAtOnce(registrations...)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("50 keyed registrations on 8 connections did not finish in 2 minutes")
	}
	for i, first := range firsts {
		if first.Status != http.StatusCreated {
			t.Fatalf("register %d: %d %s", i, first.Status, first.Body)
		}
		var reg model.VolunteerRegistration
		first.decode(t, &reg)
		again := h.do(req{method: "POST", path: "/api/v1/volunteers", token: reg.Token, body: body, header: key})
		if !again.replays(first) {
			t.Fatalf("replay %d: %d %s, want %s", i, again.Status, again.Body, first.Body)
		}
	}
}

// TestKeyedCreateRetryPastTheWriteBudget: a keyed retry of a create other
// than a submit is refused once the caller's write budget is spent (only
// submits replay past it, as openapi says), with Retry-After.
func TestKeyedCreateRetryPastTheWriteBudget(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{writesPerMinute: 1})
	token, _ := h.login("keyed_create")
	body, key := keyedRegistration("register-once")
	_, reg := h.registerKeyed(token, body, key)
	r := h.do(req{method: "POST", path: "/api/v1/volunteers", token: reg.Token, body: body, header: key})
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a keyed retry past the budget: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
}

// keyedRegistration is a volunteer registration's body and an
// Idempotency-Key header of key.
func keyedRegistration(key string) (map[string]any, map[string]string) {
	return map[string]any{"real_name": "李小龙", "phone": "13912345678", "skills": []string{"急救"}},
		map[string]string{"Idempotency-Key": key}
}

// registerKeyed registers the caller of token as a volunteer with body and
// the key header, and returns the reply (201) and the registration.
func (h *harness) registerKeyed(token string, body map[string]any, key map[string]string) (reply, model.VolunteerRegistration) {
	h.t.Helper()
	r := h.do(req{method: "POST", path: "/api/v1/volunteers", token: token, body: body, header: key})
	if r.Status != http.StatusCreated {
		h.t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	var reg model.VolunteerRegistration
	r.decode(h.t, &reg)
	return r, reg
}
