package api

import (
	"net/http"
	"testing"

	"jindalai/service"
)

// TestSubmitReplayPassesTheRateLimit: once a resident has used up the submit
// limit, a new submit is 429, but a retry of a stored key — sequential or
// many at once — still gets its first reply, byte for byte (API.md: the same
// key returns the first reply); a key reused with another body is still 409.
func TestSubmitReplayPassesTheRateLimit(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{dispatch: func(c *service.RequestsConfig) { c.SubmitPerMinuteUser = 2 }})
	h.city()
	alice, _ := h.login("alice")
	submitReq := func(key string, body map[string]any) req {
		return req{method: "POST", path: "/api/v1/requests", token: alice, body: body,
			header: map[string]string{"Idempotency-Key": key}}
	}
	submit := func(key string, body map[string]any) reply { return h.do(submitReq(key, body)) }
	first := submit("a", needBody())
	if first.Status != http.StatusCreated || submit("b", needBody()).Status != http.StatusCreated {
		t.Fatalf("first submits: %d %s", first.Status, first.Body)
	}
	if r := submit("c", needBody()); r.Status != http.StatusTooManyRequests {
		t.Fatalf("a third new submit in a minute: %d %s", r.Status, r.Body)
	}
	retries := make([]req, 10)
	for i := range retries {
		retries[i] = submitReq("a", needBody())
	}
	for _, r := range h.doAtOnce(retries...) {
		if !r.replays(first) {
			t.Fatalf("a retry past the limit: %d %s, want %d %s", r.Status, r.Body, first.Status, first.Body)
		}
	}
	other := needBody()
	other["description"] = "另一件事"
	if r := submit("a", other); !r.refusesKey() {
		t.Fatalf("the key with another body past the limit: %d %s", r.Status, r.Body)
	}
	if n := h.count(`SELECT COUNT(*) FROM requests`); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
}

// TestSubmitTakesTheWriteBudgetWhateverTheWiring: a submit takes a token of
// the caller's write budget also when Requests was built without it (the
// middleware then takes it), so a later write is refused.
func TestSubmitTakesTheWriteBudgetWhateverTheWiring(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{writesPerMinute: 1, dispatch: func(c *service.RequestsConfig) { c.WritesPerMinuteUser = 0 }})
	h.city()
	alice, _ := h.login("alice")
	if r := h.do(req{method: "POST", path: "/api/v1/requests", token: alice, body: needBody()}); r.Status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "PATCH", path: "/api/v1/me", token: alice, body: map[string]string{"nickname": "n"}}); r.Status != http.StatusTooManyRequests {
		t.Fatalf("a write after the submit spent the budget: %d %s", r.Status, r.Body)
	}
}

// TestSubmitReplayPassesTheWriteBudget: a retry of a stored submit key gets
// its first reply also once the caller's write budget is spent (the budget is
// taken with the submit limit, in Requests.Submit, which replays a stored
// key on either refusal); other writes are still refused.
func TestSubmitReplayPassesTheWriteBudget(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{writesPerMinute: 1})
	h.city()
	alice, _ := h.login("alice")
	keyed := req{method: "POST", path: "/api/v1/requests", token: alice, body: needBody(),
		header: map[string]string{"Idempotency-Key": "only-one"}}
	first := h.do(keyed)
	if first.Status != http.StatusCreated {
		t.Fatalf("first submit: %d %s", first.Status, first.Body)
	}
	if r := h.do(keyed); !r.replays(first) {
		t.Fatalf("a retry with the budget spent: %d %s, want the first reply", r.Status, r.Body)
	}
	if r := h.do(req{method: "PATCH", path: "/api/v1/me", token: alice, body: map[string]string{"nickname": "n"}}); r.Status != http.StatusTooManyRequests {
		t.Fatalf("another write with the budget spent: %d %s", r.Status, r.Body)
	}
	if n := h.count(`SELECT COUNT(*) FROM requests`); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}
