package service_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/service"
)

// batched is a dispatch fixture whose submits wait up to window for the
// submits under way, so that concurrent ones share batches.
func batched(t *testing.T, window time.Duration, max, inFlight int) *dispatchFixture {
	return newDispatch(t, func(c *service.RequestsConfig) {
		c.SubmitBatchWindow, c.SubmitBatchMax, c.SubmitBatchesInFlight = window, max, inFlight
	})
}

func needInput(description string) service.SubmitInput {
	lat, lng := 42.92, 129.50
	return service.SubmitInput{Category: "home_visit", Description: description, Lat: &lat, Lng: &lng, ContactPhone: "13812345678"}
}

func idemKey(user int64, key, body string) *model.Idempotency {
	return &model.Idempotency{UserID: user, Key: key, Scope: "requests.create", Fingerprint: sha256.Sum256([]byte(body))}
}

type submitted struct {
	user int64
	r    model.Request
	err  error
}

// submitAll runs the submits concurrently and returns their outcomes in order.
func submitAll(f *dispatchFixture, n int, user func(i int) int64, in func(i int) service.SubmitInput, idem func(i int) *model.Idempotency) []submitted {
	out := make([]submitted, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := user(i)
			r, err := f.svc.Submit(context.Background(), resident(u), in(i), idem(i))
			out[i] = submitted{user: u, r: r, err: err}
		}()
	}
	wg.Wait()
	return out
}

func (f *dispatchFixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.st.DB.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSubmitBatch200Residents: 200 concurrent submits of 200 residents share
// batches; each gets its own request (its id, its resident, its station),
// stored once with its two events and queued once.
func TestSubmitBatch200Residents(t *testing.T) {
	f := batched(t, 50*time.Millisecond, 64, 1)
	got := submitAll(f, 200, func(i int) int64 { return int64(1000 + i) },
		func(i int) service.SubmitInput { return needInput("老人独居 #" + itoa(i)) },
		func(i int) *model.Idempotency { return idemKey(int64(1000+i), "k", "body") })
	ids := map[int64]bool{}
	for i, s := range got {
		if s.err != nil {
			t.Fatalf("submit %d: %v", i, s.err)
		}
		r := s.r
		if r.ID == 0 || ids[r.ID] || r.ResidentID != s.user || r.Station.ID != 3 || r.Description != "老人独居 #"+itoa(i) {
			t.Fatalf("submit %d: %+v", i, r)
		}
		ids[r.ID] = true
		stored, err := f.st.GetRequest(context.Background(), r.ID)
		if err != nil || stored.ResidentID != s.user || stored.Description != r.Description {
			t.Fatalf("submit %d stored: %+v %v", i, stored, err)
		}
	}
	if n := f.count(t, `SELECT COUNT(*) FROM requests`); n != 200 {
		t.Fatalf("rows: %d", n)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM request_events`); n != 400 {
		t.Fatalf("events: %d", n)
	}
	if n := f.count(t, `SELECT COUNT(DISTINCT resident_id) FROM requests`); n != 200 {
		t.Fatalf("residents: %d", n)
	}
	if q := f.queueIDs(t, f.st.Keys.StationQueue(3)); len(q) != 200 {
		t.Fatalf("queue: %d entries", len(q))
	}
	if n := f.dir.queuedAt(3); n != 200 {
		t.Fatalf("the matcher was told of %d queued requests", n)
	}
	if n, _ := f.st.Redis.ZCard(context.Background(), f.st.Keys.DispatchDeadlines()).Result(); n != 200 {
		t.Fatalf("deadlines: %d", n)
	}
	st := f.svc.SubmitBatchStats()
	if st.Batches == 0 || st.Largest < 2 || st.Fallbacks != 0 {
		t.Fatalf("no batching: %+v", st)
	}
	if !service.SubmitBatchIdle(f.svc) {
		t.Fatal("batcher not idle")
	}
}

// TestSubmitBatchRepeatedKey: 40 submits with one resident's key, spread
// over small concurrent batches among 40 other residents' submits, store one
// request and get identical replies.
func TestSubmitBatchRepeatedKey(t *testing.T) {
	f := batched(t, 20*time.Millisecond, 8, 2)
	got := submitAll(f, 80, func(i int) int64 {
		if i%2 == 0 {
			return 7
		}
		return int64(2000 + i)
	}, func(i int) service.SubmitInput { return needInput("同一件事") },
		func(i int) *model.Idempotency {
			if i%2 == 0 {
				return idemKey(7, "same-key", "body")
			}
			return idemKey(int64(2000+i), "k", "body")
		})
	var first []byte
	for i, s := range got {
		if s.err != nil {
			t.Fatalf("submit %d: %v", i, s.err)
		}
		if s.user != 7 {
			continue
		}
		reply, _ := json.Marshal(s.r)
		if first == nil {
			first = reply
		} else if string(reply) != string(first) {
			t.Fatalf("reply %d differs:\n%s\n%s", i, reply, first)
		}
	}
	if n := f.count(t, `SELECT COUNT(*) FROM requests WHERE resident_id = 7`); n != 1 {
		t.Fatalf("rows of the repeated key: %d", n)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM requests`); n != 41 {
		t.Fatalf("rows: %d", n)
	}
	if q := f.queueIDs(t, f.st.Keys.StationQueue(3)); len(q) != 41 {
		t.Fatalf("queue: %d entries", len(q))
	}
	// Every batch after the one that stored the key failed on it.
	if st := f.svc.SubmitBatchStats(); st.Fallbacks == 0 {
		t.Fatalf("stats: %+v", st)
	}
}

// TestSubmitBatchMemberFailsInTransaction: a resident reuses a key stored
// earlier for another body; the batch holding that submit fails on the
// key's unique index, and its members are written one by one: the resident
// gets conflict, the others their requests.
func TestSubmitBatchMemberFailsInTransaction(t *testing.T) {
	f := batched(t, 50*time.Millisecond, 64, 1)
	if _, err := f.svc.Submit(context.Background(), resident(9), needInput("第一次"), idemKey(9, "used", "first body")); err != nil {
		t.Fatal(err)
	}
	for i, s := range submitAll(f, 30, func(i int) int64 { return int64(3000 + i) },
		func(i int) service.SubmitInput { return needInput("并发诉求") },
		func(i int) *model.Idempotency { return nil }) {
		if s.err != nil {
			t.Fatalf("submit %d without key: %v", i, s.err)
		}
	}
	if st := f.svc.SubmitBatchStats(); st.Batches == 0 || st.Fallbacks != 0 {
		t.Fatalf("stats before: %+v", st)
	}
	got := submitAll(f, 31, func(i int) int64 {
		if i == 15 {
			return 9
		}
		return int64(3100 + i)
	}, func(i int) service.SubmitInput { return needInput("并发诉求") },
		func(i int) *model.Idempotency {
			if i == 15 {
				return idemKey(9, "used", "another body")
			}
			return idemKey(int64(3100+i), "k", "body")
		})
	for i, s := range got {
		if i == 15 {
			if !model.IsCode(s.err, model.CodeConflict) {
				t.Fatalf("reused key: %+v %v", s.r, s.err)
			}
			continue
		}
		if s.err != nil || s.r.ResidentID != s.user {
			t.Fatalf("submit %d: %+v %v", i, s.r, s.err)
		}
	}
	if st := f.svc.SubmitBatchStats(); st.Fallbacks == 0 {
		t.Fatalf("the batch did not fail: %+v", st)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM requests`); n != 1+30+30 {
		t.Fatalf("rows: %d", n)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM requests WHERE resident_id = 9`); n != 1 {
		t.Fatalf("rows of the reused key: %d", n)
	}
}

// TestSubmitBatchInjectedFailure: whatever fails a batch, its members are
// written by the single path, each once.
func TestSubmitBatchInjectedFailure(t *testing.T) {
	f := batched(t, 50*time.Millisecond, 64, 1)
	service.SetSubmitBatchFailure(f.svc, func([]model.PreparedRequest) error { return errors.New("injected") })
	got := submitAll(f, 40, func(i int) int64 { return int64(4000 + i) },
		func(i int) service.SubmitInput { return needInput("注入失败") },
		func(i int) *model.Idempotency { return idemKey(int64(4000+i), "k", "body") })
	for i, s := range got {
		if s.err != nil || s.r.ResidentID != s.user || s.r.ID == 0 {
			t.Fatalf("submit %d: %+v %v", i, s.r, s.err)
		}
	}
	if n := f.count(t, `SELECT COUNT(*) FROM requests`); n != 40 {
		t.Fatalf("rows: %d", n)
	}
	if q := f.queueIDs(t, f.st.Keys.StationQueue(3)); len(q) != 40 {
		t.Fatalf("queue: %d entries", len(q))
	}
	if st := f.svc.SubmitBatchStats(); st.Fallbacks == 0 || st.Batches != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

// TestSubmitBatchCallersLeaveOnTheirContext: a caller whose context ends
// gets unavailable at once, whatever its batch does. Still queued, its
// submit is taken out and never written; already in a running batch, the
// batch goes on and writes it for the others, and a retry with its key
// replays it. Nothing is left queued or running afterwards.
func TestSubmitBatchCallersLeaveOnTheirContext(t *testing.T) {
	f := batched(t, 100*time.Millisecond, 64, 1)
	formed := make(chan int, 1)
	release := make(chan struct{})
	var once sync.Once
	service.SetSubmitBatchFailure(f.svc, func(b []model.PreparedRequest) error {
		once.Do(func() {
			formed <- len(b)
			<-release
		})
		return nil
	})
	const n = 10
	out := make([]submitted, 2*n)
	var wg sync.WaitGroup
	var cancels []context.CancelFunc
	launch := func(from int) {
		for i := from; i < from+n; i++ {
			ctx, cancel := context.WithCancel(context.Background())
			cancels = append(cancels, cancel)
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := f.svc.Submit(ctx, resident(int64(5000+i)), needInput("离开的调用"), idemKey(int64(5000+i), "k", "body"))
				out[i] = submitted{user: int64(5000 + i), r: r, err: err}
			}()
		}
	}
	launch(0)
	size := <-formed // the first batch is being written (and held)
	launch(n)
	deadline := time.Now().Add(5 * time.Second)
	for service.SubmitBatchQueued(f.svc) < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancelled := time.Now()
	for _, c := range cancels {
		c()
	}
	wg.Wait()
	if waited := time.Since(cancelled); waited > time.Second {
		t.Fatalf("callers took %v to leave", waited)
	}
	done := 0 // written before the held batch formed (a batch of one)
	for i, s := range out {
		switch {
		case s.err == nil && s.r.ResidentID == s.user:
			done++
		case !model.IsCode(s.err, model.CodeUnavailable):
			t.Fatalf("submit %d: %+v %v", i, s.r, s.err)
		}
	}
	if q := service.SubmitBatchQueued(f.svc); q != 0 {
		t.Fatalf("%d submits still queued", q)
	}
	close(release)
	for !service.SubmitBatchIdle(f.svc) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !service.SubmitBatchIdle(f.svc) {
		t.Fatal("batcher not idle")
	}
	// Written: the answered ones, the held batch, and any lone submit whose
	// batch was still running when its caller left; every one is queued.
	rows := f.count(t, `SELECT COUNT(*) FROM requests`)
	if rows < done+size || rows > 2*n || size < 2 {
		t.Fatalf("rows %d, answered %d, held batch %d", rows, done, size)
	}
	if q := f.queueIDs(t, f.st.Keys.StationQueue(3)); len(q) != rows {
		t.Fatalf("queue: %d entries, %d rows", len(q), rows)
	}
	// Every caller retries with its key: the written ones replay, the others
	// are written now; one row each.
	for i := 0; i < 2*n; i++ {
		if _, err := f.svc.Submit(context.Background(), resident(int64(5000+i)), needInput("离开的调用"), idemKey(int64(5000+i), "k", "body")); err != nil {
			t.Fatalf("retry %d: %v", i, err)
		}
	}
	if rows := f.count(t, `SELECT COUNT(*) FROM requests`); rows != 2*n || f.count(t, `SELECT COUNT(DISTINCT resident_id) FROM requests`) != 2*n {
		t.Fatalf("rows after the retries: %d", rows)
	}
}

// TestSubmitBatchShutdownWaitsForRunningBatches: at shutdown,
// RunSubmitBatches returns only once the batches still running (their
// callers gone) have ended, what they wrote stored and queued.
func TestSubmitBatchShutdownWaitsForRunningBatches(t *testing.T) {
	f := batched(t, 100*time.Millisecond, 64, 1)
	formed := make(chan int, 1)
	release := make(chan struct{})
	var once sync.Once
	service.SetSubmitBatchFailure(f.svc, func(b []model.PreparedRequest) error {
		once.Do(func() {
			formed <- len(b)
			<-release
		})
		return nil
	})
	callers, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	ok := atomic.Int64{}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.Submit(callers, resident(int64(6000+i)), needInput("停机"), nil); err == nil {
				ok.Add(1)
			}
		}()
	}
	size := <-formed
	cancel()
	wg.Wait()
	shutdown, stop := context.WithCancel(context.Background())
	stop()
	done := make(chan struct{})
	go func() {
		f.svc.RunSubmitBatches(shutdown)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("RunSubmitBatches returned while a batch was running")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunSubmitBatches did not return")
	}
	rows := f.count(t, `SELECT COUNT(*) FROM requests`)
	if rows < int(ok.Load())+size || rows > 8 || size < 2 {
		t.Fatalf("rows %d, answered %d, held batch %d", rows, ok.Load(), size)
	}
	if q := f.queueIDs(t, f.st.Keys.StationQueue(3)); len(q) != rows {
		t.Fatalf("queue: %d entries, %d rows", len(q), rows)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestSubmitRateLimitAcrossABatch: concurrent submits of one resident check
// the limit together (one round trip) and still take one token each; the
// refused ones drop out of their batch, which is written again without them.
func TestSubmitRateLimitAcrossABatch(t *testing.T) {
	lim := &countingLimiter{}
	f := limitedBatch(t, 3, lim)
	svc := f.svc
	got := submitAll(f, 8, func(int) int64 { return 77 }, func(i int) service.SubmitInput { return needInput("限流") },
		func(i int) *model.Idempotency { return idemKey(77, "k"+itoa(i), "body") })
	ok, limited := 0, 0
	for i, s := range got {
		switch {
		case s.err == nil:
			ok++
		case model.IsCode(s.err, model.CodeTooManyRequests):
			limited++
		default:
			t.Fatalf("submit %d: %v", i, s.err)
		}
	}
	if ok != 3 || limited != 5 {
		t.Fatalf("allowed %d, limited %d", ok, limited)
	}
	if _, err := svc.Submit(context.Background(), resident(78), needInput("别人"), nil); err != nil {
		t.Fatalf("another resident: %v", err)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM requests`); n != 4 {
		t.Fatalf("rows: %d", n)
	}
	if st := svc.SubmitBatchStats(); st.Fallbacks != 0 || st.Batches == 0 {
		t.Fatalf("the refused members sent their batch's others one by one: %+v", st)
	}
	if n := lim.calls.Load(); n >= 8 {
		t.Fatalf("%d limiter round trips for 8 submits: not checked together", n)
	}
}
