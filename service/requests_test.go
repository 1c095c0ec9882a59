package service_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/model"
	"jindalai/service"
	"jindalai/store"
	"jindalai/store/storetest"
)

// clock is a settable test clock.
type clock struct{ ms atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ms.Store(time.Now().UnixMilli())
	return c
}
func (c *clock) Now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *clock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }
func discardLog() *slog.Logger           { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func worker(user, station int64) model.Principal {
	return model.Principal{UserID: user, Roles: []model.Role{{Role: model.RoleSocialWorker, StationID: station}}}
}
func resident(user int64) model.Principal { return model.Principal{UserID: user} }

type dispatchFixture struct {
	st    *store.Store
	dir   *fakeDirectory
	clock *clock
	cfg   service.RequestsConfig
	svc   *service.Requests
}

func newDispatch(t *testing.T, tweak func(*service.RequestsConfig)) *dispatchFixture {
	t.Helper()
	f := &dispatchFixture{st: storetest.New(t), dir: newFakeDirectory(), clock: newClock()}
	f.cfg = service.RequestsConfig{AcceptByUrgent: 30 * time.Minute, AcceptByNormal: time.Hour, MaxBounces: 3,
		AutoCloseAfter: 24 * time.Hour, Now: f.clock.Now}
	if tweak != nil {
		tweak(&f.cfg)
	}
	f.svc = f.newService()
	if _, err := f.svc.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

// newService is another instance over the same store (another replica).
func (f *dispatchFixture) newService() *service.Requests {
	return f.serviceOver(f.st, nil, f.cfg)
}

// serviceOver is an instance over st (the fixture's store, or a wrapper of
// it that fails or counts some calls), with limit and cfg.
func (f *dispatchFixture) serviceOver(st service.RequestStore, limit service.RateLimiter, cfg service.RequestsConfig) *service.Requests {
	pii, _ := service.NewPII([]byte("test-only-pii-key-32-bytes-long!"))
	return service.NewRequests(st, f.dir, limit, pii, cfg, f.st.Loc, discardLog())
}

func (f *dispatchFixture) submit(t *testing.T, user int64, urgency model.Urgency) model.Request {
	t.Helper()
	lat, lng := 42.92, 129.50
	r, err := f.svc.Submit(context.Background(), resident(user), service.SubmitInput{Category: "home_visit",
		Description: "老人独居，需要上门探访", Lat: &lat, Lng: &lng, Urgency: urgency, ContactPhone: "13812345678"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *dispatchFixture) queueIDs(t *testing.T, key string) []string {
	t.Helper()
	ids, err := f.st.Redis.ZRange(context.Background(), key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func (f *dispatchFixture) countEvents(t *testing.T, id int64, kind model.EventKind) int {
	t.Helper()
	return f.count(t, `SELECT COUNT(*) FROM request_events WHERE request_id = ? AND kind = ?`, id, kind)
}

func TestSubmitDispatchesToFirstCandidateWithDeadline(t *testing.T) {
	f := newDispatch(t, nil)
	r := f.submit(t, 100, model.UrgencyUrgent)
	if r.Status != model.StatusDispatched || r.Station.ID != 3 || r.ContactPhone != "138****5678" {
		t.Fatalf("submitted: %+v", r)
	}
	if want := f.clock.Now().Add(30 * time.Minute); !r.AcceptBy.Equal(want.Truncate(time.Millisecond)) {
		t.Fatalf("accept_by %v, want %v", r.AcceptBy, want)
	}
	if q := f.queueIDs(t, f.st.Keys.StationQueue(3)); len(q) != 1 {
		t.Fatalf("queue of station 3: %v", q)
	}
	if n := f.dir.queuedAt(3); n != 1 {
		t.Fatalf("the matcher was told of %d requests queued at station 3", n)
	}
	score, err := f.st.Redis.ZScore(context.Background(), f.st.Keys.DispatchDeadlines(), "1").Result()
	if err != nil || int64(score) != r.AcceptBy.UnixMilli() {
		t.Fatalf("deadline %v %v", score, err)
	}
	if f.countEvents(t, r.ID, model.EventSubmit) != 1 || f.countEvents(t, r.ID, model.EventDispatch) != 1 {
		t.Fatal("submit and dispatch events missing")
	}
}

// TestDispatchNotifiesTheStationAdmins: a dispatched request leaves one
// request_dispatched message for each admin of the receiving station (an
// admin who also works there gets one) and none for its social workers, who
// see it in their queue.
func TestDispatchNotifiesTheStationAdmins(t *testing.T) {
	f := newDispatch(t, nil)
	grant := func(openid string, roles ...model.Role) int64 { return grantRoles(t, f, openid, roles...) }
	admin := grant("dev_admin3", model.Role{Role: model.RoleStationAdmin, StationID: 3})
	both := grant("dev_both3", model.Role{Role: model.RoleSocialWorker, StationID: 3}, model.Role{Role: model.RoleStationAdmin, StationID: 3})
	crew := grant("dev_crew3", model.Role{Role: model.RoleSocialWorker, StationID: 3})
	other := grant("dev_admin4", model.Role{Role: model.RoleStationAdmin, StationID: 4})
	r := f.submit(t, 100, model.UrgencyNormal)
	for user, want := range map[int64]int{admin: 1, both: 1, crew: 0, other: 0} {
		var n int
		if err := f.st.DB.QueryRow(`SELECT COUNT(*) FROM notifications WHERE user_id = ? AND kind = 'request_dispatched' AND ref_id = ?`,
			user, r.ID).Scan(&n); err != nil || n != want {
			t.Errorf("user %d: %d request_dispatched messages (%v), want %d", user, n, err, want)
		}
	}
}

// TestCancelTellsTheHoldersAdmins: a request the resident withdraws before
// anyone took it leaves a request_cancelled message for the admins of its
// current holder — its station, its organization once transferred there,
// the station it was escalated to — and for nobody else.
func TestCancelTellsTheHoldersAdmins(t *testing.T) {
	f := newDispatch(t, nil)
	ctx := context.Background()
	admin3 := grantRoles(t, f, "dev_admin3", model.Role{Role: model.RoleStationAdmin, StationID: 3})
	crew := grantRoles(t, f, "dev_crew3", model.Role{Role: model.RoleSocialWorker, StationID: 3})
	orgAdmin := grantRoles(t, f, "dev_org7", model.Role{Role: model.RoleOrgAdmin, OrgID: 7})
	cancelled := func(user, id int64) int {
		return f.count(t, `SELECT COUNT(*) FROM notifications WHERE user_id = ? AND kind = 'request_cancelled' AND ref_id = ?`, user, id)
	}

	atStation := f.submit(t, 100, model.UrgencyNormal)
	if _, err := f.svc.Cancel(ctx, resident(100), atStation.ID, "已自行解决"); err != nil {
		t.Fatal(err)
	}
	atOrg := f.submit(t, 100, model.UrgencyNormal)
	if _, err := f.svc.Transfer(ctx, worker(10, 3), atOrg.ID, service.TransferInput{OrgID: 7, Reason: "协会有志愿者"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Cancel(ctx, resident(100), atOrg.ID, ""); err != nil {
		t.Fatal(err)
	}
	escalated := f.submit(t, 100, model.UrgencyNormal)
	if n, err := f.svc.EscalateDue(ctx, f.clock.Now().Add(25*time.Hour)); err != nil || n != 1 {
		t.Fatalf("escalate: %d %v", n, err)
	}
	moved, err := f.st.GetRequest(ctx, escalated.ID)
	if err != nil || moved.Station.ID == 3 {
		t.Fatalf("escalated to station %d (%v), want it moved on", moved.Station.ID, err)
	}
	holderAdmin := stationAdmin(t, f, "dev_admin_holder", moved.Station.ID)
	if _, err := f.svc.Cancel(ctx, resident(100), escalated.ID, ""); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		user, id int64
		want     int
	}{
		{"station admin, request at the station", admin3, atStation.ID, 1},
		{"social worker, request at the station", crew, atStation.ID, 0},
		{"organization admin, request at the station", orgAdmin, atStation.ID, 0},
		{"organization admin, request at the organization", orgAdmin, atOrg.ID, 1},
		{"station admin, request at the organization", admin3, atOrg.ID, 0},
		{"the new holder's admin, request escalated", holderAdmin, escalated.ID, 1},
		{"the first station's admin, request escalated", admin3, escalated.ID, 0},
	} {
		if n := cancelled(c.user, c.id); n != c.want {
			t.Errorf("%s: %d request_cancelled messages, want %d", c.name, n, c.want)
		}
	}
}

// TestEscalationClaimsEachRequestOnce runs the escalation of two service
// instances (replicas) from eight goroutines at the same due time: every
// overdue request is escalated exactly once, to its next candidate.
func TestEscalationClaimsEachRequestOnce(t *testing.T) {
	f := newDispatch(t, nil)
	const n = 30
	var ids []int64
	for i := 0; i < n; i++ {
		ids = append(ids, f.submit(t, int64(100+i), model.UrgencyNormal).ID)
	}
	// One claim is lost (a replica died after claiming): the sweep restores it.
	lost, err := f.st.ClaimDueRequests(context.Background(), f.clock.Now().Add(2*time.Hour), 1)
	if err != nil || len(lost) != 1 {
		t.Fatalf("claim: %v %v", lost, err)
	}
	admin, err := f.st.UpsertUserByOpenID(context.Background(), "dev_admin4", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.GrantRole(context.Background(), admin.ID, model.Role{Role: model.RoleStationAdmin, StationID: 4}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour + time.Second)
	if err := f.svc.Sweep(context.Background(), f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	replicas := []*service.Requests{f.svc, f.newService()}
	var wg sync.WaitGroup
	var escalated atomic.Int64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 3; k++ {
				n, err := replicas[g%2].EscalateDue(context.Background(), f.clock.Now())
				if err != nil {
					t.Error(err)
				}
				escalated.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	if escalated.Load() != n {
		t.Fatalf("escalated %d, want %d", escalated.Load(), n)
	}
	for _, id := range ids {
		if c := f.countEvents(t, id, model.EventEscalate); c != 1 {
			t.Fatalf("request %d escalated %d times", id, c)
		}
		r, err := f.st.GetRequest(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Station.ID != 4 || r.Bounces != 1 || r.Status != model.StatusDispatched || !r.AcceptBy.After(f.clock.Now()) {
			t.Fatalf("after escalation: station %d bounces %d status %s accept_by %v", r.Station.ID, r.Bounces, r.Status, r.AcceptBy)
		}
	}
	if q := f.queueIDs(t, f.st.Keys.StationQueue(3)); len(q) != 0 {
		t.Fatalf("station 3 queue still has %v", q)
	}
	if q := f.queueIDs(t, f.st.Keys.StationQueue(4)); len(q) != n {
		t.Fatalf("station 4 queue has %d, want %d", len(q), n)
	}
	// The receiving station's admin got one 督办 per request.
	var escalations int
	if err := f.st.DB.QueryRow(`SELECT COUNT(*) FROM notifications WHERE user_id = ? AND kind = 'request_escalated'`, admin.ID).
		Scan(&escalations); err != nil || escalations != n {
		t.Fatalf("request_escalated messages: %d (%v), want %d", escalations, err, n)
	}
	// The next escalation goes on up the chain.
	f.clock.Advance(time.Hour + time.Second)
	if _, err := f.svc.EscalateDue(context.Background(), f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r, _ := f.st.GetRequest(context.Background(), ids[0])
	if r.Station.ID != 2 || r.Bounces != 2 {
		t.Fatalf("second escalation: station %d bounces %d", r.Station.ID, r.Bounces)
	}
}

// TestEscalationLoopsRunningTwice runs the real loops of two replicas with a
// short deadline: the request is escalated once, not once per loop.
func TestEscalationLoopsRunningTwice(t *testing.T) {
	f := newDispatch(t, func(c *service.RequestsConfig) {
		c.AcceptByNormal = 600 * time.Millisecond
		c.EscalationEvery = 10 * time.Millisecond
		c.Now = nil
	})
	r := f.submit(t, 100, model.UrgencyNormal)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, svc := range []*service.Requests{f.svc, f.newService()} {
		wg.Add(1)
		go func() { defer wg.Done(); svc.RunEscalation(ctx) }()
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.countEvents(t, r.ID, model.EventEscalate) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("not escalated within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	got, _ := f.st.GetRequest(context.Background(), r.ID)
	// The next deadline is 600ms after the first escalation, so a second
	// escalation event before the loops stopped would be a duplicate.
	if n := f.countEvents(t, r.ID, model.EventEscalate); n != 1 || got.Station.ID != 4 {
		t.Fatalf("escalations %d, station %d", n, got.Station.ID)
	}
}

func redisZ(score float64, id int64) redis.Z {
	return redis.Z{Score: score, Member: strconv.FormatInt(id, 10)}
}

// failingPlacement is the store with its Redis placements failing while
// fail is set, as when Redis drops the write that follows a commit.
type failingPlacement struct {
	*store.Store
	fail atomic.Bool
}

func (s *failingPlacement) PlaceRequest(ctx context.Context, before *model.Request, after model.Request) error {
	if s.fail.Load() {
		return model.Errorf(model.CodeUnavailable, "redis write lost")
	}
	return s.Store.PlaceRequest(ctx, before, after)
}

func (s *failingPlacement) PlaceNewRequests(ctx context.Context, rs []model.Request) error {
	if s.fail.Load() {
		return model.Errorf(model.CodeUnavailable, "redis write lost")
	}
	return s.Store.PlaceNewRequests(ctx, rs)
}

// TestFailedPlacementIsRebuiltBySweep: a committed submit or action whose
// Redis update fails still succeeds, and the next sweep rebuilds the queues
// from MySQL although the index marker is still there.
func TestFailedPlacementIsRebuiltBySweep(t *testing.T) {
	f := newDispatch(t, nil)
	ctx := context.Background()
	flaky := &failingPlacement{Store: f.st}
	svc := f.serviceOver(flaky, nil, f.cfg)
	lat, lng := 42.92, 129.50
	submit := func() model.Request {
		t.Helper()
		r, err := svc.Submit(ctx, resident(100), service.SubmitInput{Category: "home_visit", Description: "需要上门探访",
			Lat: &lat, Lng: &lng}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	queued := func(station int64) []string {
		t.Helper()
		return f.queueIDs(t, f.st.Keys.StationQueue(station))
	}
	want := func(station int64, ids ...int64) {
		t.Helper()
		var w []string
		for _, id := range ids {
			w = append(w, strconv.FormatInt(id, 10))
		}
		if got := queued(station); !slices.Equal(got, w) {
			t.Fatalf("station %d queue %v, want %v", station, got, w)
		}
	}

	flaky.fail.Store(true)
	lost := submit()
	want(3)
	if err := svc.Sweep(ctx, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	want(3, lost.ID)

	flaky.fail.Store(false)
	moved := submit()
	flaky.fail.Store(true)
	if _, err := svc.Reject(ctx, worker(10, 3), moved.ID, "人手不足"); err != nil {
		t.Fatal(err)
	}
	want(3, lost.ID, moved.ID)
	want(4)
	if err := svc.Sweep(ctx, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// The rebuild adds what is missing; the stale entry left at station 3
	// is dropped by the queue's reader.
	want(4, moved.ID)
	q, err := svc.Queue(ctx, worker(10, 3), model.Page{Limit: 20})
	if err != nil || len(q.Items) != 1 || q.Items[0].ID != lost.ID {
		t.Fatalf("station 3 reads %+v %v, want only %d", q.Items, err, lost.ID)
	}
}

// TestSubmitRefusals: a field its category does not define, an unknown
// category and a match with no station are refused, and nothing is written.
func TestSubmitRefusals(t *testing.T) {
	f := newDispatch(t, nil)
	ctx := context.Background()
	in := func(category string, fields map[string]any) service.SubmitInput {
		lat, lng := 42.92, 129.50
		return service.SubmitInput{Category: category, Description: "需要帮助", Lat: &lat, Lng: &lng, Fields: fields}
	}
	_, err := f.svc.Submit(ctx, resident(100), in("home_visit", map[string]any{"floor": 3}), nil)
	var e *model.Error
	if !errors.As(err, &e) || e.Code != model.CodeInvalid || e.Fields["fields.floor"] == "" {
		t.Fatalf("undefined field: %v", err)
	}
	_, err = f.svc.Submit(ctx, resident(100), in("no_such_service", nil), nil)
	if !errors.As(err, &e) || e.Code != model.CodeInvalid || e.Fields["category"] == "" {
		t.Fatalf("unknown category: %v", err)
	}
	f.dir.order = nil
	if _, err = f.svc.Submit(ctx, resident(100), in("home_visit", nil), nil); !model.IsCode(err, model.CodeUnavailable) {
		t.Fatalf("no station: %v", err)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM requests`); n != 0 {
		t.Fatalf("%d requests written", n)
	}
}

// singleLimiter is a RateLimiter that checks one subject at a time (not a
// BatchRateLimiter).
type singleLimiter struct{ l service.RateLimiter }

func (s singleLimiter) Allow(ctx context.Context, name, subject string, perMinute int) (bool, time.Duration, error) {
	return s.l.Allow(ctx, name, subject, perMinute)
}

// TestSubmitOneByOne: with batching off (SubmitBatchMax 1), and with a
// limiter that cannot check many subjects at once, a submit is still rate
// limited, stored, queued and replayed for its Idempotency-Key.
func TestSubmitOneByOne(t *testing.T) {
	for _, tc := range []struct {
		name  string
		batch int
	}{{"batching off", 1}, {"batching on", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newDispatch(t, func(c *service.RequestsConfig) { c.SubmitBatchMax, c.SubmitPerMinuteUser = tc.batch, 2 })
			svc := f.serviceOver(f.st, singleLimiter{f.st.NewRateLimiter()}, f.cfg)
			ctx := context.Background()
			first, err := svc.Submit(ctx, resident(100), needInput("一个一个来"), idemKey(100, "k", "body"))
			if err != nil {
				t.Fatal(err)
			}
			again, err := svc.Submit(ctx, resident(100), needInput("一个一个来"), idemKey(100, "k", "body"))
			if err != nil || again.ID != first.ID {
				t.Fatalf("replay: %d %v, want %d", again.ID, err, first.ID)
			}
			if _, err := svc.Submit(ctx, resident(100), needInput("第三次"), nil); !model.IsCode(err, model.CodeTooManyRequests) {
				t.Fatalf("third submit in a minute: %v", err)
			}
			if n := f.count(t, `SELECT COUNT(*) FROM requests`); n != 1 {
				t.Fatalf("rows: %d", n)
			}
			if q := f.queueIDs(t, f.st.Keys.StationQueue(3)); !slices.Equal(q, []string{strconv.FormatInt(first.ID, 10)}) {
				t.Fatalf("queue: %v", q)
			}
			if st := svc.SubmitBatchStats(); st != (service.SubmitBatchStats{}) {
				t.Fatalf("batch stats %+v", st)
			}
		})
	}
}
