package service

import (
	"context"
	"slices"
	"sync"
	"time"

	"jindalai/model"
)

// stationAdminsTTL is how long a process keeps the admins of a station for
// the notices of new submits: an admin appointed meanwhile gets the
// request_dispatched messages of the submits that follow it by at most this
// (they see the station's queue at once). Roles are never taken away, so no
// one who lost a role is told of a request.
const stationAdminsTTL = 5 * time.Second

// stationAdminCache keeps who the admins of each station are, so that a
// submit's transaction writes its request_dispatched messages as plain rows
// rather than reading user_roles for every request of the batch — the
// batch transaction is the one part of a submit that runs one at a time.
// The submits that miss while a station's admins are being read wait for
// that read rather than making their own.
type stationAdminCache struct {
	store RequestStore
	now   func() time.Time

	mu      sync.Mutex
	entries map[int64]*stationAdminEntry
}

// stationAdminEntry is one read of a station's admins, begun at at; users
// and err are set before ready is closed.
type stationAdminEntry struct {
	at    time.Time
	ready chan struct{}
	users []int64
	err   error
}

func newStationAdminCache(s *Requests) *stationAdminCache {
	return &stationAdminCache{store: s.store, now: s.cfg.Now, entries: map[int64]*stationAdminEntry{}}
}

// stationAdminsReadTimeout bounds a read of a station's admins. The read
// runs on no caller's context: the submits waiting for it must not fail
// because the one that started it went away.
const stationAdminsReadTimeout = 5 * time.Second

// admins returns the admins of a station, read at most stationAdminsTTL ago
// (or by a read under way). Errors: the store's, unavailable when ctx ends
// first.
func (c *stationAdminCache) admins(ctx context.Context, stationID int64) ([]int64, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[stationID]
	if !ok || e.expired(now) {
		e = &stationAdminEntry{at: now, ready: make(chan struct{})}
		c.entries[stationID] = e
		go func() {
			defer close(e.ready)
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stationAdminsReadTimeout)
			defer cancel()
			e.users, e.err = c.store.StationAdmins(rctx, stationID)
		}()
	}
	c.mu.Unlock()
	select {
	case <-e.ready:
		return e.users, e.err
	case <-ctx.Done():
		return nil, model.Wrap(model.CodeUnavailable, ctx.Err(), "请求已取消")
	}
}

// expired reports whether a new read is due: this one ended, and failed or
// is older than stationAdminsTTL.
func (e *stationAdminEntry) expired(now time.Time) bool {
	select {
	case <-e.ready:
		return e.err != nil || now.Sub(e.at) >= stationAdminsTTL
	default:
		return false
	}
}

// resolve turns the notices to a station's admins into one notice to each
// admin. A notice whose admins cannot be read now is left to the store,
// which reads them in the transaction, so a failed read loses nothing.
func (c *stationAdminCache) resolve(ctx context.Context, notices []model.RequestNotice) []model.RequestNotice {
	out := make([]model.RequestNotice, 0, len(notices))
	for _, n := range notices {
		to := n.To
		if to.UserID != 0 || to.OrgID != 0 || to.StationID == 0 || !slices.Equal(to.Roles, stationAdmins) {
			out = append(out, n)
			continue
		}
		users, err := c.admins(ctx, to.StationID)
		if err != nil {
			out = append(out, n)
			continue
		}
		for _, u := range users {
			out = append(out, model.RequestNotice{To: model.Audience{UserID: u}, Notification: n.Notification})
		}
	}
	return out
}
