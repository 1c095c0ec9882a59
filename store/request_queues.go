package store

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/model"
)

// OrgQueue is an organization's queue: the ids of requests transferred to it
// and not yet accepted, scored like a station queue.
func (k Keys) OrgQueue(orgID int64) string {
	return k.prefix + "queue:{org:" + strconv.FormatInt(orgID, 10) + "}"
}

// DispatchIndexMarker exists while the queues and the deadline set are known
// to be complete: it is set by a rebuild, so its absence means Redis lost its
// data (or was never filled) and the reconciler must rebuild from MySQL.
func (k Keys) DispatchIndexMarker() string { return k.prefix + "dispatch:indexed" }

// queueOf returns the queue key where r belongs ("" when it is in none) and
// whether it belongs in the deadline set: a dispatched request sits in its
// holder's queue with a deadline; a reopened one in its station's queue
// without (the station must take it back; nothing escalates it).
func (s *Store) queueOf(r *model.Request) (key string, deadline bool) {
	if r == nil {
		return "", false
	}
	switch {
	case r.Status == model.StatusDispatched && r.OrgID() != 0:
		return s.Keys.OrgQueue(r.OrgID()), true
	case r.Status == model.StatusDispatched:
		return s.Keys.StationQueue(r.Station.ID), true
	case r.Status == model.StatusReopened:
		return s.Keys.StationQueue(r.Station.ID), false
	}
	return "", false
}

// PlaceRequest moves a request's Redis entries from where before had them
// (nil for a new request) to where after needs them: its holder's queue and
// the deadline set, in one pipelined round trip.
//
// Two changes of one request commit in order, but their Redis updates may
// arrive in either order (two workers, two replicas). So an update removes
// only the entries that are still before's — same score (dropStaleScript) —
// never ones a later change wrote: applied late, it leaves at worst a stale
// entry, which queue readers drop and escalation ignores, not a dispatched
// request missing from its holder's queue. Errors: unavailable.
func (s *Store) PlaceRequest(ctx context.Context, before *model.Request, after model.Request) error {
	oldKey, _ := s.queueOf(before)
	newKey, deadline := s.queueOf(&after)
	member := strconv.FormatInt(after.ID, 10)
	err := pipelineScripts(ctx, s.Redis, func(pipe redis.Pipeliner, eval scriptCall) {
		if oldKey != "" && oldKey != newKey {
			eval(dropStaleScript, []string{oldKey}, member, before.QueueScore())
		}
		if newKey != "" {
			pipe.ZAdd(ctx, newKey, redis.Z{Score: float64(after.QueueScore()), Member: member})
		}
		if deadline {
			pipe.ZAdd(ctx, s.Keys.DispatchDeadlines(), redis.Z{Score: float64(after.AcceptBy.UnixMilli()), Member: member})
		} else if before != nil {
			eval(dropStaleScript, []string{s.Keys.DispatchDeadlines()}, member, before.AcceptBy.UnixMilli())
		}
	})
	return translateRedis(err)
}

// claimDueScript hands each due request id to exactly one caller.
// KEYS[1]: the deadline set (member: request id, score: accept-by Unix ms).
// ARGV[1]: now (Unix ms); ARGV[2]: the most ids to claim.
// It returns the ids scored at or before now, oldest first, after removing
// them in the same atomic step: a concurrent caller cannot get them too.
var claimDueScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids > 0 then
  redis.call('ZREM', KEYS[1], unpack(ids))
end
return ids
`)

// ClaimDueRequests removes and returns up to n request ids whose accept-by
// deadline is at or before t; each id goes to one caller only.
// Errors: unavailable.
func (s *Store) ClaimDueRequests(ctx context.Context, t time.Time, n int) ([]int64, error) {
	raw, err := claimDueScript.Run(ctx, s.Redis, []string{s.Keys.DispatchDeadlines()}, t.UnixMilli(), n).StringSlice()
	if err != nil {
		return nil, translateRedis(err)
	}
	return parseIDs(raw), nil
}

// SetDeadline puts a request id in the deadline set with the given time
// (used to retry an escalation that failed). Errors: unavailable.
func (s *Store) SetDeadline(ctx context.Context, id int64, at time.Time) error {
	return translateRedis(s.Redis.ZAdd(ctx, s.Keys.DispatchDeadlines(),
		redis.Z{Score: float64(at.UnixMilli()), Member: strconv.FormatInt(id, 10)}).Err())
}

// RestoreDeadlines adds the given requests' deadlines (by AcceptBy) that the
// set lacks, leaving present entries alone; it returns how many it added.
// Errors: unavailable.
func (s *Store) RestoreDeadlines(ctx context.Context, rs []model.Request) (int64, error) {
	if len(rs) == 0 {
		return 0, nil
	}
	zs := make([]redis.Z, len(rs))
	for i, r := range rs {
		zs[i] = redis.Z{Score: float64(r.AcceptBy.UnixMilli()), Member: strconv.FormatInt(r.ID, 10)}
	}
	n, err := s.Redis.ZAddNX(ctx, s.Keys.DispatchDeadlines(), zs...).Result()
	return n, translateRedis(err)
}

// QueueEntries returns up to limit entries of a queue (station queue when
// orgID is 0, else the organization's) in queue order — score, then id
// numerically — strictly after the cursor, and whether more follow; present
// tells whether the rebuild marker exists, read in the same round trip as
// the first page (when false, the entries are not to be trusted and none
// are returned; unlike DispatchIndexPresent, the session near cache is left
// to the maintenance loop's check). Errors: unavailable.
func (s *Store) QueueEntries(ctx context.Context, stationID, orgID int64, after *model.QueueCursor, limit int) (entries []model.QueueCursor, more, present bool, err error) {
	key := s.Keys.StationQueue(stationID)
	if orgID != 0 {
		key = s.Keys.OrgQueue(orgID)
	}
	min := "-inf"
	if after != nil {
		min = strconv.FormatInt(after.Score, 10)
	}
	var got []model.QueueCursor
	batch := int64(limit + 1)
	for offset := int64(0); ; offset += batch {
		args := redis.ZRangeArgs{Key: key, Start: min, Stop: "+inf", ByScore: true, Offset: offset, Count: batch}
		var zs []redis.Z
		if offset == 0 {
			var marker *redis.IntCmd
			var page *redis.ZSliceCmd
			if _, err := s.Redis.Pipelined(ctx, func(pipe redis.Pipeliner) error {
				marker = pipe.Exists(ctx, s.Keys.DispatchIndexMarker())
				page = pipe.ZRangeArgsWithScores(ctx, args)
				return nil
			}); err != nil {
				return nil, false, false, translateRedis(err)
			}
			if marker.Val() == 0 {
				return nil, false, false, nil
			}
			zs = page.Val()
		} else if zs, err = s.Redis.ZRangeArgsWithScores(ctx, args).Result(); err != nil {
			return nil, false, false, translateRedis(err)
		}
		for _, z := range zs {
			c, ok := entryOf(z)
			if ok && (after == nil || c.Score > after.Score || c.ID > after.ID) {
				got = append(got, c)
			}
		}
		if int64(len(zs)) < batch {
			break
		}
		if len(got) > limit {
			// Redis orders equal scores by member text; complete the last
			// score group so the numeric order below is exact.
			last := zs[len(zs)-1].Score
			rest, err := s.Redis.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: key, ByScore: true,
				Start: strconv.FormatFloat(last, 'f', -1, 64), Stop: strconv.FormatFloat(last, 'f', -1, 64)}).Result()
			if err != nil {
				return nil, false, false, translateRedis(err)
			}
			seen := map[int64]bool{}
			for _, c := range got {
				seen[c.ID] = true
			}
			for _, z := range rest {
				if c, ok := entryOf(z); ok && !seen[c.ID] && (after == nil || c.Score > after.Score || c.ID > after.ID) {
					got = append(got, c)
				}
			}
			break
		}
	}
	sort.Slice(got, func(i, j int) bool {
		if got[i].Score != got[j].Score {
			return got[i].Score < got[j].Score
		}
		return got[i].ID < got[j].ID
	})
	if len(got) > limit {
		return got[:limit], true, true, nil
	}
	return got, false, true, nil
}

func entryOf(z redis.Z) (model.QueueCursor, bool) {
	m, _ := z.Member.(string)
	id, err := strconv.ParseInt(m, 10, 64)
	return model.QueueCursor{Score: int64(z.Score), ID: id}, err == nil
}

// dropStaleScript removes entries of a sorted set (a queue, or the deadline
// set) that a reader found stale or an update moves away, unless they were
// re-added meanwhile (with another score).
// KEYS[1]: the sorted set. ARGV: pairs of member, score expected.
// It removes each member whose score is still the one expected; returns the count.
var dropStaleScript = redis.NewScript(`
local n = 0
for i = 1, #ARGV, 2 do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) == tonumber(ARGV[i + 1]) then
    n = n + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return n
`)

// DropStaleQueueEntries removes entries of a queue that no longer match
// MySQL (the request moved on and a Redis update was lost).
// Errors: unavailable.
func (s *Store) DropStaleQueueEntries(ctx context.Context, stationID, orgID int64, stale []model.QueueCursor) error {
	if len(stale) == 0 {
		return nil
	}
	key := s.Keys.StationQueue(stationID)
	if orgID != 0 {
		key = s.Keys.OrgQueue(orgID)
	}
	args := make([]any, 0, 2*len(stale))
	for _, c := range stale {
		args = append(args, strconv.FormatInt(c.ID, 10), c.Score)
	}
	return translateRedis(dropStaleScript.Run(ctx, s.Redis, []string{key}, args...).Err())
}

// DispatchIndexPresent reports whether the rebuild marker exists; false means
// Redis lost the queues and deadlines — and the sessions, which the session
// near cache then forgets too. Errors: unavailable.
func (s *Store) DispatchIndexPresent(ctx context.Context) (bool, error) {
	n, err := s.Redis.Exists(ctx, s.Keys.DispatchIndexMarker()).Result()
	if err == nil && n == 0 {
		s.sessions.forgetAll()
	}
	return n == 1, translateRedis(err)
}

// RestoreQueueEntries puts every open request that its holder's queue lacks
// back in it, leaving present entries alone (ZADD NX), and returns how many
// it added: the sweep's repair of an entry a lost or reordered update took
// away. An entry added for a request that moves meanwhile is only stale,
// which queue readers drop. It pages through the open requests as
// RebuildDispatchIndex does, a pipeline per page. Errors: unavailable,
// internal.
func (s *Store) RestoreQueueEntries(ctx context.Context) (int64, error) {
	var added int64
	err := s.eachOpenPage(ctx, func(page []model.Request) error {
		var cmds []*redis.IntCmd
		_, err := s.Redis.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i := range page {
				if key, _ := s.queueOf(&page[i]); key != "" {
					cmds = append(cmds, pipe.ZAddNX(ctx, key, redis.Z{Score: float64(page[i].QueueScore()),
						Member: strconv.FormatInt(page[i].ID, 10)}))
				}
			}
			return nil
		})
		for _, c := range cmds {
			added += c.Val()
		}
		return translateRedis(err)
	})
	return added, err
}

// RebuildDispatchIndex puts every open request back in its queue and the
// deadline set from MySQL (ZADD is idempotent, so concurrent dispatches are
// not disturbed), then sets the marker. It returns the number of open
// requests. Entries of requests that are no longer open are not removed here:
// queue readers drop them and escalation ignores them. Errors: unavailable, internal.
func (s *Store) RebuildDispatchIndex(ctx context.Context) (int, error) {
	total := 0
	err := s.eachOpenPage(ctx, func(page []model.Request) error {
		total += len(page)
		return s.PlaceNewRequests(ctx, page)
	})
	if err != nil {
		return total, err
	}
	return total, translateRedis(s.Redis.Set(ctx, s.Keys.DispatchIndexMarker(), time.Now().UTC().Format(time.RFC3339), 0).Err())
}

// openRequestIDsSQL reads the ids of the open requests from the status
// index alone (ix_requests_due), never the rows of closed ones.
const openRequestIDsSQL = `SELECT id FROM requests WHERE status IN ('dispatched', 'reopened') ORDER BY id`

// eachOpenPage calls fn with the open requests (see openRequests), a
// thousand at a time by id, until they or fn's errors end. Their ids come
// first (openRequestIDsSQL), so that no page walks the requests that are no
// longer open.
func (s *Store) eachOpenPage(ctx context.Context, fn func(page []model.Request) error) error {
	ids, err := queryIDs(ctx, s.DB, openRequestIDsSQL)
	if err != nil {
		return err
	}
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		page, err := s.openRequests(ctx, ids[:n])
		if err != nil {
			return err
		}
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		ids = ids[n:]
	}
	return nil
}

func parseIDs(raw []string) []int64 {
	out := make([]int64, 0, len(raw))
	for _, m := range raw {
		if id, err := strconv.ParseInt(m, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}
