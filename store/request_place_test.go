package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/model"
	"jindalai/store/storetest"
)

// TestRestoreQueueEntries: the sweep's repair puts an open request missing
// from its holder's queue back, and leaves present entries (whatever their
// score) and requests that are not open alone.
func TestRestoreQueueEntries(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	var ids []int64
	for range 3 {
		r, _, err := st.CreateRequest(ctx, nil, newRequest(100), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	if _, err := st.DB.ExecContext(ctx, `UPDATE requests SET status = 'accepted' WHERE id = ?`, ids[2]); err != nil {
		t.Fatal(err)
	}
	queue := st.Keys.StationQueue(3)
	if err := st.Redis.ZAdd(ctx, queue, redis.Z{Score: 7, Member: strconv.FormatInt(ids[1], 10)}).Err(); err != nil {
		t.Fatal(err)
	}
	n, err := st.RestoreQueueEntries(ctx)
	if err != nil || n != 1 {
		t.Fatalf("restored %d (%v), want 1", n, err)
	}
	got := zscores(t, st, queue)
	r0, err := st.GetRequest(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[strconv.FormatInt(ids[0], 10)] != float64(r0.QueueScore()) || got[strconv.FormatInt(ids[1], 10)] != 7 {
		t.Fatalf("station 3's queue %v: want the missing open request added and the present entry untouched", got)
	}
}

// TestPlaceRequestOutOfOrder: two changes of one request (a transfer to
// station 4, then back to station 3) whose Redis updates arrive in reverse
// order leave the request in station 3's queue, where MySQL has it: the late
// update removes only what is still its own before state. Its stale entry in
// station 4's queue and its earlier deadline are what readers and
// escalation already ignore.
func TestPlaceRequestOutOfOrder(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	at := time.Now().Truncate(time.Millisecond)
	r0 := model.Request{ID: 42, Status: model.StatusDispatched, Urgency: model.UrgencyNormal,
		Station: model.StationRef{ID: 3}, AcceptBy: at.Add(time.Hour)}
	r1 := r0
	r1.Station, r1.AcceptBy = model.StationRef{ID: 4}, at.Add(time.Hour+time.Second)
	r2 := r1
	r2.Station, r2.AcceptBy = model.StationRef{ID: 3}, at.Add(time.Hour+2*time.Second)
	if err := st.PlaceRequest(ctx, nil, r0); err != nil {
		t.Fatal(err)
	}
	if err := st.PlaceRequest(ctx, &r1, r2); err != nil { // the later change first
		t.Fatal(err)
	}
	if err := st.PlaceRequest(ctx, &r0, r1); err != nil { // the earlier one late
		t.Fatal(err)
	}
	member := strconv.FormatInt(r0.ID, 10)
	score, err := st.Redis.ZScore(ctx, st.Keys.StationQueue(3), member).Result()
	if err != nil || int64(score) != r2.QueueScore() {
		t.Fatalf("station 3's queue: score %v (%v), want the request with score %d", score, err, r2.QueueScore())
	}

	// A change that ends the dispatch (accepted) applied after a later
	// re-dispatch (reopened, then dispatched again) leaves its deadline.
	r3 := r2
	r3.Status = model.StatusAccepted
	r4 := r2
	r4.AcceptBy = at.Add(2 * time.Hour)
	if err := st.PlaceRequest(ctx, &r3, r4); err != nil {
		t.Fatal(err)
	}
	if err := st.PlaceRequest(ctx, &r2, r3); err != nil {
		t.Fatal(err)
	}
	if d, err := st.Redis.ZScore(ctx, st.Keys.DispatchDeadlines(), member).Result(); err != nil || int64(d) != r4.AcceptBy.UnixMilli() {
		t.Fatalf("deadline %v (%v), want the re-dispatch's %d", d, err, r4.AcceptBy.UnixMilli())
	}
	if s, err := st.Redis.ZScore(ctx, st.Keys.StationQueue(3), member).Result(); err != nil || int64(s) != r4.QueueScore() {
		t.Fatalf("station 3's queue after the late accept: %v (%v)", s, err)
	}

	// In order, a move still removes the old entries.
	if err := st.PlaceRequest(ctx, &r4, r3); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{st.Keys.StationQueue(3), st.Keys.DispatchDeadlines()} {
		if n, err := st.Redis.ZScore(ctx, key, member).Result(); err == nil {
			t.Fatalf("%s still holds the accepted request (score %v)", key, n)
		}
	}
}
