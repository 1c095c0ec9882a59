package api

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"jindalai/model"
)

func TestInboxPagesNewestFirstAndCountsUnread(t *testing.T) {
	h := newHarness(t)
	token, userID, _ := h.notifyUser("n7inbox")
	ns := make([]model.Notification, 25)
	for i := range ns {
		ns[i] = model.Notification{UserID: userID, Kind: "request_dispatched", Title: fmt.Sprintf("消息%d", i),
			Body: "正文", Data: map[string]string{"title": "t"}, RefType: "request", RefID: int64(i)}
	}
	if err := h.store.EnqueueNotifications(context.Background(), ns...); err != nil {
		t.Fatal(err)
	}
	// Someone else's message is never listed.
	_, otherID, _ := h.notifyUser("n7other")
	other := h.enqueue(model.Notification{UserID: otherID, Kind: "request_dispatched", Title: "别人的"})

	var all []model.Message
	cursor := ""
	for page := 0; ; page++ {
		r := h.do(req{method: "GET", path: "/api/v1/me/messages?limit=10&cursor=" + cursor, token: token})
		if r.Status != http.StatusOK {
			t.Fatalf("page %d: %d %s", page, r.Status, r.Body)
		}
		var inbox model.Inbox
		r.decode(t, &inbox)
		if inbox.UnreadCount != 25 {
			t.Fatalf("unread %d", inbox.UnreadCount)
		}
		all = append(all, inbox.Items...)
		if inbox.NextCursor == "" {
			break
		}
		cursor = inbox.NextCursor
		if page > 3 {
			t.Fatal("paging does not end")
		}
	}
	if len(all) != 25 || all[0].Title != "消息24" || all[24].Title != "消息0" {
		t.Fatalf("got %d messages, first %q", len(all), all[0].Title)
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Fatal("not newest first")
		}
	}

	// Read one: it is marked, reading again keeps the first time.
	path := fmt.Sprintf("/api/v1/me/messages/%d/read", all[3].ID)
	r := h.do(req{method: "POST", path: path, token: token})
	var m model.Message
	r.decode(t, &m)
	if r.Status != http.StatusOK || !m.Read || m.ReadAt == nil {
		t.Fatalf("read: %d %s", r.Status, r.Body)
	}
	r = h.do(req{method: "POST", path: path, token: token})
	var again model.Message
	r.decode(t, &again)
	if !again.ReadAt.Equal(*m.ReadAt) {
		t.Errorf("read time moved: %v → %v", m.ReadAt, again.ReadAt)
	}
	r = h.do(req{method: "GET", path: "/api/v1/me/messages?unread=true&limit=100", token: token})
	var unread model.Inbox
	r.decode(t, &unread)
	if unread.UnreadCount != 24 || len(unread.Items) != 24 {
		t.Fatalf("unread only: %d items, count %d", len(unread.Items), unread.UnreadCount)
	}

	// Someone else's message: 404.
	r = h.do(req{method: "POST", path: fmt.Sprintf("/api/v1/me/messages/%d/read", other), token: token})
	if r.Status != http.StatusNotFound {
		t.Errorf("other's message: %d", r.Status)
	}

	r = h.do(req{method: "POST", path: "/api/v1/me/messages/read-all", token: token})
	var marked struct{ Marked int64 }
	r.decode(t, &marked)
	if r.Status != http.StatusOK || marked.Marked != 24 {
		t.Fatalf("read-all: %d %s", r.Status, r.Body)
	}
	r = h.do(req{method: "GET", path: "/api/v1/me/messages", token: token})
	var after model.Inbox
	r.decode(t, &after)
	if after.UnreadCount != 0 || len(after.Items) != 20 || after.NextCursor == "" {
		t.Fatalf("after read-all: %s", r.Body)
	}
}

func TestInboxRejectsBadInput(t *testing.T) {
	h := newHarness(t)
	token, _, _ := h.notifyUser("n7bad")
	cases := map[string]string{
		"/api/v1/me/messages?cursor=!!!":  "cursor",
		"/api/v1/me/messages?cursor=Zm9v": "cursor",
		"/api/v1/me/messages?limit=0":     "limit",
		"/api/v1/me/messages?unread=yes":  "unread",
	}
	for path, field := range cases {
		r := h.do(req{method: "GET", path: path, token: token})
		if r.Status != http.StatusBadRequest || r.errorFields()[field] == "" {
			t.Errorf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	r := h.do(req{method: "POST", path: "/api/v1/me/messages/abc/read", token: token})
	if r.Status != http.StatusBadRequest {
		t.Errorf("bad id: %d", r.Status)
	}
	r = h.do(req{method: "POST", path: "/api/v1/me/messages/999999/read", token: token})
	if r.Status != http.StatusNotFound {
		t.Errorf("unknown id: %d", r.Status)
	}
	r = h.do(req{method: "GET", path: "/api/v1/me/messages"})
	if r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", r.Status)
	}
	r = h.do(req{method: "GET", path: "/api/v1/me/messages", token: token})
	if r.Status != http.StatusOK || string(r.Body) != `{"items":[],"next_cursor":"","unread_count":0}` {
		t.Errorf("empty inbox: %s", r.Body)
	}
}

func TestSubscriptionsValidateTemplateIDs(t *testing.T) {
	h := newHarness(t)
	token, _, _ := h.notifyUser("n7subs")
	bad := []any{
		map[string]any{"template_ids": []string{"tpl_request_status", "tpl_nope"}},
		map[string]any{"template_ids": []string{}},
		map[string]any{},
		map[string]any{"template_ids": "tpl_booking"},
	}
	for _, body := range bad {
		r := h.do(req{method: "POST", path: "/api/v1/me/subscriptions", token: token, body: body})
		if r.Status != http.StatusBadRequest || r.errorFields()["template_ids"] == "" {
			t.Errorf("%v: %d %s", body, r.Status, r.Body)
		}
	}
	r := h.do(req{method: "POST", path: "/api/v1/me/subscriptions", token: token,
		body: map[string]any{"template_ids": []string{"tpl_booking"}, "extra": 1}})
	if r.Status != http.StatusBadRequest || r.errorFields()["extra"] == "" {
		t.Errorf("unknown field: %d %s", r.Status, r.Body)
	}
	// Nothing was recorded by the rejected calls.
	if n := h.remaining(token, "tpl_request_status"); n != 0 {
		t.Errorf("%d grants after rejected calls", n)
	}

	// An Idempotency-Key makes a retried call add nothing.
	call := func(key string) reply {
		return h.do(req{method: "POST", path: "/api/v1/me/subscriptions", token: token,
			body: map[string]any{"template_ids": []string{"tpl_booking"}}, header: map[string]string{"Idempotency-Key": key}})
	}
	first, second := call("grant-1"), call("grant-1")
	if first.Status != 200 || second.Status != 200 || string(first.Body) != string(second.Body) {
		t.Fatalf("replay: %s / %s", first.Body, second.Body)
	}
	if n := h.remaining(token, "tpl_booking"); n != 1 {
		t.Errorf("%d grants after a replayed call, want 1", n)
	}
	call("grant-2")
	if n := h.remaining(token, "tpl_booking"); n != 2 {
		t.Errorf("%d grants after two calls, want 2", n)
	}
}
