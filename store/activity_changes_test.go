package store_test

import (
	"context"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/store"
	"jindalai/store/storetest"
)

// changeNotes counts the activity_changed notifications per user.
func changeNotes(t *testing.T, st *store.Store) map[int64]int {
	t.Helper()
	rows, err := st.DB.Query(`SELECT user_id FROM notifications WHERE kind = 'activity_changed'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out[id]++
	}
	return out
}

func TestUpdateActivityNotifiesLiveClaimantsInTheSameTransaction(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	a := newActivity(t, st, 1, true)
	vols := makeVolunteers(t, st, 3)
	for _, v := range vols {
		if _, _, err := st.ClaimActivity(ctx, nil, a.ID, v, time.Now(), allow, noNotes); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.CancelClaim(ctx, a.ID, vols[2], func(model.Activity, model.Claim) error { return nil }, promotedNote); err != nil {
		t.Fatal(err)
	}
	var calls int
	changed := func(before, after model.Activity) func(int64) model.Notification {
		calls++
		if !before.StartsAt.Equal(a.StartsAt) || !after.StartsAt.Equal(a.StartsAt.Add(time.Hour)) {
			t.Errorf("changed(%v, %v), want %v → +1h", before.StartsAt, after.StartsAt, a.StartsAt)
		}
		return func(uid int64) model.Notification {
			return model.Notification{UserID: uid, Kind: "activity_changed", Title: "活动时间有变", RefType: "activity", RefID: a.ID}
		}
	}
	later := func(x *model.Activity) error {
		x.StartsAt, x.EndsAt = x.StartsAt.Add(time.Hour), x.EndsAt.Add(time.Hour)
		return nil
	}
	if _, err := st.UpdateActivity(ctx, a.ID, later, promotedNote, changed); err != nil {
		t.Fatal(err)
	}
	if n := changeNotes(t, st); len(n) != 2 || n[vols[0]] != 1 || n[vols[1]] != 1 {
		t.Fatalf("activity_changed to %v, want once each to the confirmed %d and the waitlisted %d", n, vols[0], vols[1])
	}

	// The conditional UPDATE refuses a capacity below the confirmed claims
	// that edit let through: nothing is written, changed is never asked.
	calls = 0
	belowConfirmed := func(x *model.Activity) error {
		x.Capacity, x.Address = 0, "别处"
		return nil
	}
	_, err := st.UpdateActivity(ctx, a.ID, belowConfirmed, promotedNote, changed)
	if !model.IsCode(err, model.CodeFailedPrecondition) {
		t.Fatalf("capacity 0: %v, want failed_precondition", err)
	}
	if n := changeNotes(t, st); len(n) != 2 || calls != 0 {
		t.Fatalf("after a refused update: %v, %d calls of changed", n, calls)
	}

	// A nil builder notifies nobody.
	describe := func(x *model.Activity) error { x.Description = "新说明"; return nil }
	if _, err := st.UpdateActivity(ctx, a.ID, describe, promotedNote,
		func(before, after model.Activity) func(int64) model.Notification { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := changeNotes(t, st); n[vols[0]] != 1 || n[vols[1]] != 1 {
		t.Fatalf("after a nil builder: %v", n)
	}
}
