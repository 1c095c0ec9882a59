package service

import (
	"context"
	"time"
)

// queueLengthView is every station's queue length with the data version,
// read in one round trip that started at at.
type queueLengthView struct {
	at      time.Time
	version string
	lens    map[int64]int64
}

// queueLengthsMaxAge is how old a view may be and still serve matching: a
// few refreshes, so that one slow round trip does not send every match to
// Redis.
func (s *Stations) queueLengthsMaxAge() time.Duration { return 4 * s.cfg.QueueLengthsEvery }

// QueueLengthsLoop reads every station's queue length, with the data
// version, every QueueLengthsEvery, so that a match ranks with lengths at
// most that old instead of reading them itself (a station's queue seen
// short for that long may take a few more requests than its share); a newer
// version reloads the in-process copy here rather than in a submit. It
// returns when ctx ends, at once when QueueLengthsEvery is 0.
func (s *Stations) QueueLengthsLoop(ctx context.Context) {
	if s.cfg.QueueLengthsEvery <= 0 {
		return
	}
	t := time.NewTicker(s.cfg.QueueLengthsEvery)
	defer t.Stop()
	for {
		if err := s.refreshQueueLengths(ctx); err != nil && ctx.Err() == nil {
			s.log.Debug("stations: queue lengths not refreshed; matches read them themselves", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refreshQueueLengths reads a new view. Errors: unavailable, internal.
func (s *Stations) refreshQueueLengths(ctx context.Context) error {
	c := s.snap.Load()
	if c == nil {
		var err error
		if c, err = s.current(ctx); err != nil {
			return err
		}
	}
	at := time.Now()
	ls, version, err := s.geo.QueueLengths(ctx, c.stationIDs)
	if err != nil {
		return err
	}
	v := &queueLengthView{at: at, version: version, lens: make(map[int64]int64, len(ls))}
	for i, id := range c.stationIDs {
		v.lens[id] = ls[i]
	}
	s.lengths.Store(v)
	if version != c.version && at.After(c.loadedAt) {
		_, err = s.ensure(ctx, version)
	}
	return err
}

// cachedQueueLengths returns the loop's view for matching on the copy c,
// if it is fresh enough: the lengths and the version to check c against
// (c's own when the view was read before c was loaded, so an older view
// never sends c back to an older version).
func (s *Stations) cachedQueueLengths(c *catalogue) (map[int64]int64, string, bool) {
	v := s.lengths.Load()
	if v == nil || s.cfg.QueueLengthsEvery <= 0 || time.Since(v.at) > s.queueLengthsMaxAge() {
		return nil, "", false
	}
	if v.at.Before(c.loadedAt) {
		return v.lens, c.version, true
	}
	return v.lens, v.version, true
}
