package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/store"
	"jindalai/store/storetest"
)

// serviceStatsFixture writes the rows of the bookings and activities
// figures by hand: stations, offerings, slots, bookings, activities,
// claims and their ledger rows.
type serviceStatsFixture struct {
	t        *testing.T
	st       *store.Store
	resident int64
	n        int
}

// station inserts a station below parent (nil: the city station).
func (f *serviceStatsFixture) station(level int, parent *int64) int64 {
	f.t.Helper()
	f.n++
	s, err := f.st.CreateStation(context.Background(), nil, model.Station{Name: fmt.Sprintf("统计站%d", f.n), Level: level,
		ParentID: parent, Lat: 42.9, Lng: 129.5, RadiusM: 3000})
	if err != nil {
		f.t.Fatal(err)
	}
	return s.ID
}

// booking inserts an offering of station with a slot starting at start and
// one booking of it in status.
func (f *serviceStatsFixture) booking(station int64, start time.Time, status model.BookingStatus) {
	f.t.Helper()
	o := f.insert(`INSERT INTO offerings (station_id, name, category, duration_min, created_by, created_at, updated_at)
		VALUES (?, '心理咨询', 'counselling', 60, 1, ?, ?)`, station, start, start)
	slot := f.insert(`INSERT INTO slots (offering_id, station_id, starts_at, ends_at, capacity, taken, created_by, created_at)
		VALUES (?, ?, ?, ?, 5, 1, 1, ?)`, o, station, start, start.Add(time.Hour), start)
	var active any = 1
	if status == model.BookingCancelled {
		active = nil
	}
	f.insert(`INSERT INTO bookings (slot_id, offering_id, station_id, user_id, status, active_key, starts_at, ends_at,
			created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, slot, o, station, f.resident, status, active, start, start.Add(time.Hour), start, start)
}

// activity inserts an activity of station or org starting at start, in
// status, with one claim per credits entry; a claim's credits are its
// ledger rows (a check-out credit, then corrections) and its credited
// minutes their sum.
func (f *serviceStatsFixture) activity(station, org int64, start time.Time, status model.ActivityStatus, credits ...[]int) {
	f.t.Helper()
	a := f.insert(`INSERT INTO activities (title, description, category, station_id, org_id, lat, lng, address, starts_at,
			ends_at, signup_deadline, capacity, confirmed, credited_minutes, status, created_by, created_at, updated_at)
		VALUES ('助老活动', '', 'elder_care', ?, ?, 42.9, 129.5, '活动地点', ?, ?, ?, 10, ?, 120, ?, 1, ?, ?)`,
		station, org, start, start.Add(2*time.Hour), start, len(credits), status, start, start)
	for i, minutes := range credits {
		volunteer := int64(100 + i)
		total := 0
		for _, m := range minutes {
			total += m
		}
		claim := f.insert(`INSERT INTO activity_claims (activity_id, volunteer_id, status, live, checked_in_at, checked_out_at,
				credited_minutes, created_at, updated_at)
			VALUES (?, ?, 'confirmed', 1, ?, ?, ?, ?, ?)`, a, volunteer, start, start.Add(time.Hour), total, start, start)
		for j, m := range minutes {
			kind := model.HoursServed
			if j > 0 {
				kind = model.HoursCorrection
			}
			f.insert(`INSERT INTO volunteer_hours (volunteer_id, activity_id, claim_id, kind, minutes, recorded_by, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, volunteer, a, claim, kind, m, volunteer, start.Add(time.Hour))
		}
	}
	// A waitlisted claim credits nothing.
	f.insert(`INSERT INTO activity_claims (activity_id, volunteer_id, status, live, created_at, updated_at)
		VALUES (?, 99, 'waitlisted', 1, ?, ?)`, a, start, start)
}

func (f *serviceStatsFixture) insert(q string, args ...any) int64 {
	f.t.Helper()
	res, err := f.st.DB.Exec(q, args...)
	if err != nil {
		f.t.Fatal(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// ServiceStats counts, for [from, to) and a station list or the whole
// city, the bookings not cancelled whose slot starts in the window, the
// activities not cancelled starting in it (organizations' only for the
// whole city) and the minutes credited for the activities starting in it,
// cancelled ones included (their volunteers on site were credited).
func TestServiceStatsWindowAndScope(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	f := &serviceStatsFixture{t: t, st: st, resident: mustUser(t, st, "stats_resident")}
	city := f.station(1, nil)
	street := f.station(2, &city)
	point := f.station(3, &street)
	other := f.station(2, &city)
	from := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 7)
	in := from.Add(26 * time.Hour)

	f.booking(street, from, model.BookingBooked)                        // in
	f.booking(street, in, model.BookingAttended)                        // in
	f.booking(point, to.Add(-time.Millisecond), model.BookingNoShow)    // in
	f.booking(point, in, model.BookingBooked)                           // in
	f.booking(street, in, model.BookingCancelled)                       // cancelled
	f.booking(street, from.Add(-time.Millisecond), model.BookingBooked) // before
	f.booking(point, to, model.BookingAttended)                         // after
	f.booking(other, in, model.BookingBooked)                           // city only
	f.booking(other, in, model.BookingCancelled)                        // cancelled

	f.activity(street, 0, from, model.ActivityPublished, []int{50, 30}, []int{60})      // 140
	f.activity(point, 0, to.Add(-time.Millisecond), model.ActivityPublished, []int{45}) // 45
	f.activity(point, 0, in, model.ActivityPublished)                                   // no claims
	f.activity(street, 0, in, model.ActivityCancelled, []int{100})                      // cancelled under way: its minutes count
	f.activity(street, 0, from.Add(-time.Millisecond), model.ActivityPublished, []int{70})
	f.activity(point, 0, to, model.ActivityPublished, []int{80})
	f.activity(other, 0, in, model.ActivityPublished, []int{20}) // city only
	f.activity(0, 3, in, model.ActivityPublished, []int{30, 5})  // an organization's: city only
	f.activity(0, 3, in, model.ActivityCancelled, []int{90})

	for _, c := range []struct {
		name     string
		stations []int64
		want     model.ServiceStats
	}{
		{"city", nil, model.ServiceStats{Bookings: 5, Activities: 5, VolunteerMinutes: 430}},
		{"street subtree", []int64{street, point}, model.ServiceStats{Bookings: 4, Activities: 3, VolunteerMinutes: 285}},
		{"point", []int64{point}, model.ServiceStats{Bookings: 2, Activities: 2, VolunteerMinutes: 45}},
		{"other street", []int64{other}, model.ServiceStats{Bookings: 1, Activities: 1, VolunteerMinutes: 20}},
		{"no station", []int64{}, model.ServiceStats{}},
	} {
		got, err := st.ServiceStats(ctx, from, to, c.stations)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	if got, err := st.ServiceStats(ctx, to.AddDate(0, 0, 1), to.AddDate(0, 0, 2), nil); err != nil || got != (model.ServiceStats{}) {
		t.Errorf("empty window: %+v (%v), want zeros", got, err)
	}
}

// On tables of some size none of the three figures scans a table (or an
// index) that grows with history: bookings are read by ranges of
// ix_bookings_start (migration 00013) or ix_bookings_station_start,
// activities of ix_activities_time or ix_activities_station, the ledger
// by activity.
func TestServiceStatsUseTheStartIndexes(t *testing.T) {
	st := storetest.New(t)
	f := &serviceStatsFixture{t: t, st: st, resident: mustUser(t, st, "stats_resident")}
	// 40 offerings, then 4,000 slots, bookings, activities and ledger rows
	// over 400 days at 40 stations, oldest first as in life.
	for _, q := range []string{
		`INSERT INTO offerings (station_id, name, category, duration_min, created_by, created_at, updated_at)
		SELECT n + 1, '心理咨询', 'counselling', 60, 1, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) FROM ` + seq4000 + ` WHERE n < 40`,
		`INSERT INTO slots (offering_id, station_id, starts_at, ends_at, capacity, taken, created_by, created_at)
		SELECT o.id, o.station_id, UTC_TIMESTAMP(3) - INTERVAL n * 144 MINUTE, UTC_TIMESTAMP(3) - INTERVAL n * 144 MINUTE + INTERVAL 1 HOUR,
			5, 1, 1, UTC_TIMESTAMP(3)
		FROM ` + seq4000 + ` JOIN offerings o ON o.id = n % 40 + 1 ORDER BY n DESC`,
		`INSERT INTO bookings (slot_id, offering_id, station_id, user_id, status, active_key, starts_at, ends_at, created_at, updated_at)
		SELECT id, offering_id, station_id, ` + fmt.Sprint(f.resident) + `, CASE WHEN id % 5 = 0 THEN 'cancelled' ELSE 'attended' END,
			CASE WHEN id % 5 = 0 THEN NULL ELSE 1 END, starts_at, ends_at, created_at, created_at
		FROM slots ORDER BY id`,
		`INSERT INTO activities (title, description, category, station_id, org_id, lat, lng, address, starts_at,
			ends_at, signup_deadline, capacity, credited_minutes, status, created_by, created_at, updated_at)
		SELECT '助老活动', '', 'elder_care', CASE WHEN n % 4 = 0 THEN 0 ELSE n % 40 + 1 END, CASE WHEN n % 4 = 0 THEN n % 7 + 1 ELSE 0 END,
			42.9, 129.5, '活动地点', UTC_TIMESTAMP(3) - INTERVAL n * 144 MINUTE, UTC_TIMESTAMP(3) - INTERVAL n * 144 MINUTE + INTERVAL 2 HOUR,
			UTC_TIMESTAMP(3) - INTERVAL n * 144 MINUTE, 10, 120, CASE WHEN n % 9 = 0 THEN 'cancelled' ELSE 'published' END, 1,
			UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
		FROM ` + seq4000 + ` ORDER BY n DESC`,
		`INSERT INTO volunteer_hours (volunteer_id, activity_id, claim_id, kind, minutes, recorded_by, created_at)
		SELECT id % 50 + 1, id, id, 'served', 60, id % 50 + 1, starts_at FROM activities ORDER BY id`,
		`ANALYZE TABLE stations, offerings, slots, bookings, activities, volunteer_hours`,
	} {
		if _, err := st.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	to := time.Now()
	from := to.AddDate(0, 0, -30)
	for _, c := range []struct {
		name     string
		ids      []any
		bookings string
		activity string
	}{
		{"city", nil, "ix_bookings_start", "ix_activities_time"},
		{"subtree", []any{3, 17, 29}, "ix_bookings_station_start", "ix_activities_station"},
	} {
		var args []any
		for range 3 {
			args = append(args, c.ids...)
			args = append(args, from, to)
		}
		plan := explain(t, st, store.ServiceStatsSQL(len(c.ids)), args...)
		seen := map[string]int{}
		for _, row := range plan {
			want := map[string][2]string{"b": {"range", c.bookings}, "a": {"range", c.activity}, "h": {"ref", "ix_hours_activity"}}
			if row["table"] == "NULL" {
				continue
			}
			seen[row["table"]]++
			if w, ok := want[row["table"]]; !ok || row["type"] != w[0] || row["key"] != w[1] {
				t.Errorf("%s: %s read by %s on %s, want %v: %v", c.name, row["table"], row["type"], row["key"], w, row)
			}
		}
		if seen["b"] != 1 || seen["a"] != 2 || seen["h"] != 1 {
			t.Errorf("%s: plan %v, want bookings once, activities twice, the ledger once", c.name, plan)
		}
	}
}
