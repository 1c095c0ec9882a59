package service

import (
	"context"
	"sync"

	"jindalai/model"
)

// The reads of concurrent submits are batched too: one batch checks every
// member's rate limits (the write budget and the submit limit in one script
// call each, one pipelined round trip) while it matches every member's point
// (Stations.MatchMany: the searches in process, one round trip for the
// queue lengths), so a submit waits for one batch of reads, not for three
// round trips of its own.

// submitRead is one submit's reads: its resident's rate limit and, when its
// input is valid, its match.
type submitRead struct {
	user  int64
	match *MatchQuery
}

// readOut is a submit's reads: allow is nil or the limit's refusal (or
// failure); match answers the query.
type readOut struct {
	allow error
	match MatchOutcome
}

func newReadGroup(s *Requests) *group[submitRead, readOut] {
	return newGroup(64, 1, 0, s.readMany, func(err error) readOut { return readOut{allow: groupError(err)} })
}

// readMany runs the reads of a batch: the rate limits beside the matches.
func (s *Requests) readMany(ctx context.Context, ins []submitRead) []readOut {
	out := make([]readOut, len(ins))
	var wg sync.WaitGroup
	if s.batchLimit != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			subjects := make([]string, len(ins))
			for i, in := range ins {
				subjects[i] = formatID(in.user)
			}
			for i, err := range allowEach(ctx, s.batchLimit, subjects, s.limits) {
				out[i].allow = err
			}
		}()
	}
	var qs []MatchQuery
	var index []int
	for i, in := range ins {
		if in.match != nil {
			qs = append(qs, *in.match)
			index = append(index, i)
		}
	}
	if len(qs) > 0 {
		for k, o := range s.dir.MatchMany(ctx, qs) {
			out[index[k]].match = o
		}
	}
	wg.Wait()
	return out
}

// readSubmit returns a submit's rate-limit verdict and match: batched with
// the other submits' when batching is on, else one after the other. The
// limit is decided first: a refused submit gets too_many_requests whatever
// its input; then a validation error (valid false) stops it.
func (s *Requests) readSubmit(ctx context.Context, userID int64, q MatchQuery, valid error) (model.MatchResult, error) {
	limited := len(s.limits) > 0
	if s.reads == nil || (limited && s.batchLimit == nil) {
		if err := s.allowSubmit(ctx, userID); err != nil {
			return model.MatchResult{}, err
		}
		if valid != nil {
			return model.MatchResult{}, valid
		}
		return s.dir.Match(ctx, q.P, q.Category)
	}
	in := submitRead{user: userID}
	if valid == nil {
		in.match = &q
	}
	if !limited && valid != nil {
		return model.MatchResult{}, valid
	}
	r := s.reads.do(ctx, in, nil)
	if r.allow != nil {
		return model.MatchResult{}, r.allow
	}
	if valid != nil {
		return model.MatchResult{}, valid
	}
	return r.match.Result, r.match.Err
}

// allowSubmit takes a submit's tokens (s.limits) for one caller: all or
// none when the limiter checks several limits at once, else one limit
// after the other. Errors: too_many_requests, unavailable.
func (s *Requests) allowSubmit(ctx context.Context, userID int64) error {
	if s.batchLimit != nil {
		return allowEach(ctx, s.batchLimit, []string{formatID(userID)}, s.limits)[0]
	}
	for _, l := range s.limits {
		if err := allowLimit(ctx, s.limit, l.Name, formatID(userID), l.PerMinute); err != nil {
			return err
		}
	}
	return nil
}
