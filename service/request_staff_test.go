package service_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/service"
	"jindalai/store"
)

// staffReads counts the reads of station admins, fails them on demand and
// makes each take at least slow.
type staffReads struct {
	*store.Store
	reads atomic.Int64
	fail  atomic.Bool
	slow  time.Duration
}

func (s *staffReads) StationAdmins(ctx context.Context, stationID int64) ([]int64, error) {
	s.reads.Add(1)
	time.Sleep(s.slow)
	if s.fail.Load() {
		return nil, model.Errorf(model.CodeUnavailable, "数据库繁忙")
	}
	return s.Store.StationAdmins(ctx, stationID)
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

// TestSubmitsMissingTheAdminCacheShareOneRead: concurrent submits that find
// a station's admins unread wait for the one read under way.
func TestSubmitsMissingTheAdminCacheShareOneRead(t *testing.T) {
	f := batched(t, 20*time.Millisecond, 64, 1)
	admin := stationAdmin(t, f, "dev_shared_admin", 3)
	staff := &staffReads{Store: f.st, slow: 50 * time.Millisecond}
	f.svc = f.serviceOver(staff, nil, f.cfg)
	got := submitAll(f, 8, func(i int) int64 { return int64(700 + i) }, func(int) service.SubmitInput { return needInput("同时提交") },
		func(int) *model.Idempotency { return nil })
	for i, s := range got {
		if s.err != nil {
			t.Fatalf("submit %d: %v", i, s.err)
		}
	}
	if n := staff.reads.Load(); n != 1 {
		t.Fatalf("%d reads of the admins for 8 submits at once", n)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM notifications WHERE user_id = ? AND kind = 'request_dispatched'`, admin); n != 8 {
		t.Fatalf("the admin was told of %d requests, want 8", n)
	}
}

// TestAdminReadOutlivesTheSubmitThatStartedIt: the read of a station's
// admins that one submit starts serves the others even when that submit
// goes away meanwhile: it is not cut short, and the next submits use it.
func TestAdminReadOutlivesTheSubmitThatStartedIt(t *testing.T) {
	f := batched(t, 20*time.Millisecond, 64, 1)
	admin := stationAdmin(t, f, "dev_outlived_admin", 3)
	staff := &staffReads{Store: f.st, slow: 100 * time.Millisecond}
	f.svc = f.serviceOver(staff, nil, f.cfg)
	gone, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := f.svc.Submit(gone, resident(710), needInput("先走了"), nil); !model.IsCode(err, model.CodeUnavailable) {
		t.Fatalf("the submit that went away: %v, want unavailable", err)
	}
	r, err := f.svc.Submit(context.Background(), resident(711), needInput("后来的"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := staff.reads.Load(); n != 1 {
		t.Fatalf("%d reads of the admins, want the first one's to serve", n)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM notifications WHERE user_id = ? AND ref_id = ? AND kind = 'request_dispatched'`, admin, r.ID); n != 1 {
		t.Fatalf("the admin was told %d times", n)
	}
}
