package service_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/model"
	"jindalai/service"
)

// listCounter counts the in-process copy's reloads (one ListStations each)
// and fails them on demand.
type listCounter struct {
	service.StationStore
	lists atomic.Int64
	fail  atomic.Bool
}

func (l *listCounter) ListStations(ctx context.Context) ([]model.Station, error) {
	l.lists.Add(1)
	if l.fail.Load() {
		return nil, model.Errorf(model.CodeUnavailable, "数据库繁忙")
	}
	return l.StationStore.ListStations(ctx)
}

// TestMatchRanksWithTheLoopsQueueLengths: with QueueLengthsEvery set, a
// match ranks with the queue lengths the loop read last (a queue changed
// since counts from the next read, except what this replica queued, which
// counts at once; with no read yet, the match reads them itself); a read
// that finds a newer data version reloads the copy, and one made before the
// copy's last reload never sends it back.
func TestMatchRanksWithTheLoopsQueueLengths(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	cfg := matchConfig()
	cfg.QueueLengthsEvery = time.Hour
	counter := &listCounter{StationStore: c.st}
	svc := service.NewStations(counter, c.st, cfg, c.st.Loc, discardLog())
	// Between A and B, as in TestMatchBusyStationLosesToSlightlyFartherIdleOne.
	p := model.Point{Lat: 42.9225, Lng: 129.5030}
	first := func(when string) int64 {
		t.Helper()
		r, err := svc.Match(ctx, p, "home_visit")
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		return r.Stations[0].Station.ID
	}
	refresh := func() {
		t.Helper()
		if err := service.RefreshQueueLengths(ctx, svc); err != nil {
			t.Fatal(err)
		}
	}
	queueA := c.st.Keys.StationQueue(c.pointA)
	c.st.Redis.ZAdd(ctx, queueA, redis.Z{Score: 1, Member: "101"}, redis.Z{Score: 2, Member: "102"})
	if got := first("no read yet"); got != c.pointB {
		t.Fatalf("no read yet: %d first, want B (A's queue read by the match)", got)
	}
	refresh()
	c.st.Redis.Del(ctx, queueA)
	if got := first("A emptied since the read"); got != c.pointB {
		t.Fatalf("A emptied since the read: %d first, want B (the read's lengths)", got)
	}
	refresh()
	if got := first("after the next read"); got != c.pointA {
		t.Fatalf("after the next read: %d first, want A", got)
	}
	// What this replica queues counts at once, until the next read.
	svc.Queued(c.pointA)
	svc.Queued(c.pointA)
	if got := first("two queued here"); got != c.pointB {
		t.Fatalf("two queued here since the read: %d first, want B", got)
	}
	refresh()
	if got := first("read again"); got != c.pointA {
		t.Fatalf("read again (the two never reached Redis): %d first, want A", got)
	}

	// Another replica closes A: the next read sees the version and reloads.
	c.closeElsewhere(t, c.pointA)
	refresh()
	loads := counter.lists.Load()
	if got := first("A closed"); got == c.pointA {
		t.Fatal("A closed: still matched after the read found the new version")
	}
	if counter.lists.Load() != loads {
		t.Fatal("the match reloaded the copy: the read should have")
	}

	// A view read before a reload does not send the copy back.
	if err := c.st.BumpStationsVersion(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	loads = counter.lists.Load()
	first("after a reload")
	first("after a reload, again")
	if n := counter.lists.Load() - loads; n != 0 {
		t.Fatalf("the copy reloaded %d times after it was newer than the view", n)
	}
}

// TestQueueLengthsLoop: the loop reads the lengths every interval and
// matches rank with its reads (with Redis's lengths failing, a match right
// after a read still ranks); the loop ends with its context, and at once
// when QueueLengthsEvery is 0.
func TestQueueLengthsLoop(t *testing.T) {
	c := newCity(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := matchConfig()
	cfg.QueueLengthsEvery = 100 * time.Millisecond
	geo := &countingGeo{Store: c.st}
	svc := service.NewStations(c.st, geo, cfg, c.st.Loc, discardLog())
	done := make(chan struct{})
	go func() { svc.QueueLengthsLoop(ctx); close(done) }()
	for deadline := time.Now().Add(5 * time.Second); geo.lengths.Load() < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d reads in 5 s at one per 100 ms", geo.lengths.Load())
		}
	}
	geo.failLengths.Store(true)
	if _, err := svc.Match(ctx, nearBeishanA, "home_visit"); err != nil {
		t.Fatalf("a match right after the loop's read: %v", err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not end with its context")
	}
	off := service.NewStations(c.st, c.st, matchConfig(), c.st.Loc, discardLog())
	ended := make(chan struct{})
	go func() { off.QueueLengthsLoop(context.Background()); close(ended) }()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop ran with QueueLengthsEvery 0")
	}
}

// TestQueueLengthViewFallbacks: a failed read keeps the view and what this
// replica queued since; a match reads the lengths itself (here failing)
// once the view is too old, or when it found a station the view's copy
// could not rank.
func TestQueueLengthViewFallbacks(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	cfg := matchConfig()
	cfg.QueueLengthsEvery = 100 * time.Millisecond
	geo := &countingGeo{Store: c.st}
	svc := service.NewStations(c.st, geo, cfg, c.st.Loc, discardLog())
	p := model.Point{Lat: 42.9225, Lng: 129.5030}
	first := func() (int64, error) {
		r, err := svc.Match(ctx, p, "home_visit")
		if err != nil {
			return 0, err
		}
		return r.Stations[0].Station.ID, nil
	}
	if err := service.RefreshQueueLengths(ctx, svc); err != nil {
		t.Fatal(err)
	}
	svc.Queued(c.pointA)
	svc.Queued(c.pointA)
	geo.failLengths.Store(true)
	if err := service.RefreshQueueLengths(ctx, svc); err == nil {
		t.Fatal("a failed read reported no error")
	}
	if got, err := first(); err != nil || got != c.pointB {
		t.Fatalf("after a failed read: %d %v, want B (the two queued here still count)", got, err)
	}
	time.Sleep(450 * time.Millisecond)
	if _, err := first(); !model.IsCode(err, model.CodeUnavailable) {
		t.Fatalf("a view four intervals old served a match (err %v)", err)
	}

	geo.failLengths.Store(false)
	if err := service.RefreshQueueLengths(ctx, svc); err != nil {
		t.Fatal(err)
	}
	// A station opened since the read, next to p: the view never read it.
	if _, err := c.st.CreateStation(ctx, nil, model.Station{Name: "新开社工点", Level: 3, ParentID: &c.beishan,
		Lat: p.Lat, Lng: p.Lng, RadiusM: 1500, Categories: []string{"home_visit"}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	geo.failLengths.Store(true)
	if _, err := first(); !model.IsCode(err, model.CodeUnavailable) {
		t.Fatalf("a station the view could not rank was ranked from it (err %v)", err)
	}
}

// TestQueueLengthViewVersion: a read that finds a newer version but cannot
// reload keeps the copy, and the matches that follow neither reload nor
// read the version themselves; with a fresh view, a match for a category
// the copy does not know learns the version from the view, not Redis.
func TestQueueLengthViewVersion(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	cfg := matchConfig()
	cfg.QueueLengthsEvery = time.Hour
	counter := &listCounter{StationStore: c.st}
	geo := &countingGeo{Store: c.st}
	svc := service.NewStations(counter, geo, cfg, c.st.Loc, discardLog())
	if err := service.RefreshQueueLengths(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Match(ctx, nearBeishanA, "home_visit"); err != nil {
		t.Fatal(err)
	}
	versions := geo.versions.Load()
	if _, err := svc.Match(ctx, nearBeishanA, "no_such_service"); !model.IsCode(err, model.CodeInvalid) {
		t.Fatalf("an unknown category: %v, want invalid_argument", err)
	}
	if n := geo.versions.Load() - versions; n != 0 {
		t.Fatalf("an unknown category read the version from Redis %d times with a fresh view", n)
	}

	c.closeElsewhere(t, c.pointA)
	counter.fail.Store(true)
	if err := service.RefreshQueueLengths(ctx, svc); err == nil {
		t.Fatal("a read whose reload failed reported no error")
	}
	lists := counter.lists.Load()
	for range 3 {
		r, err := svc.Match(ctx, nearBeishanA, "home_visit")
		if err != nil || r.Stations[0].Station.ID != c.pointA {
			t.Fatalf("after a failed reload: %+v %v, want the copy's answer (A)", r.Stations, err)
		}
	}
	if n := counter.lists.Load() - lists; n != 0 {
		t.Fatalf("matches tried the reload %d times after the read's failed", n)
	}
}
