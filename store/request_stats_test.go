package store_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"jindalai/store"
	"jindalai/store/storetest"
)

// insertStatRequest inserts a request held by station, created at created,
// with one event per kind given, an hour apart after created.
func insertStatRequest(t *testing.T, st *store.Store, station int64, created time.Time, kinds ...string) int64 {
	t.Helper()
	res, err := st.DB.Exec(`INSERT INTO requests (resident_id, status, category, category_name, description, lat, lng,
			urgency, images, fields, station_id, station_name, station_level, organizations, candidates, accept_by,
			queue_score, created_at, updated_at)
		VALUES (1, 'dispatched', 'repair', '维修', '水管漏水', 41.8, 123.4, 'normal', '[]', '{}', ?, '测试站', 3, '[]', '[]',
			?, 0, ?, ?)`, station, created, created, created)
	if err != nil {
		t.Fatal(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		t.Fatal(err)
	}
	for i, kind := range kinds {
		if _, err := st.DB.Exec(`INSERT INTO request_events (request_id, kind, actor_role, created_at)
			VALUES (?, ?, 'station_worker', ?)`, id, kind, created.Add(time.Duration(i+1)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// RequestStatRows reads requests created in [from, to) of the stations
// asked, with their first acceptance and whether they were resolved.
func TestRequestStatRowsWindowAndStations(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	from := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 7)
	insertStatRequest(t, st, 1, from.Add(-time.Millisecond), "accept")
	insertStatRequest(t, st, 1, from, "accept", "note", "accept", "resolve")
	insertStatRequest(t, st, 2, to.Add(-time.Millisecond))
	insertStatRequest(t, st, 3, from.Add(time.Hour), "accept")
	insertStatRequest(t, st, 1, to, "accept")

	rows, err := st.RequestStatRows(ctx, from, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		accept := "-"
		if r.FirstAccept != nil {
			accept = r.FirstAccept.Sub(r.CreatedAt).String()
		}
		got = append(got, fmt.Sprintf("%d@%s/%s/%v", r.Station.ID, r.CreatedAt.UTC().Format("01-02T15:04:05.000"), accept, r.Resolved))
	}
	sort.Strings(got) // the query has no order
	want := "[1@05-01T00:00:00.000/1h0m0s/true 2@05-07T23:59:59.999/-/false 3@05-01T01:00:00.000/1h0m0s/false]"
	if fmt.Sprint(got) != want {
		t.Fatalf("rows %v, want %s", got, want)
	}
	if rows, err := st.RequestStatRows(ctx, from, to, []int64{2, 3}); err != nil || len(rows) != 2 {
		t.Fatalf("stations 2 and 3: %d rows (%v), want 2", len(rows), err)
	}
	if rows, err := st.RequestStatRows(ctx, from, to, []int64{}); err != nil || len(rows) != 0 {
		t.Fatalf("no station: %d rows (%v), want none", len(rows), err)
	}
}

// On a table of some size the statistics of the last 30 days read a range
// of the created_at index, and those of a station subtree one range per
// station of the (station_id, created_at) index: no full scan of requests
// (or of the events its subqueries read).
func TestRequestStatsUseTheCreatedAtIndexes(t *testing.T) {
	st := storetest.New(t)
	// 4,000 requests over 400 days at 40 stations, oldest first as in life,
	// each with a submit event and every other one accepted.
	if _, err := st.DB.Exec(`INSERT INTO requests (resident_id, status, category, category_name, description, lat, lng,
			urgency, images, fields, station_id, station_name, station_level, organizations, candidates, accept_by,
			queue_score, created_at, updated_at)
		SELECT n % 97 + 1, CASE WHEN n % 2 = 0 THEN 'accepted' ELSE 'dispatched' END, 'repair', '维修', '水管漏水',
		       41.8, 123.4, 'normal', '[]', '{}', n % 40 + 1, '测试站', 3, '[]', '[]',
		       UTC_TIMESTAMP(3) - INTERVAL n * 144 MINUTE, 0,
		       UTC_TIMESTAMP(3) - INTERVAL n * 144 MINUTE, UTC_TIMESTAMP(3) - INTERVAL n * 144 MINUTE
		FROM ` + seq4000 + `
		ORDER BY n DESC`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.Exec(`INSERT INTO request_events (request_id, kind, actor_role, created_at)
		SELECT id, 'submit', 'resident', created_at FROM requests
		UNION ALL SELECT id, 'accept', 'station_worker', created_at + INTERVAL 1 HOUR FROM requests WHERE status = 'accepted'
		ORDER BY 4`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.Exec(`ANALYZE TABLE requests, request_events`); err != nil {
		t.Fatal(err)
	}
	to := time.Now()
	from := to.AddDate(0, 0, -30)
	for _, c := range []struct {
		name    string
		indexed string
		args    []any
	}{
		{"city", "ix_requests_created", []any{from, to}},
		{"subtree", "ix_requests_station_created", []any{from, to, 3, 17, 29}},
	} {
		plan := explain(t, st, store.RequestStatsSQL(len(c.args)-2), c.args...)
		for _, row := range plan {
			if row["type"] == "ALL" {
				t.Errorf("%s: full scan of %s: %v", c.name, row["table"], row)
			}
			if row["table"] == "r" && (row["type"] != "range" || row["key"] != c.indexed) {
				t.Errorf("%s: requests read by %s on %s, want a range of %s", c.name, row["type"], row["key"], c.indexed)
			}
		}
		if len(plan) == 0 || plan[0]["table"] != "r" {
			t.Errorf("%s: plan %v does not start with requests", c.name, plan)
		}
	}
}

// On a table of mostly closed requests the sweep and the queue rebuild
// read the open ones' ids from the status index alone (eachOpenPage): a
// range of ix_requests_due, not a walk of the table or its primary key.
func TestOpenRequestIDsReadTheStatusIndex(t *testing.T) {
	st := storetest.New(t)
	// 4,000 requests, one in fifty still open, oldest first.
	if _, err := st.DB.Exec(`INSERT INTO requests (resident_id, status, category, category_name, description, lat, lng,
			urgency, images, fields, station_id, station_name, station_level, organizations, candidates, accept_by,
			queue_score, created_at, updated_at)
		SELECT n % 97 + 1, CASE WHEN n % 50 = 0 THEN 'dispatched' WHEN n % 50 = 1 THEN 'reopened' ELSE 'closed' END,
		       'repair', '维修', '水管漏水', 41.8, 123.4, 'normal', '[]', '{}', n % 40 + 1, '测试站', 3, '[]', '[]',
		       UTC_TIMESTAMP(3) - INTERVAL n * 144 MINUTE, 0,
		       UTC_TIMESTAMP(3) - INTERVAL n * 144 MINUTE, UTC_TIMESTAMP(3) - INTERVAL n * 144 MINUTE
		FROM ` + seq4000 + `
		ORDER BY n DESC`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.Exec(`ANALYZE TABLE requests`); err != nil {
		t.Fatal(err)
	}
	plan := explain(t, st, store.OpenRequestIDsSQL)
	if len(plan) != 1 {
		t.Fatalf("plan %v, want one table read", plan)
	}
	row := plan[0]
	if row["type"] != "range" || row["key"] != "ix_requests_due" || !strings.Contains(row["Extra"], "Using index") {
		t.Fatalf("open ids read by %s on %s (%s), want an index-only range of ix_requests_due: %v", row["type"], row["key"], row["Extra"], row)
	}
	ids, n := 0, 0
	if err := st.DB.QueryRow(`SELECT COUNT(*) FROM (` + store.OpenRequestIDsSQL + `) o`).Scan(&ids); err != nil {
		t.Fatal(err)
	}
	if err := st.DB.QueryRow(`SELECT COUNT(*) FROM requests WHERE status IN ('dispatched', 'reopened')`).Scan(&n); err != nil || ids != n || n != 160 {
		t.Fatalf("%d ids of %d open requests (%v), want 160", ids, n, err)
	}
}
