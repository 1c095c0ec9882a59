package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"jindalai/model"
)

// outboxFake is a hand-written NotificationStore holding one claimable batch.
type outboxFake struct {
	mu       sync.Mutex
	batch    []model.OutboxItem
	finished map[int64]model.PushOutcome
	released int
}

func (f *outboxFake) ClaimNotifications(_ context.Context, c model.OutboxClaim) (model.ClaimedBatch, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := model.ClaimedBatch{Send: f.batch, Skipped: map[string]int{}}
	f.batch = nil
	return b, nil
}

func (f *outboxFake) FinishNotification(_ context.Context, id int64, _ string, o model.PushOutcome) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finished[id] = o
	return true, nil
}

func (f *outboxFake) ReleaseNotifications(_ context.Context, _ string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released++
	return 1, nil
}

func (f *outboxFake) ReclaimExpiredNotifications(context.Context, time.Time) (int64, error) {
	return 0, nil
}
func (f *outboxFake) CountPendingNotifications(context.Context) (int64, error) { return 0, nil }
func (f *outboxFake) AddSubscribeGrants(context.Context, *model.Idempotency, int64, []string) (map[string]int, error) {
	return nil, nil
}
func (f *outboxFake) SubscribeGrants(context.Context, int64) (map[string]int, error) { return nil, nil }
func (f *outboxFake) ListMessages(context.Context, int64, int64, int, bool) ([]model.Message, error) {
	return nil, nil
}
func (f *outboxFake) CountUnreadMessages(context.Context, int64) (int64, error) { return 0, nil }
func (f *outboxFake) MarkMessageRead(context.Context, int64, int64, time.Time) (model.Message, error) {
	return model.Message{}, nil
}
func (f *outboxFake) MarkAllMessagesRead(context.Context, int64, time.Time) (int64, error) {
	return 0, nil
}

// cancellingSender cancels the sender's context during the first send, as
// a SIGTERM would, and reports whether the send's own context survived it.
type cancellingSender struct {
	cancel    context.CancelFunc
	sends     int
	ctxBroken bool
}

func (s *cancellingSender) SendSubscribe(ctx context.Context, _ model.SubscribeMessage) error {
	s.sends++
	s.cancel()
	if ctx.Err() != nil {
		s.ctxBroken = true
		return errors.New("send cut short")
	}
	return nil
}

func TestShutdownFinishesTheSendInFlightAndReleasesTheRest(t *testing.T) {
	store := &outboxFake{finished: map[int64]model.PushOutcome{}}
	for id := int64(1); id <= 3; id++ {
		store.batch = append(store.batch, model.OutboxItem{ID: id, OpenID: "o", Kind: "k", TemplateID: "t"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	wx := &cancellingSender{cancel: cancel}
	n, err := NewNotifications(store, wx, NotificationsConfig{
		Templates:   map[string]Template{"k": {ID: "t", Fields: map[string]string{"thing1": "title"}}},
		BaseBackoff: time.Second, MaxBackoff: time.Minute, Lease: time.Minute, SendTimeout: time.Second,
	}, nil, time.UTC, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if wx.sends != 1 || wx.ctxBroken {
		t.Fatalf("sends %d, send context cut by shutdown: %v", wx.sends, wx.ctxBroken)
	}
	if o := store.finished[1]; o.State != model.PushSent || len(store.finished) != 1 {
		t.Fatalf("finished: %+v", store.finished)
	}
	if store.released != 1 {
		t.Fatalf("the unsent rest was not released")
	}
}

func TestShortLeaseReleasesInsteadOfSending(t *testing.T) {
	store := &outboxFake{finished: map[int64]model.PushOutcome{}}
	store.batch = []model.OutboxItem{{ID: 1, OpenID: "o", Kind: "k", TemplateID: "t"}, {ID: 2, OpenID: "o", Kind: "k", TemplateID: "t"}}
	clock := time.Now()
	wx := &cancellingSender{cancel: func() { clock = clock.Add(55 * time.Second) }} // a slow first send
	n, err := NewNotifications(store, wx, NotificationsConfig{
		Templates:   map[string]Template{"k": {ID: "t", Fields: map[string]string{"thing1": "title"}}},
		BaseBackoff: time.Second, MaxBackoff: time.Minute, Lease: time.Minute, SendTimeout: time.Second,
		Now: func() time.Time { return clock },
	}, nil, time.UTC, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if wx.sends != 1 || store.released != 1 || len(store.finished) != 1 {
		t.Fatalf("sends %d, released %d, finished %v", wx.sends, store.released, store.finished)
	}
}
