package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"jindalai/model"
)

// maintenanceStore is the part of RequestStore the maintenance loop uses
// (the embedded nil interface panics if the loop calls anything else). Each
// call is reported on calls as "present", "rebuild", "overdue", "restore",
// "resolved" or "close <id>"; the failure fields make the next calls fail.
type maintenanceStore struct {
	RequestStore
	calls chan string

	mu           sync.Mutex
	present      bool
	failRebuilds int
	rebuilds     int
	failOverdue  int
	blockOverdue bool
	resolved     []int64
	cutoffs      []time.Time
}

var errStoreDown = errors.New("store down")

func newMaintenanceStore() *maintenanceStore {
	return &maintenanceStore{calls: make(chan string, 10000), present: true}
}

func (f *maintenanceStore) record(call string) {
	select {
	case f.calls <- call:
	default:
	}
}

func (f *maintenanceStore) set(change func(f *maintenanceStore)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func (f *maintenanceStore) DispatchIndexPresent(ctx context.Context) (bool, error) {
	f.record("present")
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.present, nil
}

// RebuildDispatchIndex reports its call after its effect, so a test that
// saw "rebuild" may change the index marker without racing it.
func (f *maintenanceStore) RebuildDispatchIndex(ctx context.Context) (int, error) {
	defer f.record("rebuild")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rebuilds++
	if f.failRebuilds > 0 {
		f.failRebuilds--
		return 0, errStoreDown
	}
	f.present = true
	return 3, nil
}

func (f *maintenanceStore) OverdueRequests(ctx context.Context, t time.Time, limit int) ([]model.Request, error) {
	f.record("overdue")
	f.mu.Lock()
	block := f.blockOverdue
	fail := f.failOverdue > 0
	if fail {
		f.failOverdue--
	}
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if fail {
		return nil, errStoreDown
	}
	return []model.Request{{ID: 1, Status: model.StatusDispatched}}, nil
}

func (f *maintenanceStore) RestoreDeadlines(ctx context.Context, rs []model.Request) (int64, error) {
	f.record("restore")
	return 0, nil
}

func (f *maintenanceStore) RestoreQueueEntries(ctx context.Context) (int64, error) {
	f.record("queues")
	return 0, nil
}

func (f *maintenanceStore) ResolvedBefore(ctx context.Context, t time.Time, limit int) ([]int64, error) {
	f.record("resolved")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cutoffs = append(f.cutoffs, t)
	ids := f.resolved
	f.resolved = nil
	return ids, nil
}

func (f *maintenanceStore) GetRequest(ctx context.Context, id int64) (model.Request, error) {
	return model.Request{ID: id, Status: model.StatusResolved, Station: model.StationRef{ID: 2}}, nil
}

func (f *maintenanceStore) UpdateRequest(ctx context.Context, ch model.RequestChange) (model.Request, bool, error) {
	if ch.After.Status == model.StatusClosed && ch.Event.Kind == model.EventClose {
		f.record(fmt.Sprintf("close %d", ch.After.ID))
	}
	return ch.After, true, nil
}

func (f *maintenanceStore) PlaceRequest(ctx context.Context, before *model.Request, after model.Request) error {
	return nil
}

// maintenanceClock is the fixed time the loops see.
var maintenanceClock = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

// startMaintenance runs RunMaintenance over f with sweeps every sweepEvery;
// stop cancels it and fails the test unless it returns within 5 seconds.
func startMaintenance(t *testing.T, f *maintenanceStore, sweepEvery time.Duration) (s *Requests, logs *syncBuffer, stop func()) {
	t.Helper()
	logs = &syncBuffer{}
	s = NewRequests(f, nil, nil, nil, RequestsConfig{SweepEvery: sweepEvery, AutoCloseAfter: 72 * time.Hour, SubmitBatchMax: 1,
		Now: func() time.Time { return maintenanceClock }}, time.UTC, slog.New(slog.NewTextHandler(logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunMaintenance(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("RunMaintenance did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return s, logs, stop
}

// await reads calls until want, failing the test after 5 seconds; it
// returns the calls read before it.
func await(t *testing.T, f *maintenanceStore, want string) []string {
	t.Helper()
	var seen []string
	timeout := time.After(5 * time.Second)
	for {
		select {
		case c := <-f.calls:
			if c == want {
				return seen
			}
			seen = append(seen, c)
		case <-timeout:
			t.Fatalf("no %q call within 5s; saw %v", want, seen)
		}
	}
}

// drain forgets the calls reported so far.
func drain(f *maintenanceStore) {
	for {
		select {
		case <-f.calls:
		default:
			return
		}
	}
}

func TestMaintenanceRebuildsAtStartThenSweepsOnEveryTick(t *testing.T) {
	f := newMaintenanceStore()
	f.resolved = []int64{7}
	_, logs, stop := startMaintenance(t, f, 10*time.Millisecond)
	if before := await(t, f, "rebuild"); len(before) != 0 {
		t.Fatalf("calls before the start-up rebuild: %v", before)
	}
	// A sweep: the index is checked, overdue requests restored to the
	// deadline set, resolved ones closed.
	seen := await(t, f, "close 7")
	for _, want := range []string{"present", "overdue", "restore", "queues", "resolved"} {
		if !slices.Contains(seen, want) {
			t.Fatalf("first sweep: calls %v lack %q", seen, want)
		}
	}
	for range 3 {
		if seen := await(t, f, "resolved"); !slices.Contains(seen, "overdue") {
			t.Fatalf("a later sweep: calls %v", seen)
		}
	}
	stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rebuilds != 1 {
		t.Fatalf("%d rebuilds, want 1 (at start-up): the index was present and no rebuild was asked for", f.rebuilds)
	}
	if want := maintenanceClock.Add(-72 * time.Hour); !f.cutoffs[0].Equal(want) {
		t.Fatalf("auto-close of requests resolved before %s, want %s", f.cutoffs[0], want)
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("warnings in a clean run:\n%s", logs)
	}
}

func TestMaintenanceRebuildsAtOnceWhenAsked(t *testing.T) {
	f := newMaintenanceStore()
	s, _, _ := startMaintenance(t, f, time.Hour)
	await(t, f, "rebuild")
	drain(f)
	// No tick for an hour and the index is present: only the request can
	// make the loop rebuild.
	s.requestRebuild()
	if seen := await(t, f, "rebuild"); !slices.Contains(seen, "present") {
		t.Fatalf("the rebuild was not a sweep's: calls before it %v", seen)
	}
	if seen := await(t, f, "resolved"); !slices.Contains(seen, "overdue") {
		t.Fatalf("the sweep after the rebuild: %v", seen)
	}
	if s.needRebuild.Load() {
		t.Fatal("the rebuild request is still pending after the rebuild")
	}
}

func TestMaintenanceRebuildsWhenTheIndexIsFoundMissing(t *testing.T) {
	f := newMaintenanceStore()
	startMaintenance(t, f, time.Hour)
	await(t, f, "rebuild")
	// Redis restarted empty: the next check (every redisLossCheckEvery)
	// finds the marker gone and rebuilds, long before the hourly sweep.
	f.set(func(f *maintenanceStore) { f.present = false })
	await(t, f, "rebuild")
	await(t, f, "resolved")
}

func TestMaintenanceLogsAFailedRoundAndGoesOn(t *testing.T) {
	f := newMaintenanceStore()
	f.failRebuilds = 1
	f.failOverdue = 1
	_, logs, stop := startMaintenance(t, f, 10*time.Millisecond)
	// The start-up rebuild fails: it is logged, and the first sweep retries
	// it although the index marker is present.
	await(t, f, "rebuild")
	await(t, f, "rebuild")
	// That sweep fails on the overdue requests: logged; the next one runs
	// to its end.
	await(t, f, "overdue")
	if seen := await(t, f, "resolved"); !slices.Contains(seen, "overdue") || !slices.Contains(seen, "restore") {
		t.Fatalf("the sweep after the failed one: %v", seen)
	}
	stop()
	out := logs.String()
	if !strings.Contains(out, "start-up reconcile failed") || !strings.Contains(out, "dispatch sweep") ||
		strings.Count(out, errStoreDown.Error()) != 2 {
		t.Fatalf("want the failed reconcile and the failed sweep logged once each, got:\n%s", out)
	}
}

func TestMaintenanceReturnsWhenItsContextEndsMidSweep(t *testing.T) {
	f := newMaintenanceStore()
	f.blockOverdue = true
	_, logs, stop := startMaintenance(t, f, 10*time.Millisecond)
	await(t, f, "overdue")
	stop()
	if strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("the cancelled sweep was logged as a failure:\n%s", logs)
	}
}

// TestSweepRestoresQueueEntriesUnlessItRebuilt: a sweep that finds the
// index present repairs missing queue entries; one that rebuilt the queues
// from MySQL (which put every open request back) skips that second pass.
func TestSweepRestoresQueueEntriesUnlessItRebuilt(t *testing.T) {
	for _, present := range []bool{true, false} {
		f := newMaintenanceStore()
		f.present = present
		s := NewRequests(f, nil, nil, nil, RequestsConfig{AutoCloseAfter: 72 * time.Hour, SubmitBatchMax: 1,
			Now: func() time.Time { return maintenanceClock }}, time.UTC, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := s.Sweep(context.Background(), maintenanceClock); err != nil {
			t.Fatal(err)
		}
		close(f.calls)
		var calls []string
		for c := range f.calls {
			calls = append(calls, c)
		}
		got := strings.Join(calls, " ")
		if rebuilt := strings.Contains(got, "rebuild"); rebuilt == present || strings.Contains(got, "queues") != present {
			t.Errorf("index present %v: calls %q", present, got)
		}
	}
}
