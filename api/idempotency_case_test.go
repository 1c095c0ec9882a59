package api

import (
	"bytes"
	"net/http"
	"testing"
)

// TestIdempotencyKeysAreCaseSensitive: keys are compared byte for byte, so
// two keys that differ only in case are two creates (MySQL's default
// collation took them for one: the second was refused as a reused key), and
// each still replays its own first reply.
func TestIdempotencyKeysAreCaseSensitive(t *testing.T) {
	h := newHarness(t)
	h.city()
	alice, _ := h.login("alice")
	other := needBody()
	other["description"] = "孩子放学后无人照看，需要课后陪伴"
	send := func(key string, body map[string]any) reply {
		return h.do(req{method: "POST", path: "/api/v1/requests", token: alice, body: body,
			header: map[string]string{"Idempotency-Key": key}})
	}
	upper, lower := send("Retry-Key-1", needBody()), send("retry-key-1", other)
	if upper.Status != http.StatusCreated || lower.Status != http.StatusCreated {
		t.Fatalf("keys differing in case: %d %s / %d %s", upper.Status, upper.Body, lower.Status, lower.Body)
	}
	if bytes.Equal(upper.Body, lower.Body) {
		t.Fatal("both keys got one reply")
	}
	if again := send("retry-key-1", other); !again.replays(lower) {
		t.Fatalf("replay of the lower-case key: %d %s", again.Status, again.Body)
	}
	if again := send("Retry-Key-1", needBody()); !again.replays(upper) {
		t.Fatalf("replay of the mixed-case key: %d %s", again.Status, again.Body)
	}
}
