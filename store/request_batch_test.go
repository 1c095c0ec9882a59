package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/store"
	"jindalai/store/storetest"
)

func batchOf(n int, station int64, withKeys bool) []model.NewRequest {
	out := make([]model.NewRequest, n)
	for i := range out {
		r := newRequest(int64(100 + i))
		r.Station.ID = station
		r.Description = "批量 ? 诉求 " + itoa(int64(i))
		out[i] = model.NewRequest{Request: r,
			Events: []model.RequestEvent{{Kind: model.EventSubmit, To: model.StatusSubmitted, ActorID: r.ResidentID, ActorRole: "resident", StationID: station},
				{Kind: model.EventDispatch, From: model.StatusSubmitted, To: model.StatusDispatched, ActorRole: "system", StationID: station}},
			Notices: []model.RequestNotice{
				{To: model.Audience{StationID: station, Roles: []model.RoleName{model.RoleSocialWorker, model.RoleStationAdmin}},
					Notification: model.Notification{Kind: "request_dispatched", Title: "新诉求 " + itoa(int64(i)), Data: map[string]string{"title": "上门探访"}}},
				{To: model.Audience{UserID: r.ResidentID}, Notification: model.Notification{Kind: "request_accepted", Title: "回执"}},
			}}
		if withKeys {
			out[i].Idem = key(r.ResidentID, "batch-"+itoa(int64(i)), "body "+itoa(int64(i)))
		}
	}
	return out
}

// toStationAdmins keeps only each request's first notice and addresses it
// to the station admins alone.
func toStationAdmins(batch []model.NewRequest) []model.NewRequest {
	for i := range batch {
		batch[i].Notices = batch[i].Notices[:1]
		batch[i].Notices[0].To.Roles = []model.RoleName{model.RoleStationAdmin}
	}
	return batch
}

// unprepared wraps requests for CreateRequests, which prepares them.
func unprepared(batch []model.NewRequest) []model.PreparedRequest {
	out := make([]model.PreparedRequest, len(batch))
	for i, nr := range batch {
		out[i] = model.PreparedRequest{NewRequest: nr}
	}
	return out
}

func count(t *testing.T, st *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := st.DB.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCreateRequestsBatch: one transaction stores every request with its own
// id, events, notifications (a staff member holding two roles gets one) and
// idempotency reply; a replay through CreateRequest returns that reply. Both
// ways of learning the ids: one multi-row INSERT, and one INSERT per row.
func TestCreateRequestsBatch(t *testing.T) {
	t.Run("multi-row", func(t *testing.T) { testCreateRequestsBatch(t, true) })
	t.Run("row by row", func(t *testing.T) { testCreateRequestsBatch(t, false) })
}

func testCreateRequestsBatch(t *testing.T, multiRow bool) {
	st := storetest.New(t)
	store.SetBatchIDPlan(st, multiRow, 1)
	ctx := context.Background()
	staff := mustStaff(t, st, "dev_batch_staff", model.Role{Role: model.RoleSocialWorker, StationID: 3},
		model.Role{Role: model.RoleStationAdmin, StationID: 3})
	other := mustStaff(t, st, "dev_batch_other", model.Role{Role: model.RoleSocialWorker, StationID: 4})
	batch := append(batchOf(5, 3, true), batchOf(3, 4, false)...)
	for i := 5; i < 8; i++ {
		batch[i].Request.ResidentID = int64(200 + i)
		batch[i].Notices = batch[i].Notices[:1]
	}
	out, err := st.CreateRequests(ctx, unprepared(batch), nil)
	if err != nil || len(out) != len(batch) {
		t.Fatalf("batch: %d %v", len(out), err)
	}
	seen := map[int64]bool{}
	for i, r := range out {
		if r.ID == 0 || seen[r.ID] {
			t.Fatalf("request %d: id %d", i, r.ID)
		}
		seen[r.ID] = true
		got, err := st.GetRequest(ctx, r.ID)
		if err != nil || got.ResidentID != batch[i].Request.ResidentID || got.Description != batch[i].Request.Description ||
			got.Station.ID != batch[i].Request.Station.ID {
			t.Fatalf("request %d read back: %+v %v", i, got, err)
		}
		if n := count(t, st, `SELECT COUNT(*) FROM request_events WHERE request_id = ?`, r.ID); n != 2 {
			t.Fatalf("request %d: %d events", i, n)
		}
		staffFor, title := staff, "新诉求 "+itoa(int64(i))
		if i >= 5 {
			staffFor, title = other, "新诉求 "+itoa(int64(i-5))
		}
		var page, gotTitle string
		if err := st.DB.QueryRow(`SELECT page, title FROM notifications WHERE user_id = ? AND ref_id = ?`, staffFor, r.ID).
			Scan(&page, &gotTitle); err != nil || page != "pages/request/detail?id="+itoa(r.ID) || gotTitle != title {
			t.Fatalf("request %d staff notification: %q %q %v", i, page, gotTitle, err)
		}
	}
	if n := count(t, st, `SELECT COUNT(*) FROM notifications WHERE kind = 'request_accepted'`); n != 5 {
		t.Fatalf("user notices: %d", n)
	}
	for i := 0; i < 5; i++ {
		again, replayed, err := st.CreateRequest(ctx, batch[i].Idem, batch[i].Request, batch[i].Events, batch[i].Notices)
		if err != nil || !replayed {
			t.Fatalf("replay %d: %v %v", i, replayed, err)
		}
		if again.ID != out[i].ID || !again.AcceptBy.Equal(out[i].AcceptBy) || again.Status != "" {
			t.Fatalf("replay %d keeps %+v, want only the id and the accept-by time of %+v", i, again, out[i])
		}
	}
	if n := count(t, st, `SELECT COUNT(*) FROM requests`); n != 8 {
		t.Fatalf("rows: %d", n)
	}
}

// TestCreateRequestsBatchIsAllOrNothing: a key already stored, or a row
// MySQL refuses, fails the whole batch with nothing written and no
// transaction left open.
func TestCreateRequestsBatchIsAllOrNothing(t *testing.T) {
	st := storetest.New(t)
	st.DB.SetMaxOpenConns(1)
	ctx := context.Background()
	batch := batchOf(4, 3, true)
	if _, _, err := st.CreateRequest(ctx, batch[2].Idem, batch[2].Request, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRequests(ctx, unprepared(batch), nil); !model.IsCode(err, model.CodeConflict) || !errors.Is(err, model.ErrNotWritten) {
		t.Fatalf("stored key: %v", err)
	}
	bad := batchOf(3, 3, false)
	bad[1].Request.Address = strings.Repeat("长", 300)
	if _, err := st.CreateRequests(ctx, unprepared(bad), nil); err == nil || !errors.Is(err, model.ErrNotWritten) {
		t.Fatalf("a refused row: %v", err)
	}
	// Ids computed with another auto-increment step than the server's:
	// the script refuses to link anything to them.
	store.SetBatchIDPlan(st, true, 2)
	if _, err := st.CreateRequests(ctx, unprepared(batchOf(3, 3, false)), nil); err == nil {
		t.Fatal("a batch built for another auto-increment step passed")
	}
	if n := inTransaction(t, st); n != 0 {
		t.Fatal("connection left inside a transaction")
	}
	if n := count(t, st, `SELECT (SELECT COUNT(*) FROM requests) + (SELECT COUNT(*) FROM request_events) + (SELECT COUNT(*) FROM notifications)`); n != 1 {
		t.Fatalf("rows left: %d", n)
	}
}

// TestCreateRequestsCommitsOnlyIfAllowed: commitIf's refusal rolls the
// whole batch back, leaving no transaction open on the (single) pooled
// connection, and comes back joined with ErrNotWritten; its consent commits.
func TestCreateRequestsCommitsOnlyIfAllowed(t *testing.T) {
	stores := storetest.Replicas(t, 2, 0)
	st, watcher := stores[0], stores[1]
	st.DB.SetMaxOpenConns(1)
	ctx := context.Background()
	// Another connection that reads uncommitted rows sees when the
	// statements have run.
	watch, err := watcher.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	if _, err := watch.ExecContext(ctx, `SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED`); err != nil {
		t.Fatal(err)
	}
	refusal := model.Errorf(model.CodeTooManyRequests, "限流")
	asked, written := 0, 0
	_, err = st.CreateRequests(ctx, unprepared(batchOf(3, 3, true)), func() error {
		asked++
		// Asked once the statements ran (their rows are there, not yet
		// committed), so that the caller's check overlaps them.
		if err := watch.QueryRowContext(ctx, `SELECT COUNT(*) FROM requests`).Scan(&written); err != nil {
			t.Error(err)
		}
		return refusal
	})
	if asked != 1 || written != 3 || !errors.Is(err, refusal) || !errors.Is(err, model.ErrNotWritten) {
		t.Fatalf("asked %d with %d rows written, err %v", asked, written, err)
	}
	if n := inTransaction(t, st); n != 0 {
		t.Fatal("connection left inside a transaction")
	}
	if n := count(t, st, `SELECT (SELECT COUNT(*) FROM requests) + (SELECT COUNT(*) FROM request_events) + (SELECT COUNT(*) FROM notifications) + (SELECT COUNT(*) FROM idempotency_keys)`); n != 0 {
		t.Fatalf("rows left by a refused batch: %d", n)
	}
	out, err := st.CreateRequests(ctx, unprepared(batchOf(3, 3, true)), func() error { return nil })
	if err != nil || len(out) != 3 {
		t.Fatalf("allowed batch: %d %v", len(out), err)
	}
	if n := count(t, st, `SELECT COUNT(*) FROM requests`); n != 3 {
		t.Fatalf("rows of an allowed batch: %d", n)
	}
}

// TestCreateRequestsCutOffBeforeCommit: a batch whose connection is lost
// while its statements run (here: its context ends while it waits for a
// key another transaction holds) certainly did not commit when COMMIT is
// sent on its own (commitIf), and says so (ErrNotWritten); with COMMIT in
// the script the outcome is unknown (MariaDB runs the rest of a script
// whose client has gone, COMMIT included).
func TestCreateRequestsCutOffBeforeCommit(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		commitIf func() error
		known    bool
	}{{"commit on its own", func() error { return nil }, true}, {"commit in the script", nil, false}} {
		t.Run(tc.name, func(t *testing.T) {
			// A first batch learns the id plan and opens the
			// connections, so the cut below falls in the statements.
			if _, err := st.CreateRequests(ctx, unprepared(batchOf(1, 9, false)), nil); err != nil {
				t.Fatal(err)
			}
			batch := batchOf(3, 3, true)
			holder, err := st.DB.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Rollback()
			k := batch[1].Idem
			if _, err := holder.ExecContext(ctx, `INSERT INTO idempotency_keys (user_id, idem_key, scope, fingerprint, reply, created_at)
				VALUES (?, ?, ?, ?, '{}', UTC_TIMESTAMP(3))`, k.UserID, k.Key, k.Scope, k.Fingerprint[:]); err != nil {
				t.Fatal(err)
			}
			cut, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			_, err = st.CreateRequests(cut, unprepared(batch), tc.commitIf)
			if err == nil || errors.Is(err, model.ErrNotWritten) != tc.known {
				t.Fatalf("err %v: ErrNotWritten %v, want %v", err, errors.Is(err, model.ErrNotWritten), tc.known)
			}
			if err := holder.Rollback(); err != nil {
				t.Fatal(err)
			}
			if !tc.known {
				return // MariaDB may well run the rest, COMMIT included
			}
			// The server runs the rest once the key is free, then rolls
			// back for the connection it lost.
			waitTransactionsEnded(t, st)
			if n := count(t, st, `SELECT COUNT(*) FROM requests WHERE station_id = 3`); n != 0 {
				t.Fatalf("rows of a batch reported not written: %d", n)
			}
		})
	}
}

// waitTransactionsEnded waits until no connection to st's database has a
// transaction open, such as a script whose client has gone.
func waitTransactionsEnded(t *testing.T, st *store.Store) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n := count(t, st, `SELECT COUNT(*) FROM information_schema.innodb_trx
			WHERE trx_mysql_thread_id IN (SELECT id FROM information_schema.processlist WHERE db = DATABASE())`)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions still open", n)
		}
	}
}

// TestPlaceNewRequests: one pipeline puts each request in its station's queue
// and the deadline set.
func TestPlaceNewRequests(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	rs := []model.Request{newRequest(1), newRequest(2), newRequest(3)}
	for i := range rs {
		rs[i].ID = int64(10 + i)
	}
	rs[2].Station.ID = 4
	if err := st.PlaceNewRequests(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Redis.ZCard(ctx, st.Keys.StationQueue(3)).Result(); n != 2 {
		t.Fatalf("queue 3: %d", n)
	}
	if n, _ := st.Redis.ZCard(ctx, st.Keys.StationQueue(4)).Result(); n != 1 {
		t.Fatalf("queue 4: %d", n)
	}
	score, err := st.Redis.ZScore(ctx, st.Keys.DispatchDeadlines(), "12").Result()
	if err != nil || int64(score) != rs[2].AcceptBy.UnixMilli() {
		t.Fatalf("deadline: %v %v", score, err)
	}
}

// TestStaffNoticesToOneRole: a notice to the holders of one role at a
// station (no de-duplication in the SQL) reaches each holder once, in the
// batch and alone, and nobody else; a role held at a station and at an
// organization at once is refused by MySQL, which is what makes that safe.
func TestStaffNoticesToOneRole(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	roles := []model.Role{{Role: model.RoleStationAdmin, StationID: 3}, {Role: model.RoleSocialWorker, StationID: 3},
		{Role: model.RoleStationAdmin, StationID: 4}}
	admins := []int64{mustStaff(t, st, "dev_one_role_a", roles...), mustStaff(t, st, "dev_one_role_b", roles...)}
	out, err := st.CreateRequests(ctx, unprepared(toStationAdmins(batchOf(3, 3, false))), nil)
	if err != nil {
		t.Fatal(err)
	}
	one := toStationAdmins(batchOf(1, 3, false))[0]
	alone, _, err := st.CreateRequest(ctx, nil, one.Request, nil, one.Notices)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(out, alone) {
		for _, u := range admins {
			if n := count(t, st, `SELECT COUNT(*) FROM notifications WHERE user_id = ? AND ref_id = ?`, u, r.ID); n != 1 {
				t.Fatalf("request %d: admin %d has %d notices, want 1", r.ID, u, n)
			}
		}
	}
	if n := count(t, st, `SELECT COUNT(*) FROM notifications`); n != 2*4 {
		t.Fatalf("%d notices, want one per admin and request", n)
	}
	_, err = st.DB.ExecContext(ctx, `INSERT INTO user_roles (user_id, role, station_id, org_id, created_at) VALUES (?, 'station_admin', 3, 5, NOW())`, admins[0])
	if err == nil || !strings.Contains(err.Error(), "ck_user_roles_one_holder") {
		t.Fatalf("a role held at a station and an organization at once: %v, want the check constraint's refusal", err)
	}
}
