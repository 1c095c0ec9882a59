package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// city is the size of the synthetic city and what the seed created.
type city struct {
	Stations, Orgs, Residents, Workers, Volunteers int
	// Seeded lists "table=rows" for the report.
	Seeded []string
}

// Login codes of the fake WeChat: code C logs in openid dev_C, so a seeded
// user with openid dev_r17 logs in with code r17.
const (
	codeResident  = "r"
	codeWorker    = "w"
	codeVolunteer = "v"
	codeAdmin     = "admin"
	// codeStationAdmin logs in the admin of station k + 1 as sa<k>.
	codeStationAdmin = "sa"
)

// seedCity fills the fresh bench database (migrated by this tree, so every
// table is there) with multi-row INSERTs.
func seedCity(ctx context.Context, db *sql.DB, c *city) error {
	t0 := time.Now()
	now := time.Now().UTC().Truncate(time.Millisecond)
	users := c.Residents + c.Workers + c.Volunteers + c.Stations
	// Users: residents first (ids 1..Residents), then workers, then
	// volunteers, then one admin per station.
	if err := insertRows(ctx, db, "users", []string{"openid", "nickname", "avatar_url", "created_at", "updated_at"}, users,
		func(i int) []any {
			code, name := userCode(c, i)
			return []any{"dev_" + code, name, "", now, now}
		}); err != nil {
		return err
	}
	c.Seeded = append(c.Seeded, fmt.Sprintf("users=%d", users))
	// Social workers: worker k serves station k mod Stations + 1.
	if err := insertRows(ctx, db, "user_roles", []string{"user_id", "role", "station_id", "org_id", "created_at"}, c.Workers,
		func(k int) []any {
			return []any{c.Residents + k + 1, "social_worker", k%c.Stations + 1, 0, now}
		}); err != nil {
		return err
	}
	if err := insertRows(ctx, db, "user_roles", []string{"user_id", "role", "station_id", "org_id", "created_at"}, c.Volunteers,
		func(k int) []any {
			return []any{c.Residents + c.Workers + k + 1, "volunteer", 0, 0, now}
		}); err != nil {
		return err
	}
	// Station admins: admin k runs station k + 1; they get the stations'
	// request_dispatched messages.
	if err := insertRows(ctx, db, "user_roles", []string{"user_id", "role", "station_id", "org_id", "created_at"}, c.Stations,
		func(k int) []any {
			return []any{c.Residents + c.Workers + c.Volunteers + k + 1, "station_admin", k + 1, 0, now}
		}); err != nil {
		return err
	}
	c.Seeded = append(c.Seeded, fmt.Sprintf("user_roles=%d", c.Workers+c.Volunteers+c.Stations))
	for _, step := range featureSeeds {
		n, err := step.seed(ctx, db, c, now)
		if err != nil {
			return fmt.Errorf("seed %s: %w", step.name, err)
		}
		c.Seeded = append(c.Seeded, fmt.Sprintf("%s=%d", step.name, n))
	}
	logf("seeded %s in %v", strings.Join(c.Seeded, " "), time.Since(t0).Round(time.Millisecond))
	return nil
}

// featureSeed fills the tables of one feature.
type featureSeed struct {
	name string
	seed func(ctx context.Context, db *sql.DB, c *city, now time.Time) (int, error)
}

// featureSeeds run in this order: the slots' offerings name stations
// 1..benchOfferings, which the stations step creates.
var featureSeeds = []featureSeed{
	{name: "stations+orgs", seed: seedStations},
	{name: "slots", seed: seedBookings},
}

// userCode returns the login code and nickname of the i-th seeded user.
func userCode(c *city, i int) (code, name string) {
	switch {
	case i < c.Residents:
		return fmt.Sprintf("%s%d", codeResident, i), fmt.Sprintf("居民%d", i)
	case i < c.Residents+c.Workers:
		k := i - c.Residents
		return fmt.Sprintf("%s%d", codeWorker, k), fmt.Sprintf("社工%d", k)
	case i < c.Residents+c.Workers+c.Volunteers:
		k := i - c.Residents - c.Workers
		return fmt.Sprintf("%s%d", codeVolunteer, k), fmt.Sprintf("志愿者%d", k)
	default:
		k := i - c.Residents - c.Workers - c.Volunteers
		return fmt.Sprintf("%s%d", codeStationAdmin, k), fmt.Sprintf("站长%d", k)
	}
}

// workerStation is the station of worker k (see seedCity).
func workerStation(c *city, k int) int64 { return int64(k%c.Stations + 1) }

// insertRows inserts n rows of cols into table, 500 rows per statement.
func insertRows(ctx context.Context, db *sql.DB, table string, cols []string, n int, row func(i int) []any) error {
	const batch = 500
	ph := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	for from := 0; from < n; from += batch {
		to := min(from+batch, n)
		var sb strings.Builder
		sb.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, (to-from)*len(cols))
		for i := from; i < to; i++ {
			if i > from {
				sb.WriteByte(',')
			}
			sb.WriteString(ph)
			args = append(args, row(i)...)
		}
		if _, err := db.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("insert %s: %w", table, err)
		}
	}
	return nil
}
