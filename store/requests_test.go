package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/store"
	"jindalai/store/storetest"
)

func newRequest(resident int64) model.Request {
	return model.Request{ResidentID: resident, Status: model.StatusDispatched, Category: "home_visit", CategoryName: "上门探访",
		Description: "需要上门探访 ? 'quoted' \\ back", Lat: 42.92, Lng: 129.5, Urgency: model.UrgencyNormal,
		Images: []string{}, Fields: map[string]any{"people": 2.0}, Station: model.StationRef{ID: 3, Name: "北山A社区社工点", Level: 3},
		Organizations: []model.OrgRef{{ID: 7, Name: "老年协会"}}, Candidates: []model.StationRef{{ID: 3, Name: "北山A社区社工点", Level: 3}},
		AcceptBy: time.Now().Add(time.Hour).Truncate(time.Millisecond)}
}

func key(user int64, k, body string) *model.Idempotency {
	return &model.Idempotency{UserID: user, Key: k, Scope: "requests.create", Fingerprint: sha256.Sum256([]byte(body))}
}

func inTransaction(t *testing.T, st *store.Store) int {
	t.Helper()
	var n int
	if err := st.DB.QueryRow(`SELECT @@in_transaction`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCreateRequestScript: the one-round-trip create stores the row, its
// events and staff notifications; a replay returns the first reply with the
// real id; a key reused with another body is a conflict that leaves no row
// and no open transaction on the (single) pooled connection.
func TestCreateRequestScript(t *testing.T) {
	st := storetest.New(t)
	st.DB.SetMaxOpenConns(1)
	ctx := context.Background()
	staff := mustUser(t, st, "dev_staff")
	if err := st.GrantRole(ctx, staff, model.Role{Role: model.RoleSocialWorker, StationID: 3}); err != nil {
		t.Fatal(err)
	}
	events := []model.RequestEvent{{Kind: model.EventSubmit, To: model.StatusSubmitted, ActorID: 100, ActorRole: "resident"},
		{Kind: model.EventDispatch, From: model.StatusSubmitted, To: model.StatusDispatched, ActorRole: "system"}}
	notices := []model.RequestNotice{{To: model.Audience{StationID: 3, Roles: []model.RoleName{model.RoleSocialWorker, model.RoleStationAdmin}},
		Notification: model.Notification{Kind: "request_dispatched", Title: "新诉求待签收?", Data: map[string]string{"title": "上门探访"}}}}
	r, replayed, err := st.CreateRequest(ctx, key(100, "k1", "a"), newRequest(100), events, notices)
	if err != nil || replayed || r.ID == 0 {
		t.Fatalf("create: %+v %v %v", r, replayed, err)
	}
	got, err := st.GetRequest(ctx, r.ID)
	if err != nil || got.Description != r.Description || got.Organizations[0].Name != "老年协会" || got.Fields["people"] != 2.0 {
		t.Fatalf("read back: %+v %v", got, err)
	}
	var page string
	var refID int64
	if err := st.DB.QueryRow(`SELECT page, ref_id FROM notifications WHERE user_id = ? AND kind = 'request_dispatched'`, staff).
		Scan(&page, &refID); err != nil || refID != r.ID || page != "pages/request/detail?id="+itoa(r.ID) {
		t.Fatalf("notification: %q %d %v", page, refID, err)
	}
	if ms, err := st.ListMessages(ctx, staff, 0, 10, false); err != nil || len(ms) != 1 || ms[0].Title != "新诉求待签收?" ||
		fmt.Sprint(ms[0].Data) != "map[title:上门探访]" {
		t.Fatalf("staff messages: %+v (%v)", ms, err)
	}
	again, replayed, err := st.CreateRequest(ctx, key(100, "k1", "a"), newRequest(100), events, notices)
	if err != nil || !replayed || again.ID != r.ID {
		t.Fatalf("replay: id %d replayed %v %v", again.ID, replayed, err)
	}
	if again.ID != r.ID || !again.AcceptBy.Equal(r.AcceptBy) || again.Status != "" {
		t.Fatalf("replay keeps %+v, want only the id and the accept-by time of %+v", again, r)
	}
	_, _, err = st.CreateRequest(ctx, key(100, "k1", "another body"), newRequest(100), events, notices)
	if !model.IsCode(err, model.CodeConflict) {
		t.Fatalf("reused key: %v", err)
	}
	if n := inTransaction(t, st); n != 0 {
		t.Fatal("connection left inside a transaction")
	}
	var rows, evs int
	if err := st.DB.QueryRow(`SELECT (SELECT COUNT(*) FROM requests), (SELECT COUNT(*) FROM request_events)`).Scan(&rows, &evs); err != nil || rows != 1 || evs != 2 {
		t.Fatalf("rows %d events %d (%v)", rows, evs, err)
	}
}

// TestUpdateRequestIsConditional: a change against a stale version writes
// nothing (no event, no notification) and reports applied = false.
func TestUpdateRequestIsConditional(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	r, _, err := st.CreateRequest(ctx, nil, newRequest(100), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _ = st.GetRequest(ctx, r.ID)
	next := r
	next.Status = model.StatusAccepted
	worker := int64(9)
	next.WorkerID = &worker
	ch := model.RequestChange{Before: r, After: next, Event: model.RequestEvent{Kind: model.EventAccept, From: r.Status, To: next.Status, ActorID: 9, ActorRole: "social_worker"},
		Notices: []model.RequestNotice{{To: model.Audience{UserID: 100}, Notification: model.Notification{Kind: "request_accepted", Title: "已签收"}}}}
	out, applied, err := st.UpdateRequest(ctx, ch)
	if err != nil || !applied || out.Version != r.Version+1 {
		t.Fatalf("first: %v %v %d", applied, err, out.Version)
	}
	_, applied, err = st.UpdateRequest(ctx, ch)
	if err != nil || applied {
		t.Fatalf("stale: applied %v %v", applied, err)
	}
	var evs, ns int
	if err := st.DB.QueryRow(`SELECT (SELECT COUNT(*) FROM request_events), (SELECT COUNT(*) FROM notifications WHERE ref_id = ?)`, r.ID).
		Scan(&evs, &ns); err != nil || evs != 1 || ns != 1 {
		t.Fatalf("events %d notifications %d (%v)", evs, ns, err)
	}
	got, _ := st.GetRequest(ctx, r.ID)
	if got.Status != model.StatusAccepted || *got.WorkerID != 9 || got.Version != r.Version+1 {
		t.Fatalf("row: %+v", got)
	}
	// Escalation's guard: not yet due.
	next2 := got
	next2.Status = model.StatusDispatched
	_, applied, err = st.UpdateRequest(ctx, model.RequestChange{Before: got, After: next2, DueBy: got.AcceptBy.Add(-time.Minute),
		Event: model.RequestEvent{Kind: model.EventEscalate, ActorRole: "system"}})
	if err != nil || applied {
		t.Fatalf("not due: %v %v", applied, err)
	}
}

func itoa(id int64) string { b, _ := json.Marshal(id); return string(b) }

// TestRebuildDispatchIndex: a rebuild puts every open request back from
// MySQL: a dispatched one in its station's (or organization's) queue and the
// deadline set, a reopened one in its station's queue only; a request no
// longer open in none. Then the marker is set.
func TestRebuildDispatchIndex(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	ids := make([]int64, 4)
	for i := range ids {
		r := newRequest(100)
		if i == 0 {
			r.Urgency = model.UrgencyUrgent
		}
		created, _, err := st.CreateRequest(ctx, nil, r, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = created.ID
	}
	for i, q := range []string{
		`UPDATE requests SET org_id = 7, org_name = '老年协会' WHERE id = ?`,
		`UPDATE requests SET status = 'reopened' WHERE id = ?`,
		`UPDATE requests SET status = 'accepted' WHERE id = ?`,
	} {
		if _, err := st.DB.ExecContext(ctx, q, ids[1+i]); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.RebuildDispatchIndex(ctx)
	if err != nil || n != 3 {
		t.Fatalf("rebuild: %d %v", n, err)
	}
	rs := make([]model.Request, len(ids))
	for i, id := range ids {
		if rs[i], err = st.GetRequest(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	want := func(key string, got, want map[string]float64) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: %v, want %v", key, got, want)
		}
	}
	id := func(i int) string { return itoa(rs[i].ID) }
	want("station queue", zscores(t, st, st.Keys.StationQueue(3)), map[string]float64{
		id(0): float64(rs[0].QueueScore()), id(2): float64(rs[2].QueueScore())})
	want("org queue", zscores(t, st, st.Keys.OrgQueue(7)), map[string]float64{id(1): float64(rs[1].QueueScore())})
	want("deadlines", zscores(t, st, st.Keys.DispatchDeadlines()), map[string]float64{
		id(0): float64(rs[0].AcceptBy.UnixMilli()), id(1): float64(rs[1].AcceptBy.UnixMilli())})
	if present, err := st.DispatchIndexPresent(ctx); err != nil || !present {
		t.Fatalf("marker: %v %v", present, err)
	}
}

// TestRequestNoticesReachTheirAudience: a notice to the holders of roles at
// an organization reaches that organization's holders only (once each,
// however many of the roles they hold), one to a station's holders that
// station's only; alone (CreateRequest, UpdateRequest) and in a batch.
func TestRequestNoticesReachTheirAudience(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	orgAdmin := mustStaff(t, st, "dev_org7", model.Role{Role: model.RoleOrgAdmin, OrgID: 7}, model.Role{Role: model.RoleVolunteer, OrgID: 7})
	otherOrg := mustStaff(t, st, "dev_org8", model.Role{Role: model.RoleOrgAdmin, OrgID: 8})
	stationAdmin := mustStaff(t, st, "dev_st3", model.Role{Role: model.RoleStationAdmin, StationID: 3})
	otherStation := mustStaff(t, st, "dev_st4", model.Role{Role: model.RoleStationAdmin, StationID: 4})
	notices := []model.RequestNotice{
		{To: model.Audience{OrgID: 7, Roles: []model.RoleName{model.RoleOrgAdmin, model.RoleVolunteer}},
			Notification: model.Notification{Kind: "request_dispatched", Title: "转给组织"}},
		{To: model.Audience{StationID: 3, Roles: []model.RoleName{model.RoleStationAdmin}},
			Notification: model.Notification{Kind: "request_dispatched", Title: "给社工点"}},
	}
	check := func(how string, requestID int64, each int) {
		t.Helper()
		got := map[int64]int{}
		for _, u := range []int64{orgAdmin, otherOrg, stationAdmin, otherStation} {
			got[u] = count(t, st, `SELECT COUNT(*) FROM notifications WHERE user_id = ? AND ref_id = ?`, u, requestID)
		}
		want := map[int64]int{orgAdmin: each, otherOrg: 0, stationAdmin: each, otherStation: 0}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: notifications by user %v, want %v", how, got, want)
		}
	}
	r, _, err := st.CreateRequest(ctx, nil, newRequest(100), nil, notices)
	if err != nil {
		t.Fatal(err)
	}
	check("create", r.ID, 1)
	next := r
	next.Bounces++
	_, applied, err := st.UpdateRequest(ctx, model.RequestChange{Before: r, After: next, Notices: notices,
		Event: model.RequestEvent{Kind: model.EventTransfer, From: r.Status, To: next.Status, ActorRole: "system"}})
	if err != nil || !applied {
		t.Fatalf("update: %v %v", applied, err)
	}
	check("update", r.ID, 2)
	batch, err := st.CreateRequests(ctx, unprepared([]model.NewRequest{{Request: newRequest(101), Notices: notices}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	check("batch", batch[0].ID, 1)
}

// TestQueueEntriesTrustsOnlyAMarkedIndex: a queue read while the rebuild
// marker is missing returns no entries and present false (whatever the
// queue holds); once rebuilt, the entries in queue order.
func TestQueueEntriesTrustsOnlyAMarkedIndex(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	var rs []model.Request
	for range 2 {
		r, _, err := st.CreateRequest(ctx, nil, newRequest(100), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	if err := st.PlaceNewRequests(ctx, rs); err != nil {
		t.Fatal(err)
	}
	entries, more, present, err := st.QueueEntries(ctx, 3, 0, nil, 10)
	if err != nil || present || more || entries != nil {
		t.Fatalf("without the marker: %v %v %v %v, want nothing and not present", entries, more, present, err)
	}
	if _, err := st.RebuildDispatchIndex(ctx); err != nil {
		t.Fatal(err)
	}
	entries, more, present, err = st.QueueEntries(ctx, 3, 0, nil, 1)
	if err != nil || !present || !more || len(entries) != 1 || entries[0].ID != rs[0].ID {
		t.Fatalf("marked, limit 1: %v %v %v %v, want request %d and more", entries, more, present, err, rs[0].ID)
	}
	entries, more, present, err = st.QueueEntries(ctx, 3, 0, &entries[0], 10)
	if err != nil || !present || more || len(entries) != 1 || entries[0].ID != rs[1].ID {
		t.Fatalf("marked, after the first: %v %v %v %v, want request %d alone", entries, more, present, err, rs[1].ID)
	}
}
