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
type stationAdminCache struct {
	store RequestStore
	now   func() time.Time

	mu      sync.Mutex
	entries map[int64]stationAdminEntry
}

type stationAdminEntry struct {
	users []int64
	at    time.Time
}

func newStationAdminCache(s *Requests) *stationAdminCache {
	return &stationAdminCache{store: s.store, now: s.cfg.Now, entries: map[int64]stationAdminEntry{}}
}

// admins returns the admins of a station, read at most stationAdminsTTL ago.
// Errors: the store's.
func (c *stationAdminCache) admins(ctx context.Context, stationID int64) ([]int64, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[stationID]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < stationAdminsTTL {
		return e.users, nil
	}
	got, err := c.store.StationStaff(ctx, []int64{stationID}, stationAdmins)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.entries[stationID] = stationAdminEntry{users: got[stationID], at: now}
	c.mu.Unlock()
	return got[stationID], nil
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
