package service

import (
	"context"
	"errors"
	"sync"
	"time"

	"jindalai/model"
)

// A submit takes one token of each of s.limits (the write budget and the
// submit limit) before anything of it is kept. A submit that will not be
// written (invalid input, an unknown category) takes them at once, so that
// the limit is decided first: a refused submit gets too_many_requests
// whatever its input. A submit on its way to the group commit has them
// taken by its batch, for every member in one round trip that runs while
// MySQL executes the batch's statements; the batch commits only once every
// member was allowed (see Requests.runBatch).
//
// A refusal is also remembered in the process until the limit would allow
// the resident again (GCRA never allows earlier: other replicas only take
// more), so that one resident's flood is refused without a round trip and
// costs the batches it joins nothing.

// errBatchRefused is a batch's commit refused because the rate limit
// refused some member (or could not be checked).
var errBatchRefused = errors.New("service: the rate limit refused a member of the submit batch")

// allowSubmit takes a submit's tokens (s.limits) for one caller: all or
// none when the limiter checks several limits at once, else one limit
// after the other. Errors: too_many_requests, unavailable.
func (s *Requests) allowSubmit(ctx context.Context, userID int64) error {
	if len(s.limits) == 0 {
		return nil
	}
	var err error
	if s.batchLimit != nil {
		err = allowEach(ctx, s.batchLimit, []string{formatID(userID)}, s.limits)[0]
	} else {
		for _, l := range s.limits {
			if err = allowLimit(ctx, s.limit, l.Name, formatID(userID), l.PerMinute); err != nil {
				break
			}
		}
	}
	s.refused.note(userID, err)
	return err
}

// limited answers a submit the limit refused: a keyed one is replayed if
// its key is stored (see replayRefused); anything else gets err.
func (s *Requests) limited(ctx context.Context, idem *model.Idempotency, err error) (model.Request, error) {
	if idem != nil && model.IsCode(err, model.CodeTooManyRequests) {
		return s.replayRefused(ctx, idem, err)
	}
	return model.Request{}, err
}

// batchTokens is a batch's rate-limit check, running beside its
// statements: one verdict per member (nil, too_many_requests or the
// limiter's error).
type batchTokens struct {
	done     chan struct{}
	verdicts []error
}

// takeTokens starts taking the tokens of members; nil when submits take
// them one by one before joining a batch (no BatchRateLimiter) or nothing
// is limited.
func (s *Requests) takeTokens(ctx context.Context, members []model.PreparedRequest) *batchTokens {
	if s.batchLimit == nil {
		return nil
	}
	t := &batchTokens{done: make(chan struct{})}
	subjects := make([]string, len(members))
	for i, m := range members {
		subjects[i] = formatID(m.Request.ResidentID)
	}
	go func() {
		defer close(t.done)
		t.verdicts = allowEach(ctx, s.batchLimit, subjects, s.limits)
		for i, err := range t.verdicts {
			s.refused.note(members[i].Request.ResidentID, err)
		}
	}()
	return t
}

// wait returns the verdicts; nil (everyone allowed) for a nil t.
func (t *batchTokens) wait() []error {
	if t == nil {
		return nil
	}
	<-t.done
	return t.verdicts
}

// commitIf is the batch's condition to commit (see store CreateRequests):
// every member allowed, else errBatchRefused; nil for a nil t.
func (t *batchTokens) commitIf() func() error {
	if t == nil {
		return nil
	}
	return func() error {
		for _, err := range t.wait() {
			if err != nil {
				return errBatchRefused
			}
		}
		return nil
	}
}

// refusedSubjects remembers the residents the rate limit refused, until
// it would allow them again.
type refusedSubjects struct {
	mu    sync.Mutex
	until map[int64]time.Time
}

// refusedSubjectsMax bounds the memory: past it, expired refusals are
// dropped, and if that leaves half of them or more, every refusal is
// forgotten (a forgotten resident just asks Redis again), so that pruning
// stays rare.
const refusedSubjectsMax = 10000

// note remembers a too_many_requests refusal of userID.
func (r *refusedSubjects) note(userID int64, err error) {
	var e *model.Error
	if !errors.As(err, &e) || e.Code != model.CodeTooManyRequests || e.RetryAfter <= 0 {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.until) >= refusedSubjectsMax {
		for id, u := range r.until {
			if !u.After(now) {
				delete(r.until, id)
			}
		}
		if len(r.until) >= refusedSubjectsMax/2 {
			r.until = nil
		}
	}
	if r.until == nil {
		r.until = map[int64]time.Time{}
	}
	if u := now.Add(e.RetryAfter); u.After(r.until[userID]) {
		r.until[userID] = u
	}
}

// check returns too_many_requests while userID's last refusal holds.
func (r *refusedSubjects) check(userID int64) error {
	r.mu.Lock()
	u, ok := r.until[userID]
	r.mu.Unlock()
	if !ok {
		return nil
	}
	if wait := time.Until(u); wait > 0 {
		return tooManyRequests(wait)
	}
	return nil
}

// BatchRateLimiter is a RateLimiter that also takes, for each of many
// subjects, one token of every limit given (all or none) in one round trip:
// 0 for an allowed subject, else how long until it would be.
type BatchRateLimiter interface {
	RateLimiter
	AllowMany(ctx context.Context, subjects []string, limits []model.RateLimit) ([]time.Duration, error)
}
