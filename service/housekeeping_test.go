package service

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakePurger has rows keys to delete and gives them up purgeBatch at a time.
type fakePurger struct {
	rows   int64
	calls  int
	before time.Time
	err    error
}

func (f *fakePurger) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	f.calls++
	f.before = before
	if f.err != nil {
		return 0, f.err
	}
	n := min(f.rows, purgeBatch)
	f.rows -= n
	return n, nil
}

func TestPurgeOnceDeletesBatchAfterBatch(t *testing.T) {
	f := &fakePurger{rows: 2500}
	cut := time.Now().Add(-time.Hour)
	n, err := purgeOnce(context.Background(), f, cut)
	if err != nil || n != 2500 || f.calls != 3 || !f.before.Equal(cut) {
		t.Fatalf("deleted %d in %d calls (%v), want 2500 in 3", n, f.calls, err)
	}
	f = &fakePurger{rows: 2000}
	if n, _ := purgeOnce(context.Background(), f, cut); n != 2000 || f.calls != 3 {
		t.Fatalf("exact multiple: deleted %d in %d calls, want 2000 in 3", n, f.calls)
	}
	boom := errors.New("down")
	f = &fakePurger{err: boom}
	if _, err := purgeOnce(context.Background(), f, cut); !errors.Is(err, boom) || f.calls != 1 {
		t.Fatalf("error: %v after %d calls", err, f.calls)
	}
}

// fakeNotificationPurger has rows finished notifications to delete; it may
// call onCall (under its lock) at each call.
type fakeNotificationPurger struct {
	mu     sync.Mutex
	rows   int64
	calls  int
	before time.Time
	limit  int
	onCall func(calls int)
}

func (f *fakeNotificationPurger) PurgeNotifications(ctx context.Context, before time.Time, limit int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.before, f.limit = before, limit
	if f.onCall != nil {
		f.onCall(f.calls)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := min(f.rows, int64(limit))
	f.rows -= n
	return n, nil
}

func (f *fakeNotificationPurger) state() (rows int64, calls int, before time.Time, limit int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rows, f.calls, f.before, f.limit
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestNotificationRetentionDeletesBatchAfterBatchAndLogs(t *testing.T) {
	f := &fakeNotificationPurger{rows: 2500}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		RunNotificationRetention(ctx, f, 180*24*time.Hour, 5*time.Millisecond, log)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "deleted=2500") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	rows, calls, before, limit := f.state()
	if rows != 0 || calls < 3 || limit != purgeBatch {
		t.Fatalf("%d rows left after %d calls of limit %d, want 0 after at least 3 of %d", rows, calls, limit, purgeBatch)
	}
	if want := start.Add(-180 * 24 * time.Hour); before.Before(want) || before.After(time.Now().Add(-180*24*time.Hour)) {
		t.Fatalf("purged before %s, want now - 180 days (%s)", before, want)
	}
	out := logs.String()
	if strings.Count(out, "notification retention purge") != 1 || !strings.Contains(out, "level=INFO") {
		t.Fatalf("want one info line with the count (later ticks deleted nothing), got:\n%s", out)
	}
}

func TestNotificationRetentionStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeNotificationPurger{rows: 1 << 40, onCall: func(calls int) {
		if calls == 2 {
			cancel()
		}
	}}
	var logs syncBuffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		RunNotificationRetention(ctx, f, 180*24*time.Hour, time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not return after its context ended")
	}
	if _, calls, _, _ := f.state(); calls != 2 {
		t.Fatalf("%d DELETEs, want 2 (none after the context ended)", calls)
	}
	if out := logs.String(); strings.Contains(out, "WARN") || !strings.Contains(out, "deleted=1000") {
		t.Fatalf("want the first batch logged at info and no warning for the cancellation, got:\n%s", out)
	}
}
