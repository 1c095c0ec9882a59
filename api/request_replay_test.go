package api

import (
	"net/http"
	"testing"

	"jindalai/model"
)

// TestSubmitReplayAfterTheRequestMoved: the key keeps only the id and the
// accept-by time of a submit's reply, the rest being rebuilt from the row;
// a retry after the request was rejected, re-dispatched, accepted, resolved
// and rated still gets the first reply, byte for byte. A body without images
// or fields gets them empty, first time and replayed.
func TestSubmitReplayAfterTheRequestMoved(t *testing.T) {
	h := newHarness(t)
	h.city()
	alice, _ := h.login("alice")
	body := needBody()
	delete(body, "fields")
	key := map[string]string{"Idempotency-Key": "submit-then-move"}
	first := h.do(req{method: "POST", path: "/api/v1/requests", token: alice, body: body, header: key})
	if first.Status != http.StatusCreated {
		t.Fatalf("submit: %d %s", first.Status, first.Body)
	}
	var r model.Request
	first.decode(t, &r)
	if r.Images == nil || r.Fields == nil || r.ContactPhone != "138****5678" {
		t.Fatalf("first reply: %s", first.Body)
	}

	holder := h.staff("holder", model.Role{Role: model.RoleSocialWorker, StationID: r.Station.ID})
	moved := h.act(holder, r.ID, "reject", map[string]string{"reason": "本站人手不足"}, 200)
	if moved.Station.ID == r.Station.ID || moved.Bounces != 1 {
		t.Fatalf("reject did not move the request: %+v", moved)
	}
	next := h.staff("next", model.Role{Role: model.RoleSocialWorker, StationID: moved.Station.ID})
	h.act(next, r.ID, "accept", nil, 200)
	h.act(next, r.ID, "start", nil, 200)
	h.act(next, r.ID, "resolve", map[string]any{"summary": "已上门探访", "service_minutes": 40}, 200)
	if rated := h.act(alice, r.ID, "rate", map[string]any{"score": 5}, 200); rated.Status != model.StatusClosed {
		t.Fatalf("rated: %+v", rated)
	}

	again := h.do(req{method: "POST", path: "/api/v1/requests", token: alice, body: body, header: key})
	if !again.replays(first) {
		t.Fatalf("replay after the request moved:\n%d %s\nfirst:\n%d %s", again.Status, again.Body, first.Status, first.Body)
	}
	if n := h.count(`SELECT COUNT(*) FROM requests`); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}
