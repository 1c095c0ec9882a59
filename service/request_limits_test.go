package service_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/service"
)

// countingLimiter counts the round trips of a limiter checking many
// subjects at once; fail, when set, is every call's error.
type countingLimiter struct {
	service.BatchRateLimiter
	calls atomic.Int64
	fail  error
}

func (c *countingLimiter) AllowMany(ctx context.Context, subjects []string, limits []model.RateLimit) ([]time.Duration, error) {
	c.calls.Add(1)
	if c.fail != nil {
		return nil, c.fail
	}
	return c.BatchRateLimiter.AllowMany(ctx, subjects, limits)
}

// limitedBatch is a batched fixture (20 ms window) whose service allows
// perMinute submits a minute per resident, through the store's limiter —
// counted by lim when it is not nil.
func limitedBatch(t *testing.T, perMinute int, lim *countingLimiter) *dispatchFixture {
	f := batched(t, 20*time.Millisecond, 64, 1)
	f.cfg.SubmitPerMinuteUser = perMinute
	var use service.RateLimiter = f.st.NewRateLimiter()
	if lim != nil {
		lim.BatchRateLimiter = f.st.NewRateLimiter()
		use = lim
	}
	f.svc = f.serviceOver(f.st, use, f.cfg)
	return f
}

// TestSubmitRefusalIsRemembered: once the limit refuses a resident, their
// submits are refused in the process until it would allow them again,
// without a round trip: valid or not (the limit comes first), and a keyed
// retry of a stored submit still replays it.
func TestSubmitRefusalIsRemembered(t *testing.T) {
	f := newDispatch(t, func(c *service.RequestsConfig) { c.SubmitPerMinuteUser = 1 })
	lim := &countingLimiter{BatchRateLimiter: f.st.NewRateLimiter()}
	svc := f.serviceOver(f.st, lim, f.cfg)
	ctx := context.Background()
	first, err := svc.Submit(ctx, resident(100), needInput("第一次"), idemKey(100, "k1", "body"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Submit(ctx, resident(100), needInput("第二次"), nil)
	var e *model.Error
	if !errors.As(err, &e) || e.Code != model.CodeTooManyRequests || e.RetryAfter <= 0 {
		t.Fatalf("second submit in a minute: %v", err)
	}
	if n := lim.calls.Load(); n != 2 {
		t.Fatalf("%d limiter calls for two submits", n)
	}
	invalid := needInput("")
	if _, err := svc.Submit(ctx, resident(100), invalid, nil); !model.IsCode(err, model.CodeTooManyRequests) {
		t.Fatalf("an invalid submit while refused: %v", err)
	}
	again, err := svc.Submit(ctx, resident(100), needInput("第一次"), idemKey(100, "k1", "body"))
	if err != nil || again.ID != first.ID {
		t.Fatalf("keyed retry while refused: %d %v, want %d", again.ID, err, first.ID)
	}
	if n := lim.calls.Load(); n != 2 {
		t.Fatalf("%d limiter calls: the remembered refusal should have answered", n)
	}
	if _, err := svc.Submit(ctx, resident(101), needInput("别人"), nil); err != nil {
		t.Fatalf("another resident: %v", err)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM requests`); n != 2 {
		t.Fatalf("rows: %d", n)
	}
}

// TestSubmitBatchWithoutTheLimiter: when the batch's rate-limit check
// fails, nothing of the batch is kept and every member says unavailable.
func TestSubmitBatchWithoutTheLimiter(t *testing.T) {
	lim := &countingLimiter{fail: model.Errorf(model.CodeUnavailable, "Redis 不可用")}
	f := limitedBatch(t, 5, lim)
	got := submitAll(f, 8, func(i int) int64 { return int64(300 + i) }, func(int) service.SubmitInput { return needInput("限流失灵") }, func(int) *model.Idempotency { return nil })
	for i, s := range got {
		if !model.IsCode(s.err, model.CodeUnavailable) {
			t.Fatalf("submit %d: %v, want unavailable", i, s.err)
		}
	}
	if n := f.count(t, `SELECT (SELECT COUNT(*) FROM requests) + (SELECT COUNT(*) FROM idempotency_keys) + (SELECT COUNT(*) FROM notifications)`); n != 0 {
		t.Fatalf("rows kept: %d", n)
	}
	if q := f.queueIDs(t, f.st.Keys.StationQueue(3)); len(q) != 0 {
		t.Fatalf("queued: %v", q)
	}
	if st := f.svc.SubmitBatchStats(); st.Batches != 0 || st.Fallbacks != 0 {
		t.Fatalf("batch stats %+v", st)
	}
	if n := lim.calls.Load(); n >= 8 {
		t.Fatalf("%d limiter round trips for 8 submits: not checked together", n)
	}
}

// TestSubmitBatchFallbackChargesOnce: members of a failed batch, written
// one by one, are not charged again: a resident with a budget of 8 gets 8.
func TestSubmitBatchFallbackChargesOnce(t *testing.T) {
	f := limitedBatch(t, 8, nil)
	service.SetSubmitBatchFailure(f.svc, func([]model.PreparedRequest) error { return errors.New("injected") })
	got := submitAll(f, 8, func(int) int64 { return 55 }, func(int) service.SubmitInput { return needInput("回退") }, func(int) *model.Idempotency { return nil })
	for i, s := range got {
		if s.err != nil {
			t.Fatalf("submit %d: %v", i, s.err)
		}
	}
	if n := f.count(t, `SELECT COUNT(*) FROM requests`); n != 8 {
		t.Fatalf("rows: %d", n)
	}
	if st := f.svc.SubmitBatchStats(); st.Fallbacks == 0 {
		t.Fatalf("no batch fell back: %+v", st)
	}
}

// TestSubmitBatchFallbackKeepsTheRefusals: when a batch whose tokens were
// taken fails and its members are written alone, the members the limit
// refused stay refused (the alone path takes no token again).
func TestSubmitBatchFallbackKeepsTheRefusals(t *testing.T) {
	f := limitedBatch(t, 3, nil)
	service.SetSubmitBatchFailure(f.svc, func([]model.PreparedRequest) error { return errors.New("injected") })
	got := submitAll(f, 8, func(int) int64 { return 55 }, func(int) service.SubmitInput { return needInput("回退") }, func(int) *model.Idempotency { return nil })
	refused := 0
	for i, s := range got {
		switch {
		case model.IsCode(s.err, model.CodeTooManyRequests):
			refused++
		case s.err != nil:
			t.Fatalf("submit %d: %v", i, s.err)
		}
	}
	if n := f.count(t, `SELECT COUNT(*) FROM requests`); n != 3 || refused != 5 {
		t.Fatalf("%d rows and %d refusals, want 3 and 5", n, refused)
	}
	if st := f.svc.SubmitBatchStats(); st.Fallbacks == 0 {
		t.Fatalf("no batch fell back: %+v", st)
	}
}

// TestSubmitRepeatedKeyPastTheLimit: a key sent twice at once is written
// once and the repeat replays it; the repeat is charged like any submit
// (the batch did not take its token), so with a budget of two a third
// submit is refused.
func TestSubmitRepeatedKeyPastTheLimit(t *testing.T) {
	f := limitedBatch(t, 2, nil)
	got := submitAll(f, 2, func(int) int64 { return 56 }, func(int) service.SubmitInput { return needInput("重复") },
		func(int) *model.Idempotency { return idemKey(56, "same", "body") })
	if got[0].err != nil || got[1].err != nil || got[0].r.ID != got[1].r.ID {
		t.Fatalf("replies %d %v, %d %v", got[0].r.ID, got[0].err, got[1].r.ID, got[1].err)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM requests`); n != 1 {
		t.Fatalf("rows: %d", n)
	}
	_, err := f.svc.Submit(context.Background(), resident(56), needInput("第三次"), idemKey(56, "other", "body"))
	if !model.IsCode(err, model.CodeTooManyRequests) {
		t.Fatalf("a third submit after a charged repeat: %v, want too_many_requests", err)
	}
}

// TestSubmitRefusedInABatchReplaysItsKey: on a replica that has not seen
// the resident refused, a batch's verdict refuses both a retry of a stored
// submit and a new one: the retry gets the first reply, the new one 429.
func TestSubmitRefusedInABatchReplaysItsKey(t *testing.T) {
	f := limitedBatch(t, 1, nil)
	first := f.serviceOver(f.st, f.st.NewRateLimiter(), f.cfg)
	stored, err := first.Submit(context.Background(), resident(57), needInput("第一次"), idemKey(57, "k1", "body"))
	if err != nil {
		t.Fatal(err)
	}
	got := submitAll(f, 2, func(int) int64 { return 57 }, func(i int) service.SubmitInput { return needInput("第一次") },
		func(i int) *model.Idempotency { return idemKey(57, "k"+itoa(i+1), "body") })
	if got[0].err != nil || got[0].r.ID != stored.ID {
		t.Fatalf("the retry: %d %v, want %d", got[0].r.ID, got[0].err, stored.ID)
	}
	if !model.IsCode(got[1].err, model.CodeTooManyRequests) {
		t.Fatalf("the new submit: %v", got[1].err)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM requests`); n != 1 {
		t.Fatalf("rows: %d", n)
	}
}
