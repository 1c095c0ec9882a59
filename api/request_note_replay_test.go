package api

import (
	"net/http"
	"testing"

	"jindalai/model"
)

// noteCount counts the internal notes written on a request.
func (h *harness) noteCount(requestID int64) int {
	h.t.Helper()
	return h.count(`SELECT COUNT(*) FROM request_events WHERE request_id = ? AND kind = ?`, requestID, model.EventNote)
}

// TestRequestNoteReplayByKey: a note retried with its Idempotency-Key gets
// the first reply and adds nothing; the key with another text is 409 naming
// it; without a key every post adds a note; scope checks come first.
func TestRequestNoteReplayByKey(t *testing.T) {
	h := newHarness(t)
	city := h.city()
	alice, _ := h.login("alice")
	a := h.submitNeed(alice, needBody())
	w := h.staff("w1", model.Role{Role: model.RoleSocialWorker, StationID: city.PointA})
	path := reqPath(a.ID, "notes")
	key := map[string]string{"Idempotency-Key": "note-1"}

	first := h.do(req{method: "POST", path: path, token: w, body: map[string]string{"text": "家属电话已核实"}, header: key})
	if first.Status != http.StatusCreated {
		t.Fatalf("note: %d %s", first.Status, first.Body)
	}
	again := h.do(req{method: "POST", path: path, token: w, body: map[string]string{"text": "家属电话已核实"}, header: key})
	if !again.replays(first) {
		t.Errorf("retried: %d %s, want %d %s", again.Status, again.Body, first.Status, first.Body)
	}
	if n := h.noteCount(a.ID); n != 1 {
		t.Fatalf("%d notes after a retry, want 1", n)
	}

	other := h.do(req{method: "POST", path: path, token: w, body: map[string]string{"text": "已预约下周回访"}, header: key})
	if !other.refusesKey() {
		t.Errorf("same key, another text: %d %s", other.Status, other.Body)
	}
	if n := h.noteCount(a.ID); n != 1 {
		t.Errorf("%d notes after a refused key, want 1", n)
	}

	for range 2 {
		if r := h.do(req{method: "POST", path: path, token: w, body: map[string]string{"text": "无键备注"}}); r.Status != http.StatusCreated {
			t.Fatalf("no key: %d %s", r.Status, r.Body)
		}
	}
	if n := h.noteCount(a.ID); n != 3 {
		t.Errorf("%d notes after two unkeyed posts, want 3", n)
	}

	// Scope checks come before the key: a worker of another station gets
	// 404, a resident 403, and neither claims the key.
	stranger := h.staff("w2", model.Role{Role: model.RoleSocialWorker, StationID: city.Gongyuan})
	strangerKey := map[string]string{"Idempotency-Key": "note-stranger"}
	if r := h.do(req{method: "POST", path: path, token: stranger, body: map[string]string{"text": "越权备注"}, header: strangerKey}); r.Status != http.StatusNotFound {
		t.Errorf("someone else's request: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "POST", path: path, token: alice, body: map[string]string{"text": "居民备注"}, header: strangerKey}); r.Status != http.StatusForbidden {
		t.Errorf("resident: %d %s", r.Status, r.Body)
	}
	if n := h.count(`SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'note-stranger'`); n != 0 {
		t.Errorf("refused posts stored %d keys", n)
	}
	if n := h.noteCount(a.ID); n != 3 {
		t.Errorf("%d notes after refused posts, want 3", n)
	}
}

// TestRequestNoteKeyScopedByRequest: the scope names the request, so the key
// of a note on request A sent with the same text to request B is not
// replayed as if B had the note: keys are unique per user (DESIGN.md 5), so
// it is 409 naming the key and B gets nothing; a fresh key adds B's note.
func TestRequestNoteKeyScopedByRequest(t *testing.T) {
	h := newHarness(t)
	city := h.city()
	alice, _ := h.login("alice")
	a := h.submitNeed(alice, needBody())
	b := h.submitNeed(alice, needBody())
	w := h.staff("w1", model.Role{Role: model.RoleSocialWorker, StationID: city.PointA})
	body := map[string]string{"text": "家属电话已核实"}

	if r := h.do(req{method: "POST", path: reqPath(a.ID, "notes"), token: w, body: body,
		header: map[string]string{"Idempotency-Key": "shared"}}); r.Status != http.StatusCreated {
		t.Fatalf("note on A: %d %s", r.Status, r.Body)
	}
	r := h.do(req{method: "POST", path: reqPath(b.ID, "notes"), token: w, body: body,
		header: map[string]string{"Idempotency-Key": "shared"}})
	if !r.refusesKey() {
		t.Errorf("A's key on B: %d %s, want 409 naming Idempotency-Key", r.Status, r.Body)
	}
	if na, nb := h.noteCount(a.ID), h.noteCount(b.ID); na != 1 || nb != 0 {
		t.Errorf("notes A %d, B %d; want 1, 0", na, nb)
	}
	if r := h.do(req{method: "POST", path: reqPath(b.ID, "notes"), token: w, body: body,
		header: map[string]string{"Idempotency-Key": "shared-b"}}); r.Status != http.StatusCreated {
		t.Fatalf("note on B with its own key: %d %s", r.Status, r.Body)
	}
	if na, nb := h.noteCount(a.ID), h.noteCount(b.ID); na != 1 || nb != 1 {
		t.Errorf("notes A %d, B %d; want 1, 1", na, nb)
	}
}
