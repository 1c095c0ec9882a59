package service

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"jindalai/model"
)

// Group commit of submits: concurrent submits of one process are written by
// one transaction (store CreateRequests) and put in their queues by one
// Redis pipeline, which spreads the cost of a transaction, its commit and
// two round trips over the batch (see group for how batches form).
//
// Correctness never depends on the batch: when MySQL refuses the batch
// transaction (a key stored meanwhile by another batch or replica, a
// deadlock, a row it rejects), nothing of it is kept and every member runs
// the single-submit path (store CreateRequest, which replays idempotency
// keys) in its own goroutine; a key repeated within the batch is written
// once, and its repeats run that path after the batch, so they replay the
// first one's reply. The batch takes its members' rate-limit tokens while
// MySQL runs its statements and commits only if all were allowed; otherwise
// it rolls back and writes the allowed members again, without the others
// (request_limits.go). When the outcome is unknown (the connection lost
// after COMMIT was sent), every member reports unavailable, as a single
// submit would: running them again could write keyless ones twice. A caller
// whose context ends first gets unavailable at once (see group). Batches
// are per process: replicas meet only in MySQL.

// SubmitBatchStats counts the submit batches since the service started.
type SubmitBatchStats struct {
	Batches   int64 // batch transactions committed (formed of two or more submits)
	Submits   int64 // submits written by them
	Fallbacks int64 // batches that failed and fell back to single submits
	Largest   int64 // the largest batch
	// WriteTime is the time spent in batch transactions (from the first
	// statement to the commit's reply), fallbacks included.
	WriteTime time.Duration
}

type submitBatcher struct {
	*group[model.PreparedRequest, createResult]
	batches, submits, fallbacks, largest atomic.Int64
	writeNanos                           atomic.Int64
	// failBatch, set by tests, fails a batch before it is written.
	failBatch func([]model.PreparedRequest) error
}

// createResult is a submit's outcome in a batch: its stored request, an
// error, or alone = write it by itself (the batch failed, or it repeats a
// key of the batch: repeat, the one case whose tokens the batch did not
// take).
type createResult struct {
	out    model.Request
	err    error
	alone  bool
	repeat bool
	// place: out is new and still to be put in its queue.
	place bool
	// replayed: out is what a stored key keeps (see Requests.created).
	replayed bool
}

func newSubmitBatcher(s *Requests) *submitBatcher {
	cfg := s.cfg
	if cfg.SubmitBatchMax == 0 {
		cfg.SubmitBatchMax = 64
	}
	if cfg.SubmitBatchesInFlight <= 0 {
		cfg.SubmitBatchesInFlight = 1
	}
	if cfg.SubmitBatchMax <= 1 {
		return nil
	}
	b := &submitBatcher{}
	b.group = newGroup(cfg.SubmitBatchMax, cfg.SubmitBatchesInFlight, cfg.SubmitBatchWindow,
		func(ctx context.Context, batch []model.PreparedRequest) []createResult {
			return s.runBatch(ctx, b, batch)
		},
		func(err error) createResult { return createResult{err: groupError(err)} })
	b.group.after = func(ctx context.Context, _ []model.PreparedRequest, res []createResult) { s.placeBatch(ctx, res) }
	return b
}

// groupError is a batched call's error when its context ended before its
// result (unavailable) or its batch panicked (internal).
func groupError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return model.Wrap(model.CodeUnavailable, err, "服务繁忙，请稍后再试")
	}
	return model.Wrap(model.CodeInternal, err, "")
}

// arriving announces a submit on its way to create (see group.arriving).
func (b *submitBatcher) arriving() func() {
	if b == nil {
		return func() {}
	}
	return b.group.arriving()
}

// create stores a validated, matched request — in a batch when batching is
// on — and puts it in its queue before returning; the rate limit's tokens
// are taken by the batch, or were taken by Submit (see request_limits.go).
func (s *Requests) create(ctx context.Context, nr model.NewRequest, joined func()) (model.Request, error) {
	if s.batch == nil {
		joined()
		return s.createAlone(ctx, nr)
	}
	if err := ctx.Err(); err != nil {
		joined()
		return model.Request{}, model.Wrap(model.CodeUnavailable, err, "请求已取消")
	}
	// The values are encoded here, in parallel, not by the batch.
	pr, err := s.store.PrepareRequest(nr)
	if err != nil {
		joined()
		return model.Request{}, err
	}
	res := s.batch.do(ctx, pr, joined)
	joined()
	if res.alone {
		if res.repeat && s.batchTakesTokens() {
			if err := s.allowSubmit(ctx, nr.Request.ResidentID); err != nil {
				return s.limited(ctx, nr.Idem, err)
			}
		}
		return s.createAlone(ctx, nr)
	}
	if res.err != nil {
		return s.limited(ctx, nr.Idem, res.err)
	}
	if res.replayed {
		return s.created(ctx, res.out)
	}
	return res.out, nil
}

// createAlone is the single-submit path: one transaction for one request,
// replaying a stored idempotency key.
func (s *Requests) createAlone(ctx context.Context, nr model.NewRequest) (model.Request, error) {
	out, replayed, err := s.store.CreateRequest(ctx, nr.Idem, nr.Request, nr.Events, nr.Notices)
	if err != nil {
		return model.Request{}, err
	}
	if replayed {
		return s.created(ctx, out)
	}
	s.place(ctx, nil, out)
	s.dir.Queued(out.Station.ID)
	return out, nil
}

// created rebuilds the reply a submit gave from what its idempotency key
// keeps (the request's ID and AcceptBy) and the request's row: the fields a
// submit sets never change afterwards, and every submit starts dispatched to
// its first candidate, with nothing else done yet. Errors: not_found,
// unavailable, internal.
func (s *Requests) created(ctx context.Context, kept model.Request) (model.Request, error) {
	r, err := s.store.GetRequest(ctx, kept.ID)
	if err != nil {
		return model.Request{}, err
	}
	if len(r.Candidates) == 0 {
		return model.Request{}, model.Errorf(model.CodeInternal, "request %d has no candidates", r.ID)
	}
	r.Status, r.Station, r.Org = model.StatusDispatched, r.Candidates[0], nil
	r.AcceptBy, r.Bounces, r.MustTake = kept.AcceptBy, 0, false
	r.WorkerID, r.AcceptedAt, r.Resolution, r.Rating, r.ClosedAt = nil, nil, nil, nil, nil
	r.UpdatedAt = r.CreatedAt
	return s.present(r, false), nil
}

// runBatch writes a batch in one transaction and places it in one pipeline.
// The members' tokens are taken while MySQL runs the statements; a member
// refused drops out, and the rest are written again, without it.
func (s *Requests) runBatch(ctx context.Context, b *submitBatcher, batch []model.PreparedRequest) []createResult {
	res := make([]createResult, len(batch))
	type idemKey struct {
		user int64
		key  string
	}
	seen := make(map[idemKey]bool, len(batch))
	write := make([]model.PreparedRequest, 0, len(batch))
	index := make([]int, 0, len(batch))
	for i, nr := range batch {
		if nr.Idem != nil {
			k := idemKey{nr.Idem.UserID, nr.Idem.Key}
			if seen[k] {
				res[i].alone, res[i].repeat = true, true // replays the first one after the batch
				continue
			}
			seen[k] = true
		}
		write = append(write, nr)
		index = append(index, i)
	}
	if len(write) == 1 {
		// Nothing to share: the single path (which also replays a key),
		// still holding the batch slot so that the submits arriving
		// meanwhile queue behind it.
		i := index[0]
		if s.batchTakesTokens() {
			if res[i].err = s.allowSubmit(ctx, write[0].Request.ResidentID); res[i].err != nil {
				return res
			}
		}
		out, replayed, err := s.store.CreateRequest(ctx, write[0].Idem, write[0].Request, write[0].Events, write[0].Notices)
		res[i] = createResult{out: out, err: err, place: err == nil && !replayed, replayed: replayed}
		return res
	}
	tokens := s.takeTokens(ctx, write)
	out, err := s.writeBatch(ctx, b, write, tokens.commitIf())
	if verdicts := tokens.wait(); verdicts != nil {
		// Every member is charged now, or refused; the refused ones drop
		// out of whatever comes next (a batch that committed had none).
		keep, kept := write[:0:0], index[:0:0]
		for k, i := range index {
			if verdicts[k] != nil {
				res[i].err = verdicts[k]
			} else {
				keep, kept = append(keep, write[k]), append(kept, i)
			}
		}
		write, index = keep, kept
		if errors.Is(err, errBatchRefused) {
			if len(write) == 0 {
				return res
			}
			out, err = s.writeBatch(ctx, b, write, nil)
		}
	}
	if err != nil && errors.Is(err, model.ErrNotWritten) {
		b.fallbacks.Add(1)
		s.log.Info("submit batch failed; its members are written one by one", "size", len(write), "err", err)
		for _, i := range index {
			res[i].alone = true
		}
		return res
	}
	if err != nil {
		// The COMMIT may have been applied: like a single submit whose
		// reply was lost, each member reports the failure (a retry with
		// its Idempotency-Key replays it if it was stored).
		s.log.Error("submit batch commit outcome unknown", "size", len(write), "err", err)
		for _, i := range index {
			res[i].err = err
		}
		return res
	}
	for k, i := range index {
		res[i] = createResult{out: out[k], place: true}
	}
	b.batches.Add(1)
	b.submits.Add(int64(len(out)))
	for l := b.largest.Load(); int64(len(out)) > l && !b.largest.CompareAndSwap(l, int64(len(out))); l = b.largest.Load() {
	}
	return res
}

// writeBatch runs the batch transaction (see store CreateRequests), or the
// test's failure.
func (s *Requests) writeBatch(ctx context.Context, b *submitBatcher, write []model.PreparedRequest, commitIf func() error) ([]model.Request, error) {
	if b.failBatch != nil {
		if err := b.failBatch(write); err != nil {
			return nil, errors.Join(model.ErrNotWritten, err)
		}
	}
	start := time.Now()
	defer func() { b.writeNanos.Add(int64(time.Since(start))) }()
	return s.store.CreateRequests(ctx, write, commitIf)
}

// placeBatch puts a batch's new requests in their queues in one pipeline,
// once the next batch may run.
func (s *Requests) placeBatch(ctx context.Context, res []createResult) {
	var rs []model.Request
	for _, r := range res {
		if r.place {
			rs = append(rs, r.out)
		}
	}
	if len(rs) == 0 {
		return
	}
	defer func() {
		for _, r := range rs {
			s.dir.Queued(r.Station.ID)
		}
	}()
	// The rows are committed: they are queued even if every caller has
	// gone meanwhile, or the batch used up its time.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxBatch)
	defer cancel()
	if err := s.store.PlaceNewRequests(ctx, rs); err != nil {
		s.log.Warn("dispatch index update failed; queues will be rebuilt", "requests", len(rs), "err", err)
		s.requestRebuild()
	}
}

// RunSubmitBatches waits, once ctx ends (at shutdown, after the HTTP server
// drained its requests), for the submit batches still running — the ones
// whose callers all gave up — so that their transactions end and what they
// wrote is queued before the process exits. Nothing runs before: batches are
// started by the submits themselves.
func (s *Requests) RunSubmitBatches(ctx context.Context) {
	<-ctx.Done()
	if s.batch != nil {
		s.batch.wait()
	}
}

// SubmitBatchStats returns the counters of the submit group commit.
func (s *Requests) SubmitBatchStats() SubmitBatchStats {
	if s.batch == nil {
		return SubmitBatchStats{}
	}
	return SubmitBatchStats{Batches: s.batch.batches.Load(), Submits: s.batch.submits.Load(),
		Fallbacks: s.batch.fallbacks.Load(), Largest: s.batch.largest.Load(),
		WriteTime: time.Duration(s.batch.writeNanos.Load())}
}
