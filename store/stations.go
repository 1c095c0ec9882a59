package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"jindalai/model"
)

const stationColumns = `id, parent_id, level, name, address, phone, lat, lng, radius_m, opening_hours, daily_capacity, closed, closed_reason`

// ListStations returns every station with its categories, by id.
// Errors: unavailable, internal.
func (s *Store) ListStations(ctx context.Context) ([]model.Station, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+stationColumns+` FROM stations ORDER BY id`)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var out []model.Station
	index := map[int64]int{}
	for rows.Next() {
		st, err := scanStation(rows)
		if err != nil {
			return nil, err
		}
		index[st.ID] = len(out)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err, "")
	}
	err = eachRow(ctx, s.DB, `SELECT station_id, category_code FROM station_categories ORDER BY station_id, category_code`,
		func(id int64, code string) {
			if i, ok := index[id]; ok {
				out[i].Categories = append(out[i].Categories, code)
			}
		})
	return out, err
}

// GetStation returns one station with its categories.
// Errors: not_found, unavailable, internal.
func (s *Store) GetStation(ctx context.Context, id int64) (model.Station, error) {
	st, err := scanStation(s.DB.QueryRowContext(ctx, `SELECT `+stationColumns+` FROM stations WHERE id = ?`, id))
	if err != nil {
		return st, err
	}
	err = eachRow(ctx, s.DB, `SELECT station_id, category_code FROM station_categories WHERE station_id = ? ORDER BY category_code`,
		func(_ int64, code string) { st.Categories = append(st.Categories, code) }, id)
	return st, err
}

func scanStation(r scanner) (model.Station, error) {
	var st model.Station
	var parent sql.NullInt64
	var hours string
	err := r.Scan(&st.ID, &parent, &st.Level, &st.Name, &st.Address, &st.Phone, &st.Lat, &st.Lng, &st.RadiusM,
		&hours, &st.DailyCapacity, &st.Closed, &st.ClosedReason)
	if err != nil {
		return st, translate(err, "站点")
	}
	if parent.Valid {
		p := parent.Int64
		st.ParentID = &p
	}
	if err := json.Unmarshal([]byte(hours), &st.OpeningHours); err != nil {
		return st, model.Wrap(model.CodeInternal, err, "")
	}
	if st.OpeningHours == nil {
		st.OpeningHours = []model.OpeningPeriod{}
	}
	st.Categories = []string{}
	return st, nil
}

// eachRow runs a query of (id, value) rows and calls fn for each row.
func eachRow[V any](ctx context.Context, db *sql.DB, query string, fn func(id int64, v V), args ...any) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return translate(err, "")
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var v V
		if err := rows.Scan(&id, &v); err != nil {
			return translate(err, "")
		}
		fn(id, v)
	}
	return translate(rows.Err(), "")
}

// CreateStation inserts a station with its categories (idempotently when
// idem is set) and returns it with its id. Errors: conflict (name taken,
// field name; a second city station, field level; a reused
// Idempotency-Key), unavailable, internal.
func (s *Store) CreateStation(ctx context.Context, idem *model.Idempotency, st model.Station) (model.Station, error) {
	hours, err := json.Marshal(st.OpeningHours)
	if err != nil {
		return st, model.Wrap(model.CodeInternal, err, "")
	}
	out, _, err := InIdempotentTx(ctx, s, idem, func(tx *sql.Tx) (model.Station, error) {
		t := now()
		res, err := tx.ExecContext(ctx, `
			INSERT INTO stations (parent_id, level, name, address, phone, lat, lng, radius_m, opening_hours,
				daily_capacity, closed, closed_reason, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			st.ParentID, st.Level, st.Name, st.Address, st.Phone, st.Lat, st.Lng, st.RadiusM, string(hours),
			st.DailyCapacity, st.Closed, st.ClosedReason, t, t)
		if err != nil {
			return st, stationWriteError(err)
		}
		if st.ID, err = res.LastInsertId(); err != nil {
			return st, translate(err, "")
		}
		return st, insertLinks(ctx, tx, "station_categories", "station_id", st.ID, st.Categories)
	})
	return out, err
}

// UpdateStation rewrites every column of a station but its level, and its
// categories, in one transaction. Errors: not_found, conflict (name taken,
// field name), unavailable, internal.
func (s *Store) UpdateStation(ctx context.Context, st model.Station) error {
	hours, err := json.Marshal(st.OpeningHours)
	if err != nil {
		return model.Wrap(model.CodeInternal, err, "")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE stations SET parent_id = ?, name = ?, address = ?, phone = ?, lat = ?, lng = ?, radius_m = ?,
				opening_hours = ?, daily_capacity = ?, closed = ?, closed_reason = ?, updated_at = ?
			WHERE id = ?`,
			st.ParentID, st.Name, st.Address, st.Phone, st.Lat, st.Lng, st.RadiusM, string(hours),
			st.DailyCapacity, st.Closed, st.ClosedReason, now(), st.ID)
		if err != nil {
			return stationWriteError(err)
		}
		if err := mustAffect(res, "站点"); err != nil {
			return err
		}
		return replaceLinks(ctx, tx, "station_categories", "station_id", st.ID, st.Categories)
	})
}

func stationWriteError(err error) error {
	if isDuplicate(err) {
		if strings.Contains(err.Error(), "uq_stations_city") {
			return duplicateField("level", "社工总站已存在")
		}
		return duplicateField("name", "站点名称已存在")
	}
	return translate(err, "")
}

// replaceLinks sets the category codes of an owner row (table is
// station_categories or organization_categories, fixed by the caller).
func replaceLinks(ctx context.Context, tx *sql.Tx, table, ownerColumn string, id int64, codes []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+ownerColumn+` = ?`, id); err != nil {
		return translate(err, "")
	}
	return insertLinks(ctx, tx, table, ownerColumn, id, codes)
}

// insertLinks adds the category codes of a new owner row. (A DELETE before
// it would take gap locks that deadlock concurrent creates.)
func insertLinks(ctx context.Context, tx *sql.Tx, table, ownerColumn string, id int64, codes []string) error {
	if len(codes) == 0 {
		return nil
	}
	var sb strings.Builder
	sb.WriteString(`INSERT INTO ` + table + ` (` + ownerColumn + `, category_code) VALUES `)
	args := make([]any, 0, 2*len(codes))
	for i, c := range codes {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(?, ?)")
		args = append(args, id, c)
	}
	_, err := tx.ExecContext(ctx, sb.String(), args...)
	return translate(err, "")
}
