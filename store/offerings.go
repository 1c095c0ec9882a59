package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"jindalai/model"
)

const offeringColumns = `id, station_id, name, category, description, duration_min, active, created_at`

func (s *Store) scanOffering(row scanner) (model.Offering, error) {
	var o model.Offering
	err := row.Scan(&o.ID, &o.StationID, &o.Name, &o.Category, &o.Description, &o.DurationMin, &o.Active, &o.CreatedAt)
	o.CreatedAt = o.CreatedAt.In(s.Loc)
	return o, err
}

// CreateOffering stores a new offering of a station, idempotently when idem
// is set. Errors: conflict (Idempotency-Key reused), unavailable, internal.
func (s *Store) CreateOffering(ctx context.Context, idem *model.Idempotency, o model.Offering, createdBy int64, at time.Time) (model.Offering, error) {
	out, _, err := InIdempotentTx(ctx, s, idem, func(tx *sql.Tx) (model.Offering, error) {
		at := at.UTC().Truncate(time.Millisecond)
		res, err := tx.ExecContext(ctx, `
			INSERT INTO offerings (station_id, name, category, description, duration_min, active, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`,
			o.StationID, o.Name, o.Category, o.Description, o.DurationMin, createdBy, at, at)
		if err != nil {
			return o, translate(err, "")
		}
		if o.ID, err = res.LastInsertId(); err != nil {
			return o, translate(err, "")
		}
		o.Active, o.CreatedAt = true, at.In(s.Loc)
		return o, nil
	})
	return out, err
}

// GetOffering returns an offering. Errors: not_found, unavailable, internal.
func (s *Store) GetOffering(ctx context.Context, id int64) (model.Offering, error) {
	o, err := s.scanOffering(s.DB.QueryRowContext(ctx, `SELECT `+offeringColumns+` FROM offerings WHERE id = ?`, id))
	if err != nil {
		return o, translate(err, "服务")
	}
	return o, nil
}

// UpdateOffering applies a patch and returns the offering.
// Errors: not_found, unavailable, internal.
func (s *Store) UpdateOffering(ctx context.Context, id int64, p model.OfferingPatch, at time.Time) (model.Offering, error) {
	res, err := s.DB.ExecContext(ctx, `
		UPDATE offerings SET name = COALESCE(?, name), category = COALESCE(?, category),
			description = COALESCE(?, description), duration_min = COALESCE(?, duration_min),
			active = COALESCE(?, active), updated_at = ?
		WHERE id = ?`, p.Name, p.Category, p.Description, p.DurationMin, p.Active, at.UTC(), id)
	if err != nil {
		return model.Offering{}, translate(err, "")
	}
	if err := mustAffect(res, "服务"); err != nil {
		return model.Offering{}, err
	}
	return s.GetOffering(ctx, id)
}

// ListOfferings returns offerings by id, of one station (stationID > 0) or
// of all, active ones only unless includeInactive.
// Errors: invalid_argument (cursor), unavailable, internal.
func (s *Store) ListOfferings(ctx context.Context, stationID int64, includeInactive bool, page model.Page) (model.List[model.Offering], error) {
	out := model.List[model.Offering]{Items: []model.Offering{}}
	after, err := model.DecodeCursor(page.Cursor)
	if err != nil {
		return out, err
	}
	var where []string
	var args []any
	where, args = append(where, "id > ?"), append(args, after)
	if stationID > 0 {
		where, args = append(where, "station_id = ?"), append(args, stationID)
	}
	if !includeInactive {
		where = append(where, "active = 1")
	}
	args = append(args, page.Limit+1)
	rows, err := s.DB.QueryContext(ctx, `SELECT `+offeringColumns+` FROM offerings
		WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return out, translate(err, "")
	}
	defer rows.Close()
	for rows.Next() {
		o, err := s.scanOffering(rows)
		if err != nil {
			return out, translate(err, "")
		}
		out.Items = append(out.Items, o)
	}
	if err := rows.Err(); err != nil {
		return out, translate(err, "")
	}
	return model.CutPage(out.Items, page.Limit, func(x model.Offering) int64 { return x.ID }), nil
}

// AddClosedDate marks a day (YYYY-MM-DD) closed at a station, idempotently
// when idem is set. Existing slots of that day are left as they are.
// Errors: conflict (already closed, or Idempotency-Key reused), unavailable, internal.
func (s *Store) AddClosedDate(ctx context.Context, idem *model.Idempotency, d model.ClosedDate, createdBy int64, at time.Time) (model.ClosedDate, error) {
	out, _, err := InIdempotentTx(ctx, s, idem, func(tx *sql.Tx) (model.ClosedDate, error) {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO station_closed_dates (station_id, closed_on, reason, created_by, created_at)
			VALUES (?, ?, ?, ?, ?)`, d.StationID, d.Date, d.Reason, createdBy, at.UTC())
		if isDuplicate(err) {
			return d, &model.Error{Code: model.CodeConflict, Message: "该日期已设为休息日", Fields: map[string]string{"date": "已设为休息日"}}
		}
		return d, translate(err, "")
	})
	return out, err
}

// DeleteClosedDate opens a closed day again. Errors: not_found, unavailable, internal.
func (s *Store) DeleteClosedDate(ctx context.Context, stationID int64, date string) error {
	res, err := s.DB.ExecContext(ctx, `DELETE FROM station_closed_dates WHERE station_id = ? AND closed_on = ?`, stationID, date)
	if err != nil {
		return translate(err, "")
	}
	return mustAffect(res, "休息日")
}

// ClosedDates returns a station's closed days from..to (YYYY-MM-DD, inclusive).
// Errors: unavailable, internal.
func (s *Store) ClosedDates(ctx context.Context, stationID int64, from, to string) ([]model.ClosedDate, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT DATE_FORMAT(closed_on, '%Y-%m-%d'), reason FROM station_closed_dates
		WHERE station_id = ? AND closed_on BETWEEN ? AND ? ORDER BY closed_on`, stationID, from, to)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	out := []model.ClosedDate{}
	for rows.Next() {
		d := model.ClosedDate{StationID: stationID}
		if err := rows.Scan(&d.Date, &d.Reason); err != nil {
			return nil, translate(err, "")
		}
		out = append(out, d)
	}
	return out, translate(rows.Err(), "")
}
