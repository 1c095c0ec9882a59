package store_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/store"
	"jindalai/store/storetest"
)

func TestUpsertUserConcurrentFirstLoginCreatesOneUser(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]int64, 30)
	errs := make([]error, 30)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := st.UpsertUserByOpenID(ctx, "dev_race", "")
			ids[i], errs[i] = u.ID, err
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("login %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("login %d got user %d, login 0 got %d", i, ids[i], ids[0])
		}
	}
	var n int
	if err := st.DB.QueryRow(`SELECT COUNT(*) FROM users WHERE openid = 'dev_race'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("users with openid: %d (%v), want 1", n, err)
	}
}

func TestGetUserNotFound(t *testing.T) {
	st := storetest.New(t)
	_, err := st.GetUser(context.Background(), 424242)
	if !model.IsCode(err, model.CodeNotFound) {
		t.Fatalf("got %v, want not_found", err)
	}
}

func TestRedeemInviteRaceHasOneWinner(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	admin, _ := st.UpsertUserByOpenID(ctx, "dev_admin", "")
	hash := []byte("0123456789abcdef0123456789abcdef")
	role := model.Role{Role: model.RoleSocialWorker, StationID: 7}
	if _, err := st.CreateInvite(ctx, nil, hash, role, admin.ID, time.Now().Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	const n = 12
	users := make([]int64, n)
	for i := range users {
		u, err := st.UpsertUserByOpenID(ctx, "dev_u"+string(rune('a'+i)), "")
		if err != nil {
			t.Fatal(err)
		}
		users[i] = u.ID
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for _, uid := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.RedeemInvite(ctx, hash, uid)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case model.IsCode(err, model.CodeConflict):
				conflicts++
			default:
				t.Errorf("redeem: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != n-1 {
		t.Fatalf("wins=%d conflicts=%d, want 1 and %d", wins, conflicts, n-1)
	}
	var holders int
	if err := st.DB.QueryRow(`SELECT COUNT(*) FROM user_roles WHERE role = 'social_worker' AND station_id = 7`).Scan(&holders); err != nil || holders != 1 {
		t.Fatalf("role holders %d (%v), want 1", holders, err)
	}
}

// TestRedeemInviteForAHeldRole: redeeming an invite for a role the user
// already holds is a conflict naming invite_code, and leaves the code unused
// for someone else.
func TestRedeemInviteForAHeldRole(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	admin, _ := st.UpsertUserByOpenID(ctx, "dev_admin", "")
	holder, _ := st.UpsertUserByOpenID(ctx, "dev_holder", "")
	other, _ := st.UpsertUserByOpenID(ctx, "dev_other", "")
	role := model.Role{Role: model.RoleSocialWorker, StationID: 7}
	if err := st.GrantRole(ctx, holder.ID, role); err != nil {
		t.Fatal(err)
	}
	hash := []byte("held-held-held-held-held-held-32")
	if _, err := st.CreateInvite(ctx, nil, hash, role, admin.ID, time.Now().Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	_, err := st.RedeemInvite(ctx, hash, holder.ID)
	var me *model.Error
	if !errors.As(err, &me) || me.Code != model.CodeConflict || me.Fields["invite_code"] == "" {
		t.Fatalf("redeeming a held role: %v, want conflict naming invite_code", err)
	}
	if got, err := st.RedeemInvite(ctx, hash, other.ID); err != nil || got != role {
		t.Fatalf("the code after the refused redemption: %+v %v, want it still usable", got, err)
	}
}

func TestRedeemInviteUnknownAndExpired(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	u, _ := st.UpsertUserByOpenID(ctx, "dev_x", "")
	if _, err := st.RedeemInvite(ctx, []byte("nope-nope-nope-nope-nope-nope-32"), u.ID); !model.IsCode(err, model.CodeInvalid) {
		t.Fatalf("unknown code: %v, want invalid_argument", err)
	}
	hash := []byte("expired-expired-expired-expired!")
	if _, err := st.CreateInvite(ctx, nil, hash, model.Role{Role: model.RoleOrgAdmin, OrgID: 1}, u.ID, time.Now().Add(-time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RedeemInvite(ctx, hash, u.ID); !model.IsCode(err, model.CodeInvalid) {
		t.Fatalf("expired code: %v, want invalid_argument", err)
	}
}

func TestSessionsRevokeAndSlide(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	p := model.Principal{UserID: 5, Roles: []model.Role{{Role: model.RoleVolunteer}}}
	for _, h := range []string{"h1", "h2", "h3"} {
		if err := st.CreateSession(ctx, h, p, time.Now(), time.Minute, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	got, _, err := st.TouchSession(ctx, "h1", time.Hour)
	if err != nil || got.UserID != 5 || len(got.Roles) != 1 || got.TokenHash != "h1" {
		t.Fatalf("touch: %+v %v", got, err)
	}
	if ttl := st.Redis.TTL(ctx, st.Keys.Session("h1")).Val(); ttl < 59*time.Minute {
		t.Fatalf("ttl after touch %v, want slid to ~1h", ttl)
	}
	if err := st.DeleteSession(ctx, 5, "h1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.TouchSession(ctx, "h1", time.Hour); !model.IsCode(err, model.CodeUnauthenticated) {
		t.Fatalf("deleted session: %v", err)
	}
	if err := st.RevokeUserSessions(ctx, 5); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"h2", "h3"} {
		if _, _, err := st.TouchSession(ctx, h, time.Hour); !model.IsCode(err, model.CodeUnauthenticated) {
			t.Fatalf("revoked session %s: %v", h, err)
		}
	}
}

func TestRevokeOtherSessionsKeepsOne(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	p := model.Principal{UserID: 6, Roles: []model.Role{{Role: model.RoleVolunteer}}}
	other := model.Principal{UserID: 7}
	for _, h := range []string{"k1", "k2", "k3"} {
		if err := st.CreateSession(ctx, h, p, time.Now(), time.Minute, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateSession(ctx, "o1", other, time.Now(), time.Minute, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeOtherSessions(ctx, 6, "k2"); err != nil {
		t.Fatal(err)
	}
	for h, alive := range map[string]bool{"k1": false, "k2": true, "k3": false, "o1": true} {
		_, _, err := st.TouchSession(ctx, h, time.Hour)
		if alive != (err == nil) || (!alive && !model.IsCode(err, model.CodeUnauthenticated)) {
			t.Errorf("session %s after revoking the others of user 6: %v", h, err)
		}
	}
	if got := st.Redis.SMembers(ctx, st.Keys.UserSessions(6)).Val(); len(got) != 1 || got[0] != "k2" {
		t.Fatalf("user 6's session index: %v, want [k2]", got)
	}
	// Nothing else to end: nothing changes.
	if err := st.RevokeOtherSessions(ctx, 6, "k2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.TouchSession(ctx, "k2", time.Hour); err != nil {
		t.Fatalf("the kept session: %v", err)
	}
}

type reply struct {
	ID   int64  `json:"id"`
	Note string `json:"note"`
}

func TestIdempotentCreateConcurrentRetriesGetOneRow(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	u, _ := st.UpsertUserByOpenID(ctx, "dev_idem", "")
	idem := &model.Idempotency{UserID: u.ID, Key: "k-1", Scope: "test", Fingerprint: [32]byte{1}}
	const n = 20
	var wg sync.WaitGroup
	results := make([]reply, n)
	replays := make([]bool, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, replayed, err := store.InIdempotentTx(ctx, st, idem, func(tx *sql.Tx) (reply, error) {
				res, err := tx.ExecContext(ctx, `INSERT INTO invites (code_hash, role, created_by, expires_at, created_at) VALUES (RANDOM_BYTES(32), 'x', 1, NOW(3), NOW(3))`)
				if err != nil {
					return reply{}, err
				}
				id, _ := res.LastInsertId()
				return reply{ID: id, Note: "first"}, nil
			})
			if err != nil {
				t.Errorf("call %d: %v", i, err)
			}
			results[i], replays[i] = r, replayed
		}()
	}
	wg.Wait()
	fresh := 0
	for i := range results {
		if results[i] != results[0] {
			t.Fatalf("reply %d = %+v, reply 0 = %+v", i, results[i], results[0])
		}
		if !replays[i] {
			fresh++
		}
	}
	var rows int
	_ = st.DB.QueryRow(`SELECT COUNT(*) FROM invites`).Scan(&rows)
	if rows != 1 || fresh != 1 {
		t.Fatalf("rows=%d fresh=%d, want 1 and 1", rows, fresh)
	}
	other := *idem
	other.Fingerprint = [32]byte{2}
	_, _, err := store.InIdempotentTx(ctx, st, &other, func(tx *sql.Tx) (reply, error) { return reply{}, nil })
	if !model.IsCode(err, model.CodeConflict) {
		t.Fatalf("same key, other body: %v, want conflict", err)
	}
}

func TestIdempotentCreateFailureKeepsNothing(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	idem := &model.Idempotency{UserID: 1, Key: "k-fail", Scope: "test"}
	_, _, err := store.InIdempotentTx(ctx, st, idem, func(tx *sql.Tx) (reply, error) {
		return reply{}, model.Errorf(model.CodeConflict, "full")
	})
	if !model.IsCode(err, model.CodeConflict) {
		t.Fatalf("got %v", err)
	}
	runsAnew(t, ctx, st, idem, "retry after failure")
}

// TestIdempotentCreatePanicFreesTheConnection: code panicking inside the
// transaction, with a key or without (service code runs there), rolls it
// back at once: the pool's one connection is free for the next call, which
// may take the key.
func TestIdempotentCreatePanicFreesTheConnection(t *testing.T) {
	for name, idem := range map[string]*model.Idempotency{
		"with key":    {UserID: 1, Key: "k-panic", Scope: "test"},
		"without key": nil,
	} {
		t.Run(name, func(t *testing.T) {
			st := storetest.New(t)
			st.DB.SetMaxOpenConns(1)
			func() {
				defer func() {
					if recover() == nil {
						t.Fatal("the panic did not go on")
					}
				}()
				_, _, _ = store.InIdempotentTx(context.Background(), st, idem, func(tx *sql.Tx) (reply, error) {
					panic("bug in the callback")
				})
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			runsAnew(t, ctx, st, idem, "after a panic (the connection still held by the panicked transaction?)")
		})
	}
}

// runsAnew wants a call of InIdempotentTx with idem to run its function and
// return its reply, not a replay.
func runsAnew(t *testing.T, ctx context.Context, st *store.Store, idem *model.Idempotency, what string) {
	t.Helper()
	r, replayed, err := store.InIdempotentTx(ctx, st, idem, func(tx *sql.Tx) (reply, error) {
		return reply{ID: 9}, nil
	})
	if err != nil || replayed || r.ID != 9 {
		t.Fatalf("%s: %+v %v %v", what, r, replayed, err)
	}
}

// A key purged between the duplicate insert and the replay's read is a
// conflict the client may retry, not a missing resource.
func TestIdempotentReplayOfAPurgedKeyIsAConflict(t *testing.T) {
	st := storetest.New(t)
	_, err := store.ReplayIdempotent(context.Background(), st, &model.Idempotency{UserID: 1, Key: "k-gone", Scope: "test"})
	if !model.IsCode(err, model.CodeConflict) {
		t.Fatalf("got %v, want conflict", err)
	}
}

func TestRateLimiter(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	l := st.NewRateLimiter()
	allowed := 0
	for i := 0; i < 8; i++ {
		ok, _, err := l.Allow(ctx, "login", "10.1.1.1", 5)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("allowed %d of 8 at 5/min, want 5", allowed)
	}
}

func TestPurgeIdempotencyKeysDeletesOnlyOldKeys(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	for _, k := range []struct {
		key string
		age time.Duration
	}{{"old", 48 * time.Hour}, {"new", time.Minute}} {
		if _, err := st.DB.Exec(`INSERT INTO idempotency_keys (user_id, idem_key, scope, fingerprint, reply, created_at)
			VALUES (1, ?, 's', RANDOM_BYTES(32), '{}', ?)`, k.key, time.Now().UTC().Add(-k.age)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.PurgeIdempotencyKeys(ctx, time.Now().Add(-24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("purged %d (%v), want 1", n, err)
	}
	var left string
	if err := st.DB.QueryRow(`SELECT idem_key FROM idempotency_keys`).Scan(&left); err != nil || left != "new" {
		t.Fatalf("left %q (%v), want new", left, err)
	}
}

// TestStationAdmins: a station's admins, whatever other roles they hold,
// and nobody else.
func TestStationAdmins(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	a := mustStaff(t, st, "dev_staff_a", model.Role{Role: model.RoleStationAdmin, StationID: 3}, model.Role{Role: model.RoleSocialWorker, StationID: 3})
	b := mustStaff(t, st, "dev_staff_b", model.Role{Role: model.RoleStationAdmin, StationID: 3}, model.Role{Role: model.RoleStationAdmin, StationID: 4})
	mustStaff(t, st, "dev_staff_c", model.Role{Role: model.RoleSocialWorker, StationID: 4}, model.Role{Role: model.RoleOrgAdmin, OrgID: 3})
	mustStaff(t, st, "dev_staff_v", model.Role{Role: model.RoleVolunteer})

	for _, tc := range []struct {
		station int64
		want    []int64
	}{{3, []int64{min(a, b), max(a, b)}}, {4, []int64{b}}, {5, nil}} {
		got, err := st.StationAdmins(ctx, tc.station)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Fatalf("admins of %d: %v %v, want %v", tc.station, got, err, tc.want)
		}
	}
}
