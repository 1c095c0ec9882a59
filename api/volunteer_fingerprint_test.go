package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"testing"
)

// TestRegistrationKeyKeepsNoPlainBodyHash: the fingerprint kept with a
// registration's Idempotency-Key is keyed, not the plain SHA-256 of a body
// holding only a real name and a phone: with the table and a name, that
// hash gives the phone away after at most 7·10⁹ guesses, which the
// encrypted phone and its keyed index are there to prevent. Replays still
// match it.
func TestRegistrationKeyKeepsNoPlainBodyHash(t *testing.T) {
	h := newHarness(t)
	token, user := h.login("vfingerprint")
	body := volunteerBody{RealName: "李小龙", Phone: "13912345678"}
	key := map[string]string{"Idempotency-Key": "register-fp"}
	first := h.do(req{method: "POST", path: "/api/v1/volunteers", token: token, body: body, header: key})
	if first.Status != http.StatusCreated {
		t.Fatalf("register: %d %s", first.Status, first.Body)
	}
	var kept []byte
	if err := h.store.DB.QueryRow(`SELECT fingerprint FROM idempotency_keys WHERE user_id = ? AND idem_key = ?`,
		user.ID, "register-fp").Scan(&kept); err != nil {
		t.Fatal(err)
	}
	canon, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	plain := sha256.Sum256(append([]byte("volunteers.register\n"), canon...))
	if bytes.Equal(kept, plain[:]) {
		t.Fatalf("the key keeps the plain SHA-256 of the body (real name and phone)")
	}

	relogin, _ := h.login("vfingerprint")
	again := h.do(req{method: "POST", path: "/api/v1/volunteers", token: relogin, body: body, header: key})
	if !again.replays(first) {
		t.Fatalf("retried: %d %s, want %d %s", again.Status, again.Body, first.Status, first.Body)
	}
	other := h.do(req{method: "POST", path: "/api/v1/volunteers", token: relogin, header: key,
		body: volunteerBody{RealName: "李小龙", Phone: "13912345679"}})
	if other.Status != http.StatusConflict {
		t.Fatalf("same key, another phone: %d %s", other.Status, other.Body)
	}
}

// TestSubmitKeyKeepsNoPlainBodyHash: every keyed create gets a keyed
// fingerprint (the api makes them all), here a submit, whose body holds the
// resident's contact phone.
func TestSubmitKeyKeepsNoPlainBodyHash(t *testing.T) {
	h := newHarness(t)
	h.city()
	token, user := h.login("fpresident")
	key := map[string]string{"Idempotency-Key": "submit-fp"}
	if r := h.do(req{method: "POST", path: "/api/v1/requests", token: token, body: needBody(), header: key}); r.Status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.Status, r.Body)
	}
	var kept []byte
	if err := h.store.DB.QueryRow(`SELECT fingerprint FROM idempotency_keys WHERE user_id = ? AND idem_key = ?`,
		user.ID, "submit-fp").Scan(&kept); err != nil {
		t.Fatal(err)
	}
	var in submitRequestBody
	raw, _ := json.Marshal(needBody())
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	canon, _ := json.Marshal(in)
	if plain := sha256.Sum256(append([]byte("requests.create\n"), canon...)); bytes.Equal(kept, plain[:]) {
		t.Fatal("the key keeps the plain SHA-256 of the body (with the contact phone)")
	}
}
