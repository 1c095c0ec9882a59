package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/store"
	"jindalai/store/storetest"
)

// insertAged inserts one notification per state, created age ago, and
// returns their ids in the same order.
func insertAged(t *testing.T, st *store.Store, age time.Duration, states ...string) []int64 {
	t.Helper()
	created := time.Now().UTC().Add(-age)
	ids := make([]int64, len(states))
	for i, state := range states {
		res, err := st.DB.Exec(`INSERT INTO notifications
			(user_id, kind, title, body, data, push_state, next_attempt_at, created_at)
			VALUES (1, 'request_accepted', '已受理', '', '{}', ?, ?, ?)`, state, created, created)
		if err != nil {
			t.Fatal(err)
		}
		if ids[i], err = res.LastInsertId(); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// notificationIDs returns the ids of every notification, ascending.
func notificationIDs(t *testing.T, st *store.Store) []int64 {
	t.Helper()
	rows, err := st.DB.Query(`SELECT id FROM notifications ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestPurgeNotificationsDeletesOnlyOldFinishedRows(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	all := []string{model.PushSent, model.PushSkipped, model.PushDead, model.PushPending, model.PushSending}
	old := insertAged(t, st, 200*24*time.Hour, all...)
	recent := insertAged(t, st, 179*24*time.Hour, all...)
	cutoff := time.Now().Add(-180 * 24 * time.Hour)

	n, err := st.PurgeNotifications(ctx, cutoff, 1000)
	if err != nil || n != 3 {
		t.Fatalf("purged %d (%v), want the 3 old finished rows", n, err)
	}
	want := fmt.Sprint(append([]int64{old[3], old[4]}, recent...))
	if got := fmt.Sprint(notificationIDs(t, st)); got != want {
		t.Fatalf("left %s, want %s (old pending and sending, every recent row)", got, want)
	}
	if n, err := st.PurgeNotifications(ctx, cutoff, 1000); err != nil || n != 0 {
		t.Fatalf("second purge deleted %d (%v), want 0", n, err)
	}
	if _, err := st.PurgeNotifications(ctx, cutoff, 0); !model.IsCode(err, model.CodeInternal) {
		t.Fatalf("limit 0: %v, want internal", err)
	}
}

func TestPurgeNotificationsGoesOldestFirstInBatches(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	var ids []int64
	for age := 25; age > 0; age-- { // oldest first, so ids and ages agree
		ids = append(ids, insertAged(t, st, time.Duration(200+age)*24*time.Hour, model.PushSent)...)
	}
	kept := insertAged(t, st, 200*24*time.Hour, model.PushPending)
	cutoff := time.Now().Add(-180 * 24 * time.Hour)

	n, err := st.PurgeNotifications(ctx, cutoff, 10)
	if err != nil || n != 10 {
		t.Fatalf("first batch deleted %d (%v), want 10", n, err)
	}
	if got, want := fmt.Sprint(notificationIDs(t, st)), fmt.Sprint(append(ids[10:], kept...)); got != want {
		t.Fatalf("after one batch left %s, want the 15 newest and the pending row %s", got, want)
	}
	var batches []int64
	for {
		n, err := st.PurgeNotifications(ctx, cutoff, 10)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, n)
		if n < 10 {
			break
		}
	}
	if fmt.Sprint(batches) != "[10 5]" {
		t.Fatalf("later batches %v, want [10 5]", batches)
	}
	if got := fmt.Sprint(notificationIDs(t, st)); got != fmt.Sprint(kept) {
		t.Fatalf("left %s, want only the pending row %v", got, kept)
	}
}

// A row the sender has claimed survives the purge however old it is, and
// goes once its delivery is recorded.
func TestPurgeNotificationsWaitsForTheSender(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	userID := newUserWithGrants(t, st, "dev_retention", 1)
	if err := st.EnqueueNotifications(ctx, model.Notification{UserID: userID, Kind: "request_accepted", Title: "已受理",
		Data: map[string]string{"title": "x"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.Exec(`UPDATE notifications SET created_at = created_at - INTERVAL 400 DAY,
		next_attempt_at = next_attempt_at - INTERVAL 400 DAY`); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Now().Add(-180 * 24 * time.Hour)
	if n, err := st.PurgeNotifications(ctx, cutoff, 1000); err != nil || n != 0 {
		t.Fatalf("pending row: purged %d (%v), want 0", n, err)
	}
	b, token := claim(t, st, time.Now(), 10)
	if len(b.Send) != 1 {
		t.Fatalf("claimed %+v", b)
	}
	if n, err := st.PurgeNotifications(ctx, cutoff, 1000); err != nil || n != 0 {
		t.Fatalf("row being sent: purged %d (%v), want 0", n, err)
	}
	if ours, err := st.FinishNotification(ctx, b.Send[0].ID, token,
		model.PushOutcome{State: model.PushSent, At: time.Now()}); err != nil || !ours {
		t.Fatalf("finish: %v %v", ours, err)
	}
	if n, err := st.PurgeNotifications(ctx, cutoff, 1000); err != nil || n != 1 {
		t.Fatalf("sent row: purged %d (%v), want 1", n, err)
	}
}

// On a table of some size the DELETE reads a range of the retention index in
// order: no walk of the primary key or the table, no filesort of every old
// row. It fails if the store sends times with nanoseconds (see Open).
func TestPurgeNotificationsUsesTheCreatedAtIndex(t *testing.T) {
	st := storetest.New(t)
	// 4,000 rows over 400 days, oldest first as in life (ids grow with
	// created_at), nearly all finished.
	if _, err := st.DB.Exec(`INSERT INTO notifications
		(user_id, kind, title, body, data, push_state, next_attempt_at, created_at)
		SELECT n % 50 + 1, 'request_accepted', '已受理', '', '{}', CASE WHEN n % 500 = 7 THEN 'pending'
		       WHEN n % 10 < 6 THEN 'skipped' WHEN n % 10 < 9 THEN 'sent' ELSE 'dead' END,
		       UTC_TIMESTAMP(3) - INTERVAL n * 144 MINUTE, UTC_TIMESTAMP(3) - INTERVAL n * 144 MINUTE
		FROM ` + seq4000 + `
		ORDER BY n DESC`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.Exec(`ANALYZE TABLE notifications`); err != nil {
		t.Fatal(err)
	}
	plan := explain(t, st, store.PurgeNotificationsSQL, time.Now().Add(-180*24*time.Hour), 1000)
	if len(plan) != 1 {
		t.Fatalf("plan %v, want one row", plan)
	}
	if p := plan[0]; p["key"] != "ix_notifications_created" || strings.Contains(p["Extra"], "filesort") {
		t.Fatalf("plan type %s key %s extra %s, want ix_notifications_created without filesort", p["type"], p["key"], p["Extra"])
	}
}
