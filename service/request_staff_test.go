package service_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/store"
)

// staffReads counts the reads of station staff and fails them on demand.
type staffReads struct {
	*store.Store
	reads atomic.Int64
	fail  atomic.Bool
}

func (s *staffReads) StationStaff(ctx context.Context, stationIDs []int64, roles []model.RoleName) (map[int64][]int64, error) {
	s.reads.Add(1)
	if s.fail.Load() {
		return nil, model.Errorf(model.CodeUnavailable, "数据库繁忙")
	}
	return s.Store.StationStaff(ctx, stationIDs, roles)
}

// TestSubmitTellsStationAdminsReadWithinTheCacheTime: the admins a submit
// tells are read once for a while and reused by the submits that follow;
// an admin appointed meanwhile is told from the first submit after that
// while; and when they cannot be read, the submit's transaction reads them
// itself, so nobody is left untold.
func TestSubmitTellsStationAdminsReadWithinTheCacheTime(t *testing.T) {
	f := newDispatch(t, nil)
	ctx := context.Background()
	staff := &staffReads{Store: f.st}
	svc := f.serviceOver(staff, nil, f.cfg)
	submit := func() int64 {
		t.Helper()
		r, err := svc.Submit(ctx, resident(100), needInput("需要上门探访"), nil)
		if err != nil || r.Station.ID != 3 {
			t.Fatalf("submit: %+v %v", r.Station, err)
		}
		return r.ID
	}
	told := func(user, request int64) bool {
		t.Helper()
		n := f.count(t, `SELECT COUNT(*) FROM notifications WHERE user_id = ? AND ref_id = ? AND kind = 'request_dispatched'`, user, request)
		if n > 1 {
			t.Fatalf("user %d, request %d: %d messages", user, request, n)
		}
		return n == 1
	}

	first := stationAdmin(t, f, "dev_cache_admin1", 3)
	r1 := submit()
	r2 := submit()
	if !told(first, r1) || !told(first, r2) || staff.reads.Load() != 1 {
		t.Fatalf("told %v %v after %d reads, want both after one", told(first, r1), told(first, r2), staff.reads.Load())
	}
	second := stationAdmin(t, f, "dev_cache_admin2", 3)
	f.clock.Advance(5 * time.Second)
	r3 := submit()
	if !told(first, r3) || !told(second, r3) || staff.reads.Load() != 2 {
		t.Fatalf("after the cache time: told %v %v after %d reads", told(first, r3), told(second, r3), staff.reads.Load())
	}
	staff.fail.Store(true)
	f.clock.Advance(5 * time.Second)
	r4 := submit()
	if !told(first, r4) || !told(second, r4) {
		t.Fatalf("with the read failing: told %v %v", told(first, r4), told(second, r4))
	}
}
