package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/store"
	"jindalai/store/storetest"
)

func newActivity(t testing.TB, st *store.Store, capacity int, waitlist bool) model.Activity {
	t.Helper()
	start := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	a, _, err := st.CreateActivity(context.Background(), nil, model.Activity{
		Title: "测试活动", Category: "elder_care", StationID: 1, Lat: 42.9, Lng: 129.5, Address: "测试地点",
		StartsAt: start, EndsAt: start.Add(2 * time.Hour), SignupDeadline: start, Capacity: capacity,
		Waitlist: waitlist, CreditedMinutes: 120, CreatedBy: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// makeVolunteers inserts n users registered as volunteers and returns their ids.
func makeVolunteers(t testing.TB, st *store.Store, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	ids := make([]int64, n)
	for i := range ids {
		u, err := st.UpsertUserByOpenID(ctx, fmt.Sprintf("dev_vol%04d", i), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateVolunteer(ctx, nil, model.Volunteer{UserID: u.ID, RealNameEnc: []byte("x"), PhoneEnc: []byte("x"),
			PhoneIndex: make([]byte, 32)}, func(model.Volunteer, model.User) (json.RawMessage, error) { return nil, nil }); err != nil {
			t.Fatal(err)
		}
		ids[i] = u.ID
	}
	return ids
}

func allow(model.Activity) error { return nil }

func noNotes(model.Activity, model.Claim) []model.Notification { return nil }

func promotedNote(a model.Activity, c model.Claim) model.Notification {
	return model.Notification{UserID: c.VolunteerID, Kind: "claim_promoted", Title: "候补转正", RefType: "activity", RefID: a.ID}
}

func TestClaimActivityConcurrentNeverOverbooks(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	a := newActivity(t, st, 20, true)
	const n = 500
	vols := makeVolunteers(t, st, n)
	claims := make([]model.Claim, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			claims[i], _, errs[i] = st.ClaimActivity(ctx, nil, a.ID, vols[i], time.Now(), allow, noNotes)
		}()
	}
	close(start)
	wg.Wait()
	confirmed := 0
	for i, c := range claims {
		if errs[i] != nil {
			t.Fatalf("claim %d: %v", i, errs[i])
		}
		if c.Status == model.ClaimConfirmed {
			confirmed++
		}
	}
	if confirmed != 20 {
		t.Fatalf("%d confirmed, want 20", confirmed)
	}
	// The waitlist is complete and in claim order: positions 1, 2, 3, ...
	var list []model.Claim
	for after := int64(0); ; {
		page, err := st.ListActivityClaims(ctx, a.ID, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		list = append(list, page...)
		after = page[len(page)-1].ID
	}
	next := 1
	for _, c := range list {
		if c.Status == model.ClaimWaitlisted {
			if c.WaitlistPosition != next {
				t.Fatalf("claim %d at position %d, want %d", c.ID, c.WaitlistPosition, next)
			}
			next++
		}
	}
	if len(list) != n || next != n-20+1 {
		t.Fatalf("%d live claims, %d waitlisted", len(list), next-1)
	}
	got, err := st.GetActivity(ctx, a.ID)
	if err != nil || got.Confirmed != 20 || got.Remaining != 0 {
		t.Fatalf("activity %+v (%v)", got, err)
	}
}

func TestCancelClaimPromotesInOrder(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	a := newActivity(t, st, 2, true)
	for v := int64(1); v <= 5; v++ {
		if _, _, err := st.ClaimActivity(ctx, nil, a.ID, v, time.Now(), allow, noNotes); err != nil {
			t.Fatal(err)
		}
	}
	check := func(model.Activity, model.Claim) error { return nil }
	if _, err := st.CancelClaim(ctx, a.ID, 1, check, promotedNote); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CancelClaim(ctx, a.ID, 4, check, promotedNote); err != nil {
		t.Fatal(err)
	}
	want := map[int64]model.ClaimStatus{2: model.ClaimConfirmed, 3: model.ClaimConfirmed, 5: model.ClaimWaitlisted}
	for v, status := range want {
		c, err := st.GetLiveClaim(ctx, a.ID, v)
		if err != nil || c.Status != status {
			t.Fatalf("volunteer %d: %+v (%v), want %s", v, c, err, status)
		}
		if v == 5 && c.WaitlistPosition != 1 {
			t.Fatalf("volunteer 5 position %d, want 1", c.WaitlistPosition)
		}
	}
	var promoted []int64
	rows, err := st.DB.Query(`SELECT user_id FROM notifications WHERE kind = 'claim_promoted' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		promoted = append(promoted, id)
	}
	if fmt.Sprint(promoted) != "[3]" {
		t.Fatalf("promoted %v, want [3]", promoted)
	}
	if _, err := st.GetLiveClaim(ctx, a.ID, 1); !model.IsCode(err, model.CodeNotFound) {
		t.Fatalf("cancelled claim still live: %v", err)
	}
	// A refused check rolls everything back.
	refuse := func(model.Activity, model.Claim) error { return model.Errorf(model.CodeFailedPrecondition, "no") }
	if _, err := st.CancelClaim(ctx, a.ID, 2, refuse, promotedNote); !model.IsCode(err, model.CodeFailedPrecondition) {
		t.Fatalf("refused cancel: %v", err)
	}
	if c, _ := st.GetLiveClaim(ctx, a.ID, 2); c.Status != model.ClaimConfirmed {
		t.Fatalf("claim after a refused cancel: %+v", c)
	}
}

func TestCheckinCodeRotation(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	t0 := time.Now()
	rotation, grace := time.Minute, 10*time.Second
	a, err := st.CurrentCheckinCode(ctx, 7, "111111", t0, rotation, grace)
	if err != nil || a.Code != "111111" || !a.ExpiresAt.Equal(time.UnixMilli(t0.Add(rotation).UnixMilli())) {
		t.Fatalf("first code %+v (%v)", a, err)
	}
	if again, _ := st.CurrentCheckinCode(ctx, 7, "222222", t0.Add(30*time.Second), rotation, grace); again != a {
		t.Fatalf("within the minute: %+v, want %+v", again, a)
	}
	b, _ := st.CurrentCheckinCode(ctx, 7, "222222", t0.Add(65*time.Second), rotation, grace)
	if b.Code != "222222" {
		t.Fatalf("after the minute: %+v", b)
	}
	codes, err := st.CheckinCodes(ctx, 7)
	if err != nil || len(codes) != 2 || codes[0].Code != "222222" || codes[1].Code != "111111" {
		t.Fatalf("codes %+v (%v)", codes, err)
	}
	if other, _ := st.CheckinCodes(ctx, 8); len(other) != 0 {
		t.Fatalf("codes of another activity %+v", other)
	}
	ttl := st.Redis.PTTL(ctx, st.Keys.CheckinCode(7)).Val()
	if ttl <= 0 || ttl > rotation+grace {
		t.Fatalf("current code TTL %v", ttl)
	}
}

func TestCheckOutAndCorrectionsWriteTheLedger(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	a := newActivity(t, st, 5, false)
	c, _, err := st.ClaimActivity(ctx, nil, a.ID, 42, time.Now(), allow, noNotes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CheckOut(ctx, c.ID, time.Now(), 10); !model.IsCode(err, model.CodeConflict) {
		t.Fatalf("check-out before check-in: %v", err)
	}
	if _, err := st.CheckIn(ctx, c.ID, time.Now(), "code"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CheckIn(ctx, c.ID, time.Now(), "code"); !model.IsCode(err, model.CodeConflict) {
		t.Fatalf("second check-in: %v", err)
	}
	if _, err := st.CheckOut(ctx, c.ID, time.Now(), 50); err != nil {
		t.Fatal(err)
	}
	ok := func(model.Claim) error { return nil }
	if _, err := st.SetCreditedMinutes(ctx, c.ID, 9, 50, "", ok); err != nil {
		t.Fatal(err)
	}
	got, err := st.SetCreditedMinutes(ctx, c.ID, 9, 80, "补录", ok)
	if err != nil || got.CreditedMinutes != 80 || got.MinutesCheckedBy != 9 {
		t.Fatalf("correction %+v (%v)", got, err)
	}
	total, items, err := st.VolunteerHours(ctx, 42, 0, 10)
	if err != nil || total != 80 || len(items) != 2 || items[0].Minutes != 30 || *items[0].FromMinutes != 50 ||
		items[1].Kind != model.HoursServed || items[1].Minutes != 50 {
		t.Fatalf("ledger total %d items %+v (%v)", total, items, err)
	}
}

// BenchmarkListActivitiesNear measures the bounding-box query of the list
// near a location over 20,000 past and 2,000 upcoming activities spread
// over a 60 km square (the decision between SQL and a Redis GEO set).
func BenchmarkListActivitiesNear(b *testing.B) {
	st := storetest.New(b)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	rng := rand.New(rand.NewPCG(1, 2))
	var rows [][]any
	for i := range 22000 {
		start := now.Add(-time.Duration(rng.IntN(365*24)) * time.Hour)
		if i%11 == 0 {
			start = now.Add(time.Duration(rng.IntN(60*24)) * time.Hour)
		}
		rows = append(rows, []any{"活动", "", "elder_care", 1, 42.6 + rng.Float64()*0.54, 129.2 + rng.Float64()*0.73,
			"地点", start, start.Add(2 * time.Hour), start, 20, 120, 1, now, now})
	}
	for len(rows) > 0 {
		n := min(500, len(rows))
		query := `INSERT INTO activities (title, description, category, station_id, lat, lng, address, starts_at, ends_at,
			signup_deadline, capacity, credited_minutes, created_by, created_at, updated_at) VALUES `
		var args []any
		for i, r := range rows[:n] {
			if i > 0 {
				query += ","
			}
			query += "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			args = append(args, r...)
		}
		if _, err := st.DB.ExecContext(ctx, query, args...); err != nil {
			b.Fatal(err)
		}
		rows = rows[n:]
	}
	if _, err := st.DB.ExecContext(ctx, `ANALYZE TABLE activities`); err != nil {
		b.Fatal(err)
	}
	// About 5 km around the city centre.
	box := model.BoundingBox{MinLat: 42.86, MaxLat: 42.95, MinLng: 129.45, MaxLng: 129.57}
	f := model.ActivityFilter{EndsAfter: now, StartsAfter: now.Add(-72 * time.Hour), Box: &box, Limit: 500}
	var key, extra sql.NullString
	var est sql.NullInt64
	var skip any
	if err := st.DB.QueryRowContext(ctx, `EXPLAIN SELECT id FROM activities FORCE INDEX (ix_activities_box)
		WHERE status = 'published' AND ends_at > ? AND starts_at >= ? AND lat BETWEEN ? AND ? AND lng BETWEEN ? AND ?
		ORDER BY starts_at, id LIMIT 500`, now, now.Add(-72*time.Hour), box.MinLat, box.MaxLat, box.MinLng, box.MaxLng).
		Scan(&skip, &skip, &skip, &skip, &skip, &key, &skip, &skip, &est, &extra); err != nil {
		b.Fatal(err)
	}
	b.Logf("plan: key=%s rows=%d extra=%s", key.String, est.Int64, extra.String)
	found := 0
	b.Run("box", func(b *testing.B) {
		for b.Loop() {
			items, err := st.ListActivities(ctx, f)
			if err != nil {
				b.Fatal(err)
			}
			found = len(items)
		}
		b.ReportMetric(float64(found), "activities/op")
	})
	b.Run("by_time_page", func(b *testing.B) {
		page := model.ActivityFilter{EndsAfter: now, StartsAfter: now.Add(-72 * time.Hour), Limit: 21}
		for b.Loop() {
			if _, err := st.ListActivities(ctx, page); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("primary_key_reference", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.GetActivity(ctx, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestListVolunteerClaimsShowsWaitlistPositions: a volunteer's list gives
// each waitlisted claim its current place in its activity's line, and none
// to the other claims.
func TestListVolunteerClaimsShowsWaitlistPositions(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	claim := func(a model.Activity, v int64) {
		t.Helper()
		if _, _, err := st.ClaimActivity(ctx, nil, a.ID, v, time.Now(), allow, noNotes); err != nil {
			t.Fatal(err)
		}
	}
	const me = 3
	a, b, c := newActivity(t, st, 1, true), newActivity(t, st, 1, true), newActivity(t, st, 5, false)
	claim(a, 1)
	claim(a, 2)
	claim(a, me) // second in a's line
	claim(b, 4)
	claim(b, me) // first in b's line
	claim(c, me) // confirmed
	check := func(want map[int64]string) {
		t.Helper()
		list, err := st.ListVolunteerClaims(ctx, me, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]string{}
		for _, cl := range list {
			got[cl.ActivityID] = fmt.Sprintf("%s %d", cl.Status, cl.WaitlistPosition)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("claims by activity %v, want %v", got, want)
		}
	}
	check(map[int64]string{a.ID: "waitlisted 2", b.ID: "waitlisted 1", c.ID: "confirmed 0"})
	noCheck := func(model.Activity, model.Claim) error { return nil }
	if _, err := st.CancelClaim(ctx, a.ID, 2, noCheck, promotedNote); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CancelClaim(ctx, c.ID, me, noCheck, promotedNote); err != nil {
		t.Fatal(err)
	}
	check(map[int64]string{a.ID: "waitlisted 1", b.ID: "waitlisted 1", c.ID: "cancelled 0"})
}
