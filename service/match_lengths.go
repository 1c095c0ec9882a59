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

// queuedSince counts the requests this replica queued at each station since
// the last view's read began, so that its matches see their own dispatches
// at once rather than at the next read (other replicas' count from then).
type queuedSince struct {
	mu sync.Mutex
	n  map[int64]int64
}

func (q *queuedSince) add(stationID int64) {
	q.mu.Lock()
	if q.n == nil {
		q.n = map[int64]int64{}
	}
	q.n[stationID]++
	q.mu.Unlock()
}

// reset forgets the counts: a read of the lengths is beginning (what is
// queued during the read may then count twice until the next one).
func (q *queuedSince) reset() {
	q.mu.Lock()
	q.n = nil
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
			s.log.Warn("stations: queue lengths not read; matches read them themselves until they are", "err", err)
			failing = true
		case err == nil && failing:
			s.log.Info("stations: queue lengths read again")
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
// read found a newer version. Errors: unavailable, internal.
func (s *Stations) refreshQueueLengths(ctx context.Context) error {
	c := s.snap.Load()
	if c == nil {
		var err error
		if c, err = s.current(ctx); err != nil {
			return err
		}
	}
	at := time.Now()
	s.queued.reset()
	ls, version, err := s.geo.QueueLengths(ctx, c.rankedIDs)
	if err != nil {
		return err
	}
	v := &queueLengthView{at: at, version: version, lens: make(map[int64]int64, len(ls))}
	for i, id := range c.rankedIDs {
		v.lens[id] = ls[i]
	}
	// A copy loaded since the read began may be newer than the version
	// read: only an older one is reloaded.
	if cur := s.snap.Load(); version != cur.version && at.After(cur.loadedAt) {
		_, err = s.ensure(ctx, version)
	}
	s.lengths.Store(v)
	return err
}

// cachedQueueLengths returns, if the loop's view is fresh enough, the queue
// lengths of the stations m found — the view's plus what this replica
// queued since — and the version to check c against (c's own when the view
// was read before c was loaded, so an older view never sends c back).
func (s *Stations) cachedQueueLengths(c *catalogue, m *matchState) (map[int64]int64, string, bool) {
	v := s.lengths.Load()
	if v == nil || s.cfg.QueueLengthsEvery <= 0 || time.Since(v.at) > s.queueLengthsMaxAge() {
		return nil, "", false
	}
	lens := make(map[int64]int64, len(m.found))
	s.queued.mu.Lock()
	for _, f := range m.found {
		lens[f.ID] = v.lens[f.ID] + s.queued.n[f.ID]
	}
	s.queued.mu.Unlock()
	if v.at.Before(c.loadedAt) {
		return lens, c.version, true
	}
	return lens, v.version, true
}

// Queued tells the matcher that this replica put a new request in
// stationID's queue, so that its matches count it before the next read of
// the lengths.
func (s *Stations) Queued(stationID int64) { s.queued.add(stationID) }
