package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/store"
	"jindalai/store/storetest"
)

var outboxTemplates = map[string]string{"request_accepted": "tpl_status", "test_ref": "tpl_ref"}

func claim(t *testing.T, st *store.Store, at time.Time, limit int) (model.ClaimedBatch, string) {
	t.Helper()
	token := fmt.Sprintf("tok%d", time.Now().UnixNano())
	b, err := st.ClaimNotifications(context.Background(), model.OutboxClaim{
		Token: token, Now: at, LeaseUntil: at.Add(time.Minute), Limit: limit, Templates: outboxTemplates,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b, token
}

func newUserWithGrants(t *testing.T, st *store.Store, openid string, grants int) int64 {
	t.Helper()
	ctx := context.Background()
	u, err := st.UpsertUserByOpenID(ctx, openid, "")
	if err != nil {
		t.Fatal(err)
	}
	for range grants {
		if _, err := st.AddSubscribeGrants(ctx, nil, u.ID, []string{"tpl_status", "tpl_ref"}); err != nil {
			t.Fatal(err)
		}
	}
	return u.ID
}

func TestRolledBackChangeLeavesNothingToSend(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	userID := newUserWithGrants(t, st, "dev_rollback", 1)
	n := model.Notification{UserID: userID, Kind: "request_accepted", Title: "已受理", Data: map[string]string{"title": "x"}}

	err := st.ChangeRoleAndNotify(ctx, userID, model.Role{Role: model.RoleVolunteer}, true, n)
	if !errors.Is(err, store.ErrTestRollback) {
		t.Fatalf("got %v", err)
	}
	if pending, err := st.CountPendingNotifications(ctx); err != nil || pending != 0 {
		t.Fatalf("pending after rollback: %d %v", pending, err)
	}
	if b, _ := claim(t, st, time.Now().Add(time.Minute), 10); len(b.Send) != 0 || len(b.Skipped) != 0 {
		t.Fatalf("claimed after rollback: %+v", b)
	}
	if msgs, _ := st.ListMessages(ctx, userID, 0, 10, false); len(msgs) != 0 {
		t.Fatalf("inbox after rollback: %+v", msgs)
	}

	if err := st.ChangeRoleAndNotify(ctx, userID, model.Role{Role: model.RoleVolunteer}, false, n); err != nil {
		t.Fatal(err)
	}
	b, _ := claim(t, st, time.Now().Add(time.Minute), 10)
	if len(b.Send) != 1 || b.Send[0].TemplateID != "tpl_status" || b.Send[0].OpenID != "dev_rollback" || b.Send[0].Data["title"] != "x" {
		t.Fatalf("claimed after commit: %+v", b)
	}
}

func TestConcurrentClaimsTakeEachRowOnceAndEachGrantOnce(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	const users, perUser, grants = 4, 50, 30
	for u := range users {
		userID := newUserWithGrants(t, st, fmt.Sprintf("dev_claim%d", u), grants)
		ns := make([]model.Notification, perUser)
		for i := range ns {
			ns[i] = model.Notification{UserID: userID, Kind: "test_ref", Title: "t"}
		}
		if err := st.EnqueueNotifications(ctx, ns...); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Now().Add(time.Minute)
	var mu sync.Mutex
	sent := map[int64]int{}
	skipped, retries := 0, 0
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b, err := st.ClaimNotifications(ctx, model.OutboxClaim{
					Token: fmt.Sprintf("w%d-%d", w, time.Now().UnixNano()), Now: at, LeaseUntil: at.Add(time.Minute),
					Limit: 9, Templates: outboxTemplates,
				})
				if err != nil {
					if model.IsCode(err, model.CodeUnavailable) { // a deadlock victim: try again
						mu.Lock()
						retries++
						mu.Unlock()
						continue
					}
					t.Error(err)
					return
				}
				mu.Lock()
				for _, it := range b.Send {
					sent[it.ID]++
				}
				skipped += b.Skipped[model.SkipNoGrant]
				mu.Unlock()
				if len(b.Send)+b.Skipped[model.SkipNoGrant] == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("claims retried after a lock conflict: %d", retries)
	if len(sent) != users*grants || skipped != users*(perUser-grants) {
		t.Fatalf("sent %d, skipped %d; want %d and %d", len(sent), skipped, users*grants, users*(perUser-grants))
	}
	for id, n := range sent {
		if n != 1 {
			t.Errorf("row %d claimed %d times", id, n)
		}
	}
	for u := range users {
		user, _ := st.UpsertUserByOpenID(ctx, fmt.Sprintf("dev_claim%d", u), "")
		g, _ := st.SubscribeGrants(ctx, user.ID)
		if g["tpl_ref"] != 0 || g["tpl_status"] != grants {
			t.Errorf("user %d grants %v", u, g)
		}
	}
}

func TestExpiredLeaseIsReclaimedKeepingTheGrant(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	userID := newUserWithGrants(t, st, "dev_lease", 1)
	if err := st.EnqueueNotifications(ctx, model.Notification{UserID: userID, Kind: "test_ref", Title: "t"}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(time.Minute)
	b, token := claim(t, st, at, 10)
	if len(b.Send) != 1 {
		t.Fatalf("claim: %+v", b)
	}
	id := b.Send[0].ID
	// Not yet expired: nothing to reclaim, nothing to claim.
	if n, err := st.ReclaimExpiredNotifications(ctx, at.Add(30*time.Second)); err != nil || n != 0 {
		t.Fatalf("reclaimed early: %d %v", n, err)
	}
	if b2, _ := claim(t, st, at.Add(30*time.Second), 10); len(b2.Send) != 0 {
		t.Fatalf("claimed twice: %+v", b2)
	}
	// The claimer died: after the lease the row is due again.
	if n, err := st.ReclaimExpiredNotifications(ctx, at.Add(2*time.Minute)); err != nil || n != 1 {
		t.Fatalf("reclaim: %d %v", n, err)
	}
	p, _ := st.NotificationPush(ctx, id)
	if p.State != model.PushPending || p.Attempts != 1 || !p.GrantHeld {
		t.Fatalf("after reclaim: %+v", p)
	}
	// The old claimer can no longer record an outcome.
	if ours, err := st.FinishNotification(ctx, id, token, model.PushOutcome{State: model.PushSent, At: at}); err != nil || ours {
		t.Fatalf("stale finish: %v %v", ours, err)
	}
	// The new claim sends it on the grant it already holds.
	b3, token3 := claim(t, st, at.Add(2*time.Minute), 10)
	if len(b3.Send) != 1 || b3.Send[0].ID != id || b3.Send[0].Attempts != 1 {
		t.Fatalf("reclaim: %+v", b3)
	}
	if g, _ := st.SubscribeGrants(ctx, userID); g["tpl_ref"] != 0 {
		t.Fatalf("a second grant was taken: %v", g)
	}
	if ours, err := st.FinishNotification(ctx, id, token3, model.PushOutcome{State: model.PushSent, At: at}); err != nil || !ours {
		t.Fatalf("finish: %v %v", ours, err)
	}
}

func TestReleaseAndDeadLetterHandleTheGrant(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	userID := newUserWithGrants(t, st, "dev_release", 1)
	if err := st.EnqueueNotifications(ctx, model.Notification{UserID: userID, Kind: "test_ref", Title: "t"}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(time.Minute)
	b, token := claim(t, st, at, 10)
	if n, err := st.ReleaseNotifications(ctx, token); err != nil || n != 1 {
		t.Fatalf("release: %d %v", n, err)
	}
	p, _ := st.NotificationPush(ctx, b.Send[0].ID)
	if p.State != model.PushPending || p.Attempts != 0 || !p.GrantHeld {
		t.Fatalf("after release: %+v", p)
	}
	b, token = claim(t, st, at, 10)
	if len(b.Send) != 1 {
		t.Fatalf("claim after release: %+v", b)
	}
	ours, err := st.FinishNotification(ctx, b.Send[0].ID, token, model.PushOutcome{State: model.PushDead, Error: "boom", ReturnGrant: true})
	if err != nil || !ours {
		t.Fatalf("dead-letter: %v %v", ours, err)
	}
	if g, _ := st.SubscribeGrants(ctx, userID); g["tpl_ref"] != 1 {
		t.Fatalf("grant not given back: %v", g)
	}
	p, _ = st.NotificationPush(ctx, b.Send[0].ID)
	if p.State != model.PushDead || p.LastError != "boom" || p.GrantHeld || p.Attempts != 1 {
		t.Fatalf("dead: %+v", p)
	}
}

// TestKindsWithoutTemplateAreStoredInAppOnly: with push kinds configured, a
// notification of a kind that has no template starts skipped (no_template),
// so the sender never claims it, on every insert path (a transaction's
// notifications, a single request script, a request batch); a kind with a
// template starts pending.
func TestKindsWithoutTemplateAreStoredInAppOnly(t *testing.T) {
	st := storetest.New(t)
	st.SetPushKinds("request_accepted")
	ctx := context.Background()
	userID := newUserWithGrants(t, st, "dev_inapp", 1)
	staff := mustUser(t, st, "dev_inapp_staff")
	if err := st.GrantRole(ctx, staff, model.Role{Role: model.RoleSocialWorker, StationID: 3}); err != nil {
		t.Fatal(err)
	}
	if err := st.ChangeRoleAndNotify(ctx, userID, model.Role{Role: model.RoleVolunteer}, false,
		model.Notification{UserID: userID, Kind: "request_accepted", Title: "已受理"},
		model.Notification{UserID: userID, Kind: "volunteer_welcome", Title: "欢迎"}); err != nil {
		t.Fatal(err)
	}
	batch := batchOf(3, 3, false)
	if _, err := st.CreateRequests(ctx, unprepared(batch[:2]), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateRequest(ctx, nil, batch[2].Request, batch[2].Events, batch[2].Notices); err != nil {
		t.Fatal(err)
	}
	rows, err := st.DB.QueryContext(ctx, `SELECT kind, push_state, skip_reason, COUNT(*) FROM notifications GROUP BY kind, push_state, skip_reason`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var kind, state, reason string
		var n int
		if err := rows.Scan(&kind, &state, &reason, &n); err != nil {
			t.Fatal(err)
		}
		got[kind+"/"+state+"/"+reason] = n
	}
	want := map[string]int{
		"request_accepted/pending/":              4, // one from the role change, one per request to its resident
		"volunteer_welcome/skipped/no_template":  1,
		"request_dispatched/skipped/no_template": 3, // one per request to the station's worker
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("notifications by kind/state/reason:\n got  %v\n want %v", got, want)
	}
	if pending, err := st.CountPendingNotifications(ctx); err != nil || pending != 4 {
		t.Fatalf("pending: %d %v", pending, err)
	}
}
