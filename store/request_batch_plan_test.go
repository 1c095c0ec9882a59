package store_test

import (
	"context"
	"strings"
	"testing"

	"jindalai/model"
	"jindalai/store/storetest"
)

// TestBatchStaffNoticesReadOnlyTheirStations: the staff notices of a batch
// look up the holders at each notice's station, however many roles are held
// elsewhere and whatever the statistics say. With statistics taken when the
// city was small (here MariaDB's engine-independent ones, which it prefers
// and which only ANALYZE … PERSISTENT refreshes), MariaDB chose, inside the
// INSERT … SELECT, to read every user_roles row and probe the batch's
// derived table for each: a cost growing with the city's volunteers, paid
// by every submit batch.
func TestBatchStaffNoticesReadOnlyTheirStations(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	// A city's roles: 2,000 volunteers (at station 0), and at each of 200
	// stations one admin and two or three social workers; the statistics
	// are taken when two of them were granted.
	if _, err := st.DB.ExecContext(ctx, `INSERT INTO users (openid, created_at, updated_at)
		SELECT CONCAT('dev_plan_', seq.n), NOW(3), NOW(3) FROM `+seq4000+` WHERE seq.n < 2700`); err != nil {
		t.Fatal(err)
	}
	var version string
	if err := st.DB.QueryRowContext(ctx, `SELECT VERSION()`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	analyze := `ANALYZE TABLE user_roles`
	if strings.Contains(strings.ToLower(version), "mariadb") {
		analyze += ` PERSISTENT FOR ALL`
	}
	grant := `INSERT INTO user_roles (user_id, role, station_id, org_id, created_at)
		SELECT id,
			CASE WHEN id <= 2000 THEN 'volunteer' WHEN id <= 2200 THEN 'station_admin' ELSE 'social_worker' END,
			CASE WHEN id <= 2000 THEN 0 WHEN id <= 2200 THEN id - 2000 ELSE (id - 2200) % 200 + 1 END,
			0, NOW(3)
		FROM users WHERE `
	for _, q := range []string{grant + `id IN (1, 2001)`, analyze, grant + `id NOT IN (1, 2001)`} {
		if _, err := st.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	const stations = 8
	var batch []model.NewRequest
	for s := int64(1); s <= stations; s++ {
		batch = append(batch, toStationAdmins(batchOf(2, s, false))...)
	}

	st.DB.SetMaxOpenConns(1) // the session counters below are the batch's connection's
	// SHOW SESSION STATUS reads the same on MySQL 8 and MariaDB (MySQL
	// has no information_schema.SESSION_STATUS).
	reads := func() (conn, n int64) {
		t.Helper()
		if err := st.DB.QueryRowContext(ctx, `SELECT CONNECTION_ID()`).Scan(&conn); err != nil {
			t.Fatal(err)
		}
		rows, err := st.DB.QueryContext(ctx, `SHOW SESSION STATUS WHERE Variable_name IN ('Handler_read_key', 'Handler_read_next', 'Handler_read_rnd_next')`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var v int64
			if err := rows.Scan(&name, &v); err != nil {
				t.Fatal(err)
			}
			n += v
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return conn, n
	}
	conn, before := reads()
	out, err := st.CreateRequests(ctx, unprepared(batch), nil)
	if err != nil || len(out) != len(batch) {
		t.Fatalf("batch: %d %v", len(out), err)
	}
	connAfter, after := reads()
	if connAfter != conn {
		t.Fatalf("the batch ran on connection %d, not %d", connAfter, conn)
	}
	if n := count(t, st, `SELECT COUNT(*) FROM notifications WHERE kind = 'request_dispatched'`); n != len(batch) {
		t.Fatalf("%d staff notices, want one per request", n)
	}
	// One lookup per notice, plus the read of the counters themselves;
	// reading the city's 2,700 roles would be far more.
	if read := after - before; read > 200 {
		t.Fatalf("the batch read %d index entries and rows for %d notices", read, len(batch))
	}
}
