package service

import (
	"context"
	"errors"
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
