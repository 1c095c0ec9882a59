package service

import (
	"context"
	"sync"
	"time"
)

// queueLengthView is the queue length of every station a match may rank,
// with the data version, read in one round trip that started at at.
type queueLengthView struct {
	at      time.Time
	version string
	lens    map[int64]int64
}

// queueLengthState is the loop's last view and the requests this replica
// queued at each station since that view's read began (n) — so that its
// matches see their own dispatches at once rather than at the next read
// (other replicas' count from then) — and since the read in flight began
// (next, nil with none in flight), which become n when that read's view is
// published. The view and n change together, under mu.
type queueLengthState struct {
	mu   sync.Mutex
	view *queueLengthView
	n    map[int64]int64
	next map[int64]int64
}

func (q *queueLengthState) add(stationID int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == nil {
		q.n = map[int64]int64{}
	}
	q.n[stationID]++
	if q.next != nil {
		q.next[stationID]++
	}
}

// begin starts counting for a read about to be sent.
func (q *queueLengthState) begin() {
	q.mu.Lock()
	q.next = map[int64]int64{}
	q.mu.Unlock()
}

// publish makes v the view, with what was queued since its read began.
func (q *queueLengthState) publish(v *queueLengthView) {
	q.mu.Lock()
	q.view, q.n, q.next = v, q.next, nil
	q.mu.Unlock()
}

// abort forgets a read that failed.
func (q *queueLengthState) abort() {
	q.mu.Lock()
	q.next = nil
	q.mu.Unlock()
}

// queueLengthsMaxAge is how old a view may be and still serve matching: a
// few intervals, so that one slow read does not send every match to Redis.
func (s *Stations) queueLengthsMaxAge() time.Duration { return 4 * s.cfg.QueueLengthsEvery }

// QueueLengthsLoop reads the queue length of every station a match may rank,
// with the data version, every QueueLengthsEvery, so that a match ranks with
// lengths at most that old (plus what this replica queued since, see
// Queued) instead of reading them itself; a newer version reloads the
// in-process copy here rather than in a match. It returns when ctx ends, at
// once when QueueLengthsEvery is 0.
func (s *Stations) QueueLengthsLoop(ctx context.Context) {
	if s.cfg.QueueLengthsEvery <= 0 {
		return
	}
	t := time.NewTicker(s.cfg.QueueLengthsEvery)
	defer t.Stop()
	failing := false
	for {
		err := s.refreshQueueLengths(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			s.log.Warn("stations: queue lengths or the in-process copy not refreshed; matches keep the last read while it is fresh, then read their own", "err", err)
			failing = true
		case err == nil && failing:
			s.log.Info("stations: queue lengths refreshed again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refreshQueueLengths reads a new view, reloading the copy first when the
// read found a newer version (a failed reload leaves matches on the copy
// they have). Errors: unavailable, internal.
func (s *Stations) refreshQueueLengths(ctx context.Context) error {
	c := s.snap.Load()
	if c == nil {
		var err error
		if c, err = s.current(ctx); err != nil {
			return err
		}
	}
	at := time.Now()
	s.lengths.begin()
	ls, version, err := s.geo.QueueLengths(ctx, c.rankedIDs)
	if err != nil {
		s.lengths.abort()
		return err
	}
	v := &queueLengthView{at: at, version: version, lens: make(map[int64]int64, len(ls))}
	for i, id := range c.rankedIDs {
		v.lens[id] = ls[i]
	}
	// A copy loaded since the read began may be newer than the version
	// read: only an older one is reloaded.
	if cur := s.snap.Load(); version != cur.version && at.After(cur.loadedAt) {
		if _, err = s.ensure(ctx, version); err != nil {
			v.version = cur.version
		}
	}
	s.lengths.publish(v)
	return err
}

// freshViewLocked returns the loop's view if it is fresh enough to serve
// matching; with lengths.mu held.
func (s *Stations) freshViewLocked() *queueLengthView {
	v := s.lengths.view
	if v == nil || s.cfg.QueueLengthsEvery <= 0 || time.Since(v.at) > s.queueLengthsMaxAge() {
		return nil
	}
	return v
}

// cachedQueueLengths returns, if the loop's view is fresh enough and holds
// every station m found, their queue lengths — the view's plus what this
// replica queued since — and the version to check c against (see
// viewVersion).
func (s *Stations) cachedQueueLengths(c *catalogue, m *matchState) (map[int64]int64, string, bool) {
	s.lengths.mu.Lock()
	defer s.lengths.mu.Unlock()
	v := s.freshViewLocked()
	if v == nil {
		return nil, "", false
	}
	lens := make(map[int64]int64, len(m.found))
	for _, f := range m.found {
		l, ok := v.lens[f.ID]
		if !ok {
			return nil, "", false // a station the view's copy could not rank
		}
		lens[f.ID] = l + s.lengths.n[f.ID]
	}
	return lens, viewVersion(v, c), true
}

// viewVersion is the version to check c against by v: v's, or c's own when
// v was read before c was loaded.
func viewVersion(v *queueLengthView, c *catalogue) string {
	if v.at.Before(c.loadedAt) {
		return c.version
	}
	return v.version
}

// versionNow is the data version as the loop's fresh view gives it (see
// viewVersion), or as Redis has it. Errors: unavailable.
func (s *Stations) versionNow(ctx context.Context, c *catalogue) (string, error) {
	s.lengths.mu.Lock()
	v := s.freshViewLocked()
	s.lengths.mu.Unlock()
	if v != nil {
		return viewVersion(v, c), nil
	}
	return s.geo.StationsVersion(ctx)
}

// Queued tells the matcher that this replica put a new request in
// stationID's queue, so that its matches count it before the next read of
// the lengths (requests moved there by a reject, a transfer or an
// escalation count from that read). Without the loop, matches read the
// lengths themselves and nothing is counted.
func (s *Stations) Queued(stationID int64) {
	if s.cfg.QueueLengthsEvery > 0 {
		s.lengths.add(stationID)
	}
}
