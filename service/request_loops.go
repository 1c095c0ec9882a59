package service

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"jindalai/model"
)

// escalationBatch is how many due ids one claim takes.
const escalationBatch = 100

// Queue returns the requests waiting for the caller to accept: their
// station's queue (station admins: also the stations below; organization
// admins: requests transferred to their organization; city admins: all),
// urgent first, then by accept-by time. A single queue is read from Redis
// (ids) and MySQL (rows, one query); several queues, or Redis being down or
// having lost its data, read MySQL alone. Errors: invalid_argument (cursor),
// unavailable, internal.
func (s *Requests) Queue(ctx context.Context, p model.Principal, page model.Page) (model.List[model.Request], error) {
	after, err := decodeQueueCursor(page.Cursor)
	if err != nil {
		return model.List[model.Request]{}, err
	}
	scope, err := s.staffScope(ctx, p)
	if err != nil {
		return model.List[model.Request]{}, err
	}
	single := !scope.All && len(scope.StationIDs)+len(scope.OrgIDs) == 1
	if single {
		var station, org int64
		if len(scope.OrgIDs) == 1 {
			org = scope.OrgIDs[0]
		} else {
			station = scope.StationIDs[0]
		}
		out, err := s.queueFromRedis(ctx, station, org, after, page.Limit)
		if err == nil {
			return out, nil
		}
		if !model.IsCode(err, model.CodeUnavailable) {
			return out, err
		}
		s.log.Warn("queue read from MySQL: redis unavailable", "err", err)
	}
	rs, err := s.store.QueueFromDB(ctx, scope, after, page.Limit+1)
	if err != nil {
		return model.List[model.Request]{}, err
	}
	out := model.List[model.Request]{Items: make([]model.Request, 0, len(rs))}
	if len(rs) > page.Limit {
		rs = rs[:page.Limit]
		last := rs[len(rs)-1]
		out.NextCursor = encodeQueueCursor(model.QueueCursor{Score: last.QueueScore(), ID: last.ID})
	}
	for _, r := range rs {
		out.Items = append(out.Items, s.present(r, true))
	}
	return out, nil
}

// errIndexMissing sends a queue read to MySQL while Redis is rebuilt.
var errIndexMissing = model.Errorf(model.CodeUnavailable, "dispatch index missing")

func (s *Requests) queueFromRedis(ctx context.Context, station, org int64, after *model.QueueCursor, limit int) (model.List[model.Request], error) {
	entries, more, present, err := s.store.QueueEntries(ctx, station, org, after, limit)
	if err != nil {
		return model.List[model.Request]{}, err
	}
	if !present {
		s.requestRebuild()
		return model.List[model.Request]{}, errIndexMissing
	}
	ids := make([]int64, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	rows, err := s.store.GetRequests(ctx, ids)
	if err != nil {
		return model.List[model.Request]{}, err
	}
	byID := make(map[int64]model.Request, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	out := model.List[model.Request]{Items: make([]model.Request, 0, len(entries))}
	var stale []model.QueueCursor
	for _, e := range entries {
		r, ok := byID[e.ID]
		if !ok || !r.Status.Open() || r.OrgID() != org || (org == 0 && r.Station.ID != station) {
			stale = append(stale, e)
			continue
		}
		out.Items = append(out.Items, s.present(r, true))
	}
	if len(stale) > 0 {
		if err := s.store.DropStaleQueueEntries(ctx, station, org, stale); err != nil {
			s.log.Warn("drop stale queue entries", "err", err)
		}
	}
	if more && len(entries) > 0 {
		out.NextCursor = encodeQueueCursor(entries[len(entries)-1])
	}
	return out, nil
}

func encodeQueueCursor(c model.QueueCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d_%d", c.Score, c.ID)))
}

func decodeQueueCursor(cursor string) (*model.QueueCursor, error) {
	if cursor == "" {
		return nil, nil
	}
	bad := model.InvalidField("cursor", "无效的游标")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, bad
	}
	a, b, ok := strings.Cut(string(raw), "_")
	if !ok {
		return nil, bad
	}
	score, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return nil, bad
	}
	return &model.QueueCursor{Score: score, ID: id}, nil
}

// EscalateDue escalates every request whose accept-by deadline passed by t:
// due ids are claimed from the deadline set by an atomic script (each id to
// one caller, on whichever replica), then each is re-dispatched by a
// conditional UPDATE that requires it to still be dispatched and overdue, so
// no request is escalated twice. It returns how many it escalated.
// Errors: unavailable (Redis), internal.
func (s *Requests) EscalateDue(ctx context.Context, t time.Time) (int, error) {
	done := 0
	for {
		ids, err := s.store.ClaimDueRequests(ctx, t, escalationBatch)
		if err != nil {
			return done, err
		}
		for _, id := range ids {
			ok, err := s.escalate(ctx, id, t)
			if err != nil {
				s.log.Error("escalation failed; retrying later", "request_id", id, "err", err)
				if err := s.store.SetDeadline(ctx, id, t.Add(5*time.Second)); err != nil {
					s.log.Warn("re-queue escalation", "request_id", id, "err", err)
				}
				continue
			}
			if ok {
				done++
			}
		}
		if len(ids) < escalationBatch || ctx.Err() != nil {
			return done, nil
		}
	}
}

// escalate re-dispatches one overdue request: from an organization back to
// its station, from a station to the next candidate or up to the parent
// (which must take it; the city station keeps it). The receiving station's
// admins get a 督办 message. ok is false when there was nothing to do.
func (s *Requests) escalate(ctx context.Context, id int64, t time.Time) (bool, error) {
	r, err := s.store.GetRequest(ctx, id)
	if model.IsCode(err, model.CodeNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if r.Status != model.StatusDispatched {
		return false, nil
	}
	if r.AcceptBy.After(t) {
		// A stale entry: the request was re-dispatched meanwhile. Make sure
		// its current deadline is in the set.
		return false, s.store.SetDeadline(ctx, id, r.AcceptBy)
	}
	next, moved, err := s.bounce(ctx, r)
	if err != nil {
		return false, err
	}
	note := "超过签收时限未签收，"
	switch {
	case r.OrgID() != 0:
		note += "从「" + r.Org.Name + "」退回「" + r.Station.Name + "」"
	case moved:
		note += "从「" + r.Station.Name + "」转至「" + next.Station.Name + "」"
	default:
		note += "仍由「" + r.Station.Name + "」办理"
	}
	ch := s.redispatch(next, t, model.RequestEvent{Kind: model.EventEscalate, ActorRole: model.ActorSystem, Note: note}, true)
	if !moved {
		// Nowhere above to go: the station keeps it, and is reminded.
		ch.Notices = s.reminderNotices(ch.After)
	}
	ch.DueBy = t
	_, applied, err := s.apply(ctx, r, ch)
	return applied, err
}

// AutoClose closes requests resolved at least AutoCloseAfter before t that
// nobody rated (each by a conditional UPDATE, safe on every replica).
// It returns how many it closed. Errors: unavailable, internal.
func (s *Requests) AutoClose(ctx context.Context, t time.Time) (int, error) {
	if s.cfg.AutoCloseAfter <= 0 {
		return 0, nil
	}
	ids, err := s.store.ResolvedBefore(ctx, t.Add(-s.cfg.AutoCloseAfter), 200)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, id := range ids {
		r, err := s.store.GetRequest(ctx, id)
		if err != nil {
			return done, err
		}
		if r.Status != model.StatusResolved {
			continue
		}
		next := r
		next.Status = model.StatusClosed
		at := t.In(s.loc)
		next.ClosedAt = &at
		_, applied, err := s.apply(ctx, r, model.RequestChange{After: next, Event: model.RequestEvent{
			Kind: model.EventClose, ActorRole: model.ActorSystem, Note: "办结后未评价，自动关闭"}})
		if err != nil {
			return done, err
		}
		if applied {
			done++
		}
	}
	return done, nil
}

// Reconcile rebuilds the queues and the deadline set from MySQL (at
// start-up, and whenever Redis lost them). It returns the number of open
// requests. Errors: unavailable, internal.
func (s *Requests) Reconcile(ctx context.Context) (int, error) {
	s.needRebuild.Store(false)
	n, err := s.store.RebuildDispatchIndex(ctx)
	if err != nil {
		s.needRebuild.Store(true)
		return n, err
	}
	s.log.Info("dispatch queues rebuilt from MySQL", "open_requests", n)
	return n, nil
}

// Sweep is the periodic safety net: it rebuilds the queues when Redis lost
// them (the index marker is gone) or a Redis update failed, puts overdue
// dispatched requests missing from the deadline set back into it and, when
// it did not just rebuild them, open requests missing from their holder's
// queue back into it, and closes
// resolved requests due to close. Errors: unavailable, internal.
func (s *Requests) Sweep(ctx context.Context, t time.Time) error {
	present, err := s.store.DispatchIndexPresent(ctx)
	if err != nil {
		return err
	}
	rebuilt := !present || s.needRebuild.Load()
	if rebuilt {
		if _, err := s.Reconcile(ctx); err != nil {
			return err
		}
	}
	overdue, err := s.store.OverdueRequests(ctx, t, 1000)
	if err != nil {
		return err
	}
	if n, err := s.store.RestoreDeadlines(ctx, overdue); err != nil {
		return err
	} else if n > 0 {
		s.log.Warn("overdue requests were missing from the deadline set", "restored", n)
	}
	if !rebuilt {
		if n, err := s.store.RestoreQueueEntries(ctx); err != nil {
			return err
		} else if n > 0 {
			s.log.Warn("open requests were missing from their queues", "restored", n)
		}
	}
	_, err = s.AutoClose(ctx, t)
	return err
}

// requestRebuild asks the maintenance loop to rebuild the queues from MySQL
// now (a Redis update failed after a commit, or the index is gone).
func (s *Requests) requestRebuild() {
	s.needRebuild.Store(true)
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// RunEscalation runs EscalateDue every EscalationEvery until ctx ends. It is
// safe to run on every replica.
func (s *Requests) RunEscalation(ctx context.Context) {
	tick := time.NewTicker(s.cfg.EscalationEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := s.EscalateDue(ctx, s.now()); err != nil && ctx.Err() == nil {
				s.log.Warn("escalation loop", "err", err)
			}
		}
	}
}

// redisLossCheckEvery is how often the maintenance loop asks Redis (one
// EXISTS) whether it lost the dispatch index, so a Redis restarted empty is
// rebuilt within seconds, not at the next sweep.
const redisLossCheckEvery = time.Second

// RunMaintenance rebuilds the queues from MySQL at start-up, then runs Sweep
// every SweepEvery, at once when a Redis update failed, and as soon as the
// index marker is found missing, until ctx ends.
func (s *Requests) RunMaintenance(ctx context.Context) {
	if _, err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("start-up reconcile failed; the sweep will retry", "err", err)
	}
	tick := time.NewTicker(s.cfg.SweepEvery)
	defer tick.Stop()
	check := time.NewTicker(redisLossCheckEvery)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.kick:
		case <-check.C:
			if present, err := s.store.DispatchIndexPresent(ctx); err != nil || present {
				continue
			}
			s.log.Warn("dispatch index missing in Redis; rebuilding from MySQL")
		}
		if err := s.Sweep(ctx, s.now()); err != nil && ctx.Err() == nil {
			s.log.Warn("dispatch sweep", "err", err)
		}
	}
}
