package service_test

import (
	"context"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/service"
	"jindalai/store"
	"jindalai/store/storetest"
)

func mustCode(t *testing.T, err error, code model.Code) {
	t.Helper()
	if !model.IsCode(err, code) {
		t.Fatalf("got %v, want %s", err, code)
	}
}

// TestRejectWalksCandidatesThenParentMustTake: with max_bounces 2 a request
// goes 3 → 4 (next candidate) → 2 (the parent of 4, which must take it and
// cannot reject), and only station 2's staff may accept it then.
func TestRejectWalksCandidatesThenParentMustTake(t *testing.T) {
	f := newDispatch(t, func(c *service.RequestsConfig) { c.MaxBounces = 2 })
	ctx := context.Background()
	r := f.submit(t, 100, model.UrgencyNormal)

	_, err := f.svc.Reject(ctx, worker(10, 4), r.ID, "不归我们")
	mustCode(t, err, model.CodeNotFound) // station 4 does not see it yet
	_, err = f.svc.Reject(ctx, worker(10, 3), r.ID, " ")
	mustCode(t, err, model.CodeInvalid)

	f.clock.Advance(time.Minute)
	out, err := f.svc.Reject(ctx, worker(10, 3), r.ID, "人手不足")
	if err != nil {
		t.Fatal(err)
	}
	if out.Station.ID != 4 || out.Bounces != 1 || out.MustTake || !out.AcceptBy.Equal(f.clock.Now().Add(time.Hour)) {
		t.Fatalf("first reject: %+v", out)
	}
	if q := f.queueIDs(t, f.st.Keys.StationQueue(3)); len(q) != 0 {
		t.Fatalf("station 3 queue: %v", q)
	}
	if q := f.queueIDs(t, f.st.Keys.StationQueue(4)); !slices.Equal(q, []string{strconv.FormatInt(r.ID, 10)}) {
		t.Fatalf("station 4 queue: %v", q)
	}
	out, err = f.svc.Reject(ctx, worker(11, 4), r.ID, "不在服务范围")
	if err != nil {
		t.Fatal(err)
	}
	if out.Station.ID != 2 || out.Bounces != 2 || !out.MustTake {
		t.Fatalf("bounce limit: %+v", out)
	}
	_, err = f.svc.Reject(ctx, worker(12, 2), r.ID, "还是不想要")
	mustCode(t, err, model.CodeFailedPrecondition)
	// Nor may it hand the request to another station, which would start
	// the round again without must_take.
	_, err = f.svc.Transfer(ctx, worker(12, 2), r.ID, service.TransferInput{StationID: 4, Reason: "转回"})
	mustCode(t, err, model.CodeFailedPrecondition)
	_, err = f.svc.Accept(ctx, worker(11, 4), r.ID)
	mustCode(t, err, model.CodeNotFound)
	// A station admin above sees it but may not accept for station 2.
	cityAdmin := model.Principal{UserID: 13, Roles: []model.Role{{Role: model.RoleStationAdmin, StationID: 1}}}
	_, err = f.svc.Accept(ctx, cityAdmin, r.ID)
	mustCode(t, err, model.CodePermissionDenied)
	out, err = f.svc.Accept(ctx, worker(12, 2), r.ID)
	if err != nil || out.Status != model.StatusAccepted || *out.WorkerID != 12 || out.ContactPhone != "13812345678" {
		t.Fatalf("accept: %+v %v", out, err)
	}
	for _, key := range []string{f.st.Keys.StationQueue(2), f.st.Keys.DispatchDeadlines()} {
		if q := f.queueIDs(t, key); len(q) != 0 {
			t.Fatalf("%s after accept: %v", key, q)
		}
	}
	got, err := f.svc.Get(ctx, resident(100), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, e := range got.Timeline {
		steps = append(steps, string(e.Kind)+":"+string(e.From)+">"+string(e.To)+":"+e.ActorRole)
	}
	want := []string{"submit:>submitted:resident", "dispatch:submitted>dispatched:system",
		"reject:dispatched>dispatched:social_worker", "reject:dispatched>dispatched:social_worker",
		"accept:dispatched>accepted:social_worker"}
	if !slices.Equal(steps, want) {
		t.Fatalf("timeline %v\nwant %v", steps, want)
	}
}

func TestRejectAtTheTopIsRefused(t *testing.T) {
	f := newDispatch(t, func(c *service.RequestsConfig) { c.MaxBounces = 10 })
	f.dir.order = []int64{1}
	r := f.submit(t, 100, model.UrgencyNormal)
	_, err := f.svc.Reject(context.Background(), worker(10, 1), r.ID, "总站也不想要")
	mustCode(t, err, model.CodeFailedPrecondition)
}

// TestTransferToStationAndOrganization: station 3 hands it to station 5,
// which hands it to an organization; the organization's admin finds it in
// the queue, rejects it back to station 5, which accepts.
func TestTransferToStationAndOrganization(t *testing.T) {
	f := newDispatch(t, nil)
	ctx := context.Background()
	r := f.submit(t, 100, model.UrgencyNormal)
	orgAdmin := model.Principal{UserID: 30, Roles: []model.Role{{Role: model.RoleOrgAdmin, OrgID: 7}}}

	_, err := f.svc.Transfer(ctx, worker(10, 3), r.ID, service.TransferInput{StationID: 99, Reason: "转"})
	mustCode(t, err, model.CodeInvalid)
	_, err = f.svc.Transfer(ctx, worker(10, 3), r.ID, service.TransferInput{StationID: 5, OrgID: 7, Reason: "转"})
	mustCode(t, err, model.CodeInvalid)
	out, err := f.svc.Transfer(ctx, worker(10, 3), r.ID, service.TransferInput{StationID: 5, Reason: "公园街道更近"})
	if err != nil || out.Station.ID != 5 || out.Bounces != 0 {
		t.Fatalf("transfer to station: %+v %v", out, err)
	}
	_, err = f.svc.Transfer(ctx, worker(10, 3), r.ID, service.TransferInput{StationID: 4, Reason: "再转"})
	mustCode(t, err, model.CodeNotFound)
	out, err = f.svc.Transfer(ctx, worker(20, 5), r.ID, service.TransferInput{OrgID: 7, Reason: "协会有志愿者"})
	if err != nil || out.Org == nil || out.Org.ID != 7 || out.Station.ID != 5 {
		t.Fatalf("transfer to org: %+v %v", out, err)
	}
	if q := f.queueIDs(t, f.st.Keys.StationQueue(5)); len(q) != 0 {
		t.Fatalf("station 5 queue still holds it: %v", q)
	}
	// The station's workers see it but it waits for the organization now.
	_, err = f.svc.Accept(ctx, worker(20, 5), r.ID)
	mustCode(t, err, model.CodePermissionDenied)
	q, err := f.svc.Queue(ctx, orgAdmin, model.Page{Limit: 20})
	if err != nil || len(q.Items) != 1 || q.Items[0].ID != r.ID {
		t.Fatalf("org queue: %+v %v", q, err)
	}
	out, err = f.svc.Reject(ctx, orgAdmin, r.ID, "暂无志愿者")
	if err != nil || out.Org != nil || out.Station.ID != 5 {
		t.Fatalf("org reject: %+v %v", out, err)
	}
	q, _ = f.svc.Queue(ctx, worker(20, 5), model.Page{Limit: 20})
	if len(q.Items) != 1 {
		t.Fatalf("station 5 queue: %+v", q)
	}
	if _, err := f.svc.Accept(ctx, worker(20, 5), r.ID); err != nil {
		t.Fatal(err)
	}
}

// TestOrganizationAccepts: an organization's admin accepts a request
// transferred to it and then works it.
func TestOrganizationAccepts(t *testing.T) {
	f := newDispatch(t, nil)
	ctx := context.Background()
	r := f.submit(t, 100, model.UrgencyNormal)
	orgAdmin := model.Principal{UserID: 30, Roles: []model.Role{{Role: model.RoleOrgAdmin, OrgID: 7}}}
	if _, err := f.svc.Transfer(ctx, worker(10, 3), r.ID, service.TransferInput{OrgID: 7, Reason: "协会"}); err != nil {
		t.Fatal(err)
	}
	out, err := f.svc.Accept(ctx, orgAdmin, r.ID)
	if err != nil || out.Status != model.StatusAccepted || *out.WorkerID != 30 {
		t.Fatalf("%+v %v", out, err)
	}
	if _, err := f.svc.Start(ctx, orgAdmin, r.ID); err != nil {
		t.Fatal(err)
	}
	tasks, err := f.svc.Tasks(ctx, orgAdmin, "", model.Page{Limit: 20})
	if err != nil || len(tasks.Items) != 1 || tasks.Items[0].Status != model.StatusInProgress {
		t.Fatalf("tasks %+v %v", tasks, err)
	}
}

// TestReconcileRestoresQueuesAfterRedisLoss: after the Redis keys are gone
// the sweep notices the missing marker and rebuilds every open request's
// queue entry and deadline from MySQL; accepted ones stay out.
func TestReconcileRestoresQueuesAfterRedisLoss(t *testing.T) {
	f := newDispatch(t, nil)
	ctx := context.Background()
	var open []int64
	for i := 0; i < 12; i++ {
		open = append(open, f.submit(t, int64(100+i), model.UrgencyNormal).ID)
	}
	urgent := f.submit(t, 200, model.UrgencyUrgent)
	if _, err := f.svc.Reject(ctx, worker(10, 3), open[0], "转下一站"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Transfer(ctx, worker(10, 3), open[1], service.TransferInput{OrgID: 7, Reason: "协会"}); err != nil {
		t.Fatal(err)
	}
	accepted := open[2]
	if _, err := f.svc.Accept(ctx, worker(10, 3), accepted); err != nil {
		t.Fatal(err)
	}
	before := map[string][]string{}
	keys := []string{f.st.Keys.StationQueue(3), f.st.Keys.StationQueue(4), f.st.Keys.OrgQueue(7), f.st.Keys.DispatchDeadlines()}
	for _, k := range keys {
		before[k] = f.queueIDs(t, k)
	}
	storetest.FlushPrefix(t, f.st)
	if q := f.queueIDs(t, f.st.Keys.StationQueue(3)); len(q) != 0 {
		t.Fatal("flush did not flush")
	}
	// Reads fall back to MySQL meanwhile.
	q, err := f.svc.Queue(ctx, worker(10, 3), model.Page{Limit: 100})
	if err != nil || len(q.Items) != 10 || q.Items[0].ID != urgent.ID {
		t.Fatalf("queue during loss: %d items, %v", len(q.Items), err)
	}
	if err := f.svc.Sweep(ctx, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if got := f.queueIDs(t, k); !slices.Equal(got, before[k]) {
			t.Fatalf("%s: rebuilt %v, before %v", k, got, before[k])
		}
	}
	if len(before[f.st.Keys.StationQueue(3)]) != 10 || len(before[f.st.Keys.DispatchDeadlines()]) != 12 {
		t.Fatalf("unexpected fixture: %v", before)
	}
	q, err = f.svc.Queue(ctx, worker(10, 3), model.Page{Limit: 100})
	if err != nil || len(q.Items) != 10 || q.Items[0].ID != urgent.ID {
		t.Fatalf("queue after rebuild: %d %v", len(q.Items), err)
	}
}

// TestQueuePagesInOrderAndDropsStaleEntries pages a station queue from
// Redis (urgent first, then accept_by), with ties on the score.
func TestQueuePagesInOrderAndDropsStaleEntries(t *testing.T) {
	f := newDispatch(t, nil)
	ctx := context.Background()
	var want []int64
	var urgent []int64
	for i := 0; i < 25; i++ {
		if i%5 == 0 {
			f.clock.Advance(time.Second) // groups of equal accept_by: ties
		}
		u := model.UrgencyNormal
		if i%7 == 3 {
			u = model.UrgencyUrgent
		}
		r := f.submit(t, int64(100+i), u)
		if u == model.UrgencyUrgent {
			urgent = append(urgent, r.ID)
		} else {
			want = append(want, r.ID)
		}
	}
	want = append(urgent, want...)
	// A stale entry: the row says accepted but Redis missed the removal.
	if _, err := f.svc.Accept(ctx, worker(10, 3), want[4]); err != nil {
		t.Fatal(err)
	}
	f.st.Redis.ZAdd(ctx, f.st.Keys.StationQueue(3), redisZ(float64(queueScoreOf(t, f, want[4])), want[4]))
	want = append(want[:4], want[5:]...)
	var got []int64
	page := model.Page{Limit: 4}
	for i := 0; ; i++ {
		q, err := f.svc.Queue(ctx, worker(10, 3), page)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range q.Items {
			got = append(got, r.ID)
		}
		if q.NextCursor == "" || i > 20 {
			break
		}
		page.Cursor = q.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Fatalf("queue order %v\nwant %v", got, want)
	}
	if n := len(f.queueIDs(t, f.st.Keys.StationQueue(3))); n != len(want) {
		t.Fatalf("stale entry not dropped: %d entries", n)
	}
	// Several stations (a station admin's subtree) read MySQL, same order.
	admin := model.Principal{UserID: 40, Roles: []model.Role{{Role: model.RoleStationAdmin, StationID: 2}}}
	q, err := f.svc.Queue(ctx, admin, model.Page{Limit: 100})
	if err != nil || len(q.Items) != len(want) {
		t.Fatalf("admin queue %d %v", len(q.Items), err)
	}
	for i, r := range q.Items {
		if r.ID != want[i] {
			t.Fatalf("admin queue order at %d: %d, want %d", i, r.ID, want[i])
		}
	}
}

func queueScoreOf(t *testing.T, f *dispatchFixture, id int64) int64 {
	r, err := f.st.GetRequest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	r.Status = model.StatusDispatched
	return r.QueueScore()
}

// TestRateReopensAndAutoClose: a low score reopens the request to its
// station's queue; a resolved request nobody rates closes by itself.
func TestRateReopensAndAutoClose(t *testing.T) {
	f := newDispatch(t, nil)
	ctx := context.Background()
	w := worker(10, 3)
	work := func(id int64) {
		t.Helper()
		if _, err := f.svc.Accept(ctx, w, id); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Start(ctx, w, id); err != nil {
			t.Fatal(err)
		}
		mins := 45
		if _, err := f.svc.Resolve(ctx, w, id, service.ResolveInput{Summary: "已上门探访", ServiceMinutes: &mins}); err != nil {
			t.Fatal(err)
		}
	}
	r := f.submit(t, 100, model.UrgencyNormal)
	_, err := f.svc.Rate(ctx, resident(100), r.ID, service.RateInput{Score: 5})
	mustCode(t, err, model.CodeFailedPrecondition)
	_, err = f.svc.Cancel(ctx, resident(101), r.ID, "")
	mustCode(t, err, model.CodeNotFound)
	work(r.ID)
	_, err = f.svc.Cancel(ctx, resident(100), r.ID, "不需要了")
	mustCode(t, err, model.CodeFailedPrecondition)
	out, err := f.svc.Rate(ctx, resident(100), r.ID, service.RateInput{Score: 2, Comment: "没解决"})
	if err != nil || out.Status != model.StatusReopened || out.Station.ID != 3 || out.Rating.Score != 2 {
		t.Fatalf("rate 2: %+v %v", out, err)
	}
	q, _ := f.svc.Queue(ctx, w, model.Page{Limit: 20})
	if len(q.Items) != 1 || q.Items[0].Status != model.StatusReopened {
		t.Fatalf("reopened not queued: %+v", q.Items)
	}
	_, err = f.svc.Reject(ctx, w, r.ID, "不想再办")
	mustCode(t, err, model.CodeFailedPrecondition)
	work(r.ID)
	out, err = f.svc.Rate(ctx, resident(100), r.ID, service.RateInput{Score: 4})
	if err != nil || out.Status != model.StatusClosed || out.ClosedAt == nil {
		t.Fatalf("rate 4: %+v %v", out, err)
	}

	r2 := f.submit(t, 100, model.UrgencyNormal)
	work(r2.ID)
	if n, err := f.svc.AutoClose(ctx, f.clock.Now().Add(23*time.Hour)); err != nil || n != 0 {
		t.Fatalf("closed early: %d %v", n, err)
	}
	if n, err := f.svc.AutoClose(ctx, f.clock.Now().Add(25*time.Hour)); err != nil || n != 1 {
		t.Fatalf("auto-close: %d %v", n, err)
	}
	got, err := f.svc.Get(ctx, resident(100), r2.ID)
	if err != nil || got.Status != model.StatusClosed {
		t.Fatalf("%+v %v", got, err)
	}
	last := got.Timeline[len(got.Timeline)-1]
	if last.Kind != model.EventClose || last.ActorRole != model.ActorSystem || last.From != model.StatusResolved {
		t.Fatalf("last event %+v", last)
	}
}

// lastEvent is the newest timeline entry of a request, as staff see it.
func lastEvent(t *testing.T, f *dispatchFixture, id int64) model.TimelineEntry {
	t.Helper()
	got, err := f.svc.Get(context.Background(), model.Principal{UserID: 1, Roles: []model.Role{{Role: model.RoleCityAdmin}}}, id)
	if err != nil {
		t.Fatal(err)
	}
	return got.Timeline[len(got.Timeline)-1]
}

// TestEscalationFromAnOrganizationAndAtTheTop: an overdue request held by an
// organization goes back to its station (no bounce counted); one overdue at
// the city station stays there, which must take it; both get a new deadline
// and a 督办 for the station's admins.
func TestEscalationFromAnOrganizationAndAtTheTop(t *testing.T) {
	f := newDispatch(t, nil)
	ctx := context.Background()
	admin3, admin1 := stationAdmin(t, f, "dev_admin3", 3), stationAdmin(t, f, "dev_admin1", 1)
	held := f.submit(t, 100, model.UrgencyNormal)
	if _, err := f.svc.Transfer(ctx, worker(10, 3), held.ID, service.TransferInput{OrgID: 7, Reason: "协会"}); err != nil {
		t.Fatal(err)
	}
	f.dir.order = []int64{1}
	top := f.submit(t, 101, model.UrgencyNormal)
	f.clock.Advance(time.Hour + time.Second)
	if n, err := f.svc.EscalateDue(ctx, f.clock.Now()); err != nil || n != 2 {
		t.Fatalf("escalated %d (%v), want 2", n, err)
	}
	accepts := f.clock.Now().Add(time.Hour)

	r, _ := f.st.GetRequest(ctx, held.ID)
	if r.Org != nil || r.Station.ID != 3 || r.Bounces != 0 || r.MustTake || r.Status != model.StatusDispatched || !r.AcceptBy.Equal(accepts) {
		t.Fatalf("back from the organization: %+v", r)
	}
	if e := lastEvent(t, f, held.ID); e.Kind != model.EventEscalate || e.ActorRole != model.ActorSystem ||
		e.Note != "超过签收时限未签收，从「延吉市老年协会」退回「北山A社区社工点」" {
		t.Fatalf("event %+v", e)
	}
	if q := f.queueIDs(t, f.st.Keys.OrgQueue(7)); len(q) != 0 {
		t.Fatalf("organization queue: %v", q)
	}
	if q := f.queueIDs(t, f.st.Keys.StationQueue(3)); !slices.Equal(q, []string{strconv.FormatInt(held.ID, 10)}) {
		t.Fatalf("station 3 queue: %v", q)
	}

	r, _ = f.st.GetRequest(ctx, top.ID)
	// The top keeps it: a timeout there is no bounce.
	if r.Station.ID != 1 || r.Bounces != 0 || !r.MustTake || r.Status != model.StatusDispatched || !r.AcceptBy.Equal(accepts) {
		t.Fatalf("at the top: %+v", r)
	}
	if e := lastEvent(t, f, top.ID); e.Kind != model.EventEscalate || e.Note != "超过签收时限未签收，仍由「延吉市社工总站」办理" {
		t.Fatalf("event %+v", e)
	}
	score, err := f.st.Redis.ZScore(ctx, f.st.Keys.DispatchDeadlines(), strconv.FormatInt(top.ID, 10)).Result()
	if err != nil || int64(score) != accepts.UnixMilli() {
		t.Fatalf("deadline %v %v, want %d", score, err, accepts.UnixMilli())
	}
	for id, admin := range map[int64]int64{held.ID: admin3, top.ID: admin1} {
		if n := f.count(t, `SELECT COUNT(*) FROM notifications WHERE user_id = ? AND ref_id = ? AND kind = 'request_escalated'`, admin, id); n != 1 {
			t.Fatalf("request %d: %d 督办 for its station's admin, want 1", id, n)
		}
	}
	// The station that keeps it hears it is still waiting, not that it
	// was moved there.
	if n := f.count(t, `SELECT COUNT(*) FROM notifications WHERE user_id = ? AND ref_id = ? AND title LIKE '督办：诉求仍未签收%' AND body LIKE '超过签收时限仍未被签收%'`, admin1, top.ID); n != 1 {
		t.Fatalf("the reminder at the top: %d", n)
	}
}

// stationAdmin makes a user who administers a station.
func stationAdmin(t *testing.T, f *dispatchFixture, openid string, station int64) int64 {
	t.Helper()
	return grantRoles(t, f, openid, model.Role{Role: model.RoleStationAdmin, StationID: station})
}

// grantRoles makes a user of openid holding roles and returns their id.
func grantRoles(t *testing.T, f *dispatchFixture, openid string, roles ...model.Role) int64 {
	t.Helper()
	u, err := f.st.UpsertUserByOpenID(context.Background(), openid, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if err := f.st.GrantRole(context.Background(), u.ID, r); err != nil {
			t.Fatal(err)
		}
	}
	return u.ID
}

// TestEscalationOfAStaleDeadline: a deadline entry older than the request's
// accept-by time (it was re-dispatched meanwhile) escalates nothing and puts
// the current deadline back in the set.
func TestEscalationOfAStaleDeadline(t *testing.T) {
	f := newDispatch(t, nil)
	ctx := context.Background()
	r := f.submit(t, 100, model.UrgencyNormal)
	member := strconv.FormatInt(r.ID, 10)
	f.st.Redis.ZAdd(ctx, f.st.Keys.DispatchDeadlines(), redisZ(float64(f.clock.Now().UnixMilli()), r.ID))
	f.clock.Advance(time.Minute)
	if n, err := f.svc.EscalateDue(ctx, f.clock.Now()); err != nil || n != 0 {
		t.Fatalf("escalated %d (%v), want 0", n, err)
	}
	if f.countEvents(t, r.ID, model.EventEscalate) != 0 {
		t.Fatal("a stale deadline escalated the request")
	}
	score, err := f.st.Redis.ZScore(ctx, f.st.Keys.DispatchDeadlines(), member).Result()
	if err != nil || int64(score) != r.AcceptBy.UnixMilli() {
		t.Fatalf("deadline %v %v, want %d", score, err, r.AcceptBy.UnixMilli())
	}
}

// TestActionRefusals: each action refuses a caller without the right, a
// request in the wrong state and bad input with the code its doc promises,
// and changes nothing.
func TestActionRefusals(t *testing.T) {
	f := newDispatch(t, nil)
	ctx := context.Background()
	owner, stranger := resident(100), resident(101)
	w, colleague := worker(10, 3), worker(11, 3)
	admin2 := model.Principal{UserID: 40, Roles: []model.Role{{Role: model.RoleStationAdmin, StationID: 2}}}
	orgAdmin := model.Principal{UserID: 30, Roles: []model.Role{{Role: model.RoleOrgAdmin, OrgID: 7}}}
	mins := 30
	bad := -1

	open := f.submit(t, 100, model.UrgencyNormal)
	held := f.submit(t, 100, model.UrgencyNormal)
	if _, err := f.svc.Transfer(ctx, w, held.ID, service.TransferInput{OrgID: 7, Reason: "协会"}); err != nil {
		t.Fatal(err)
	}
	taken := f.submit(t, 100, model.UrgencyNormal)
	if _, err := f.svc.Accept(ctx, w, taken.ID); err != nil {
		t.Fatal(err)
	}
	busy := f.submit(t, 100, model.UrgencyNormal)
	if _, err := f.svc.Accept(ctx, w, busy.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Start(ctx, w, busy.ID); err != nil {
		t.Fatal(err)
	}
	events := f.count(t, `SELECT COUNT(*) FROM request_events`)
	transfer := func(p model.Principal, id int64, in service.TransferInput) func() error {
		return func() error { _, err := f.svc.Transfer(ctx, p, id, in); return err }
	}
	resolve := func(p model.Principal, id int64, in service.ResolveInput) func() error {
		return func() error { _, err := f.svc.Resolve(ctx, p, id, in); return err }
	}

	for _, tc := range []struct {
		name string
		do   func() error
		want model.Code
	}{
		{"reject by an admin above, not the holder", func() error { _, err := f.svc.Reject(ctx, admin2, open.ID, "不要"); return err }, model.CodePermissionDenied},
		{"reject accepted work", func() error { _, err := f.svc.Reject(ctx, w, taken.ID, "不要"); return err }, model.CodeFailedPrecondition},
		{"transfer by the holding organization", transfer(orgAdmin, held.ID, service.TransferInput{StationID: 5, Reason: "转"}), model.CodePermissionDenied},
		{"transfer to the station holding it", transfer(w, open.ID, service.TransferInput{StationID: 3, Reason: "转"}), model.CodeInvalid},
		{"transfer accepted work", transfer(w, taken.ID, service.TransferInput{StationID: 5, Reason: "转"}), model.CodeFailedPrecondition},
		{"transfer to a missing organization", transfer(w, open.ID, service.TransferInput{OrgID: 99, Reason: "转"}), model.CodeInvalid},
		{"start by the resident", func() error { _, err := f.svc.Start(ctx, owner, taken.ID); return err }, model.CodePermissionDenied},
		{"start by a colleague", func() error { _, err := f.svc.Start(ctx, colleague, taken.ID); return err }, model.CodePermissionDenied},
		{"start before acceptance", func() error { _, err := f.svc.Start(ctx, w, open.ID); return err }, model.CodeFailedPrecondition},
		{"resolve without a summary", resolve(w, taken.ID, service.ResolveInput{Summary: " ", ServiceMinutes: &mins}), model.CodeInvalid},
		{"resolve without minutes", resolve(w, taken.ID, service.ResolveInput{Summary: "已办"}), model.CodeInvalid},
		{"resolve with negative minutes", resolve(w, taken.ID, service.ResolveInput{Summary: "已办", ServiceMinutes: &bad}), model.CodeInvalid},
		{"resolve by the resident", resolve(owner, busy.ID, service.ResolveInput{Summary: "已办", ServiceMinutes: &mins}), model.CodePermissionDenied},
		{"resolve by a colleague", resolve(colleague, busy.ID, service.ResolveInput{Summary: "已办", ServiceMinutes: &mins}), model.CodePermissionDenied},
		{"resolve before it is in progress", resolve(w, taken.ID, service.ResolveInput{Summary: "已办", ServiceMinutes: &mins}), model.CodeFailedPrecondition},
		{"cancel by staff", func() error { _, err := f.svc.Cancel(ctx, w, open.ID, ""); return err }, model.CodePermissionDenied},
		{"cancel with a control character", func() error { _, err := f.svc.Cancel(ctx, owner, open.ID, "a\x00b"); return err }, model.CodeInvalid},
		{"rate with score 0", func() error { _, err := f.svc.Rate(ctx, owner, taken.ID, service.RateInput{Score: 0}); return err }, model.CodeInvalid},
		{"rate with a control character", func() error {
			_, err := f.svc.Rate(ctx, owner, taken.ID, service.RateInput{Score: 5, Comment: "a\x07"})
			return err
		}, model.CodeInvalid},
		{"rate by staff", func() error { _, err := f.svc.Rate(ctx, w, taken.ID, service.RateInput{Score: 5}); return err }, model.CodePermissionDenied},
		{"note by the resident", func() error { _, err := f.svc.AddNote(ctx, owner, open.ID, "备注", nil); return err }, model.CodePermissionDenied},
		{"note on someone else's request", func() error { _, err := f.svc.AddNote(ctx, stranger, open.ID, "备注", nil); return err }, model.CodeNotFound},
		{"empty note", func() error { _, err := f.svc.AddNote(ctx, w, open.ID, "", nil); return err }, model.CodeInvalid},
		{"note on a missing request", func() error { _, err := f.svc.AddNote(ctx, w, 99999, "备注", nil); return err }, model.CodeNotFound},
	} {
		if err := tc.do(); !model.IsCode(err, tc.want) {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.want)
		}
	}
	if n := f.count(t, `SELECT COUNT(*) FROM request_events`); n != events {
		t.Fatalf("refused actions wrote %d events", n-events)
	}
}

// racingStore loses every conditional update, as when other changes keep
// winning the race for the row.
type racingStore struct {
	*store.Store
	updates atomic.Int64
}

func (s *racingStore) UpdateRequest(ctx context.Context, ch model.RequestChange) (model.Request, bool, error) {
	s.updates.Add(1)
	return ch.Before, false, nil
}

// TestActRereadsALostRaceThenGivesUp: an action whose conditional update
// loses reads the row and decides again; after eight lost races it answers
// unavailable, having changed nothing.
func TestActRereadsALostRaceThenGivesUp(t *testing.T) {
	f := newDispatch(t, nil)
	r := f.submit(t, 100, model.UrgencyNormal)
	racing := &racingStore{Store: f.st}
	svc := f.serviceOver(racing, nil, f.cfg)
	_, err := svc.Accept(context.Background(), worker(10, 3), r.ID)
	mustCode(t, err, model.CodeUnavailable)
	if n := racing.updates.Load(); n != 8 {
		t.Fatalf("%d attempts, want 8", n)
	}
	if got, _ := f.st.GetRequest(context.Background(), r.ID); got.Status != model.StatusDispatched {
		t.Fatalf("status %s", got.Status)
	}
}
