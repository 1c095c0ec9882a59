package store

import (
	"context"
	"database/sql"
	"math"
	"strings"
	"time"

	"jindalai/model"
)

const activityColumns = `id, title, description, category, station_id, org_id, lat, lng, address,
	starts_at, ends_at, signup_deadline, capacity, confirmed, waitlist, credited_minutes, status,
	cancel_reason, created_by, created_at`

// CreateActivity stores a published activity. With idem set, a retry with
// the same key returns the first activity (replayed true) and stores nothing.
// Errors: conflict (idempotency key reused), unavailable, internal.
func (s *Store) CreateActivity(ctx context.Context, idem *model.Idempotency, a model.Activity) (model.Activity, bool, error) {
	return InIdempotentTx(ctx, s, idem, func(tx *sql.Tx) (model.Activity, error) {
		t := now()
		res, err := tx.ExecContext(ctx, `
			INSERT INTO activities (title, description, category, station_id, org_id, lat, lng, address,
				starts_at, ends_at, signup_deadline, capacity, confirmed, waitlist, credited_minutes, status,
				cancel_reason, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 'published', '', ?, ?, ?)`,
			a.Title, a.Description, a.Category, a.StationID, a.OrgID, a.Lat, a.Lng, a.Address,
			a.StartsAt.UTC(), a.EndsAt.UTC(), a.SignupDeadline.UTC(), a.Capacity, a.Waitlist, a.CreditedMinutes,
			a.CreatedBy, t, t)
		if err != nil {
			return model.Activity{}, translate(err, "")
		}
		id, err := res.LastInsertId()
		if err != nil {
			return model.Activity{}, translate(err, "")
		}
		return s.getActivity(ctx, tx, id, false)
	})
}

// GetActivity returns an activity. Errors: not_found, unavailable, internal.
func (s *Store) GetActivity(ctx context.Context, id int64) (model.Activity, error) {
	return s.getActivity(ctx, s.DB, id, false)
}

// getActivity reads an activity; forUpdate locks its row until the
// transaction ends (every claim, cancel and edit of one activity serializes
// on that lock).
func (s *Store) getActivity(ctx context.Context, q rowQueryer, id int64, forUpdate bool) (model.Activity, error) {
	query := `SELECT ` + activityColumns + ` FROM activities WHERE id = ?`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	return s.scanActivity(q.QueryRowContext(ctx, query, id))
}

// ListActivities returns published activities matching f, by start time then
// id, at most f.Limit. Errors: unavailable, internal.
func (s *Store) ListActivities(ctx context.Context, f model.ActivityFilter) ([]model.Activity, error) {
	var where strings.Builder
	where.WriteString(`status = 'published' AND ends_at > ? AND starts_at >= ?`)
	args := []any{f.EndsAfter.UTC(), f.StartsAfter.UTC()}
	if f.Category != "" {
		where.WriteString(` AND category = ?`)
		args = append(args, f.Category)
	}
	if !f.StartsFrom.IsZero() {
		where.WriteString(` AND starts_at >= ?`)
		args = append(args, f.StartsFrom.UTC())
	}
	if b := f.Box; b != nil {
		where.WriteString(` AND lat BETWEEN ? AND ? AND lng BETWEEN ? AND ?`)
		args = append(args, b.MinLat, b.MaxLat, b.MinLng, b.MaxLng)
	}
	if f.AfterID > 0 {
		where.WriteString(` AND (starts_at > ? OR (starts_at = ? AND id > ?))`)
		args = append(args, f.AfterStart.UTC(), f.AfterStart.UTC(), f.AfterID)
	}
	args = append(args, f.Limit)
	// Near a location, the box index filters lat/lng inside the index
	// (index condition pushdown) over the activities not yet ended; left
	// alone, the optimizer prefers the start-time index for the ORDER BY and
	// reads every upcoming row (measured: BenchmarkListActivitiesNear).
	index := ""
	if f.Box != nil {
		index = ` FORCE INDEX (ix_activities_box)`
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT `+activityColumns+` FROM activities`+index+` WHERE `+where.String()+`
		ORDER BY starts_at, id LIMIT ?`, args...)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	out := []model.Activity{}
	for rows.Next() {
		a, err := s.scanActivity(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, translate(rows.Err(), "")
}

// UpdateActivity locks the activity, lets edit change it (edit validates and
// returns the error to give), and saves it. When the capacity grew, the first
// waitlisted claims are promoted in the same transaction and promoted gives
// each one's notification. Then changed compares the activity as it was with
// the activity as saved: when it returns a builder, every volunteer holding a
// live claim gets the notification it builds, in the same transaction (nil
// changed or a nil builder: none). Errors: edit's; not_found;
// failed_precondition (capacity below the confirmed claims, or cancelled
// meanwhile); unavailable; internal.
func (s *Store) UpdateActivity(ctx context.Context, id int64, edit func(*model.Activity) error,
	promoted func(model.Activity, model.Claim) model.Notification,
	changed func(before, after model.Activity) func(volunteerID int64) model.Notification) (model.Activity, error) {
	var out model.Activity
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := s.getActivity(ctx, tx, id, true)
		if err != nil {
			return err
		}
		before := a
		if err := edit(&a); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE activities SET title = ?, description = ?, category = ?, lat = ?, lng = ?, address = ?,
				starts_at = ?, ends_at = ?, signup_deadline = ?, capacity = ?, waitlist = ?, credited_minutes = ?,
				updated_at = ?
			WHERE id = ? AND status = 'published' AND confirmed <= ?`,
			a.Title, a.Description, a.Category, a.Lat, a.Lng, a.Address, a.StartsAt.UTC(), a.EndsAt.UTC(),
			a.SignupDeadline.UTC(), a.Capacity, a.Waitlist, a.CreditedMinutes, now(), id, a.Capacity)
		if err != nil {
			return translate(err, "")
		}
		if n, err := res.RowsAffected(); err != nil {
			return translate(err, "")
		} else if n == 0 {
			return model.Errorf(model.CodeFailedPrecondition, "名额不能少于已确认人数，已取消的活动不能修改")
		}
		if err := s.promoteWaitlisted(ctx, tx, id, promoted); err != nil {
			return err
		}
		if out, err = s.getActivity(ctx, tx, id, false); err != nil {
			return err
		}
		return s.notifyClaimants(ctx, tx, before, out, changed)
	})
	return out, err
}

// notifyClaimants inserts the notification changed builds (if any) for each
// live claimant of the activity, inside tx.
func (s *Store) notifyClaimants(ctx context.Context, tx *sql.Tx, before, after model.Activity,
	changed func(before, after model.Activity) func(volunteerID int64) model.Notification) error {
	if changed == nil {
		return nil
	}
	build := changed(before, after)
	if build == nil {
		return nil
	}
	ids, err := liveClaimants(ctx, tx, after.ID)
	if err != nil {
		return err
	}
	notes := make([]model.Notification, 0, len(ids))
	for _, uid := range ids {
		notes = append(notes, build(uid))
	}
	return s.insertNotifications(ctx, tx, notes...)
}

// CancelActivity locks the activity, lets check refuse (it returns the error
// to give), marks it cancelled with reason, checks out at `at` the
// volunteers still on site, credited what credit says (checkOutOnSite), and
// inserts notify's notifications for the volunteers holding a live claim, in
// one transaction.
// Errors: check's; not_found; failed_precondition (already cancelled); unavailable; internal.
func (s *Store) CancelActivity(ctx context.Context, id int64, at time.Time, reason string, check func(model.Activity) error,
	credit func(a model.Activity, checkedIn, at time.Time) int,
	notify func(a model.Activity, volunteerIDs []int64) []model.Notification) (model.Activity, error) {
	var out model.Activity
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := s.getActivity(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := check(a); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE activities SET status = 'cancelled', cancel_reason = ?, updated_at = ?
			WHERE id = ? AND status = 'published'`, reason, now(), id)
		if err != nil {
			return translate(err, "")
		}
		if n, err := res.RowsAffected(); err != nil {
			return translate(err, "")
		} else if n == 0 {
			return model.Errorf(model.CodeFailedPrecondition, "活动已取消")
		}
		if err := checkOutOnSite(ctx, tx, a, at, credit); err != nil {
			return err
		}
		ids, err := liveClaimants(ctx, tx, id)
		if err != nil {
			return err
		}
		if out, err = s.getActivity(ctx, tx, id, false); err != nil {
			return err
		}
		return s.insertNotifications(ctx, tx, notify(out, ids)...)
	})
	return out, err
}

// checkOutOnSite checks out, at `at`, the volunteers of an activity being
// cancelled who checked in and have not checked out (and whose minutes no
// organizer set): each is credited credit(a, checked-in time, at) minutes
// (the service's rule for a check-out), with a served row in the hours
// ledger, as their own check-out would have. With tx holding the activity.
func checkOutOnSite(ctx context.Context, tx *sql.Tx, a model.Activity, at time.Time,
	credit func(a model.Activity, checkedIn, at time.Time) int) error {
	rows, err := tx.QueryContext(ctx, `
		SELECT id, checked_in_at FROM activity_claims
		WHERE activity_id = ? AND `+checkedInClaim+`
		ORDER BY id FOR UPDATE`, a.ID)
	if err != nil {
		return translate(err, "")
	}
	type onSite struct {
		claim int64
		in    time.Time
	}
	var found []onSite
	for rows.Next() {
		var o onSite
		if err := rows.Scan(&o.claim, &o.in); err != nil {
			rows.Close()
			return translate(err, "")
		}
		found = append(found, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return translate(err, "")
	}
	for _, o := range found {
		if _, err := checkOutClaim(ctx, tx, o.claim, at, credit(a, o.in, at)); err != nil {
			return err
		}
	}
	return nil
}

// liveClaimants returns the volunteers holding a live claim of an activity.
func liveClaimants(ctx context.Context, tx *sql.Tx, activityID int64) ([]int64, error) {
	return queryIDs(ctx, tx, `SELECT volunteer_id FROM activity_claims WHERE activity_id = ? AND live = 1 ORDER BY id`, activityID)
}

func (s *Store) scanActivity(row scanner) (model.Activity, error) {
	var a model.Activity
	if err := row.Scan(activityDest(&a)...); err != nil {
		return model.Activity{}, translate(err, "活动")
	}
	s.finishActivity(&a)
	return a, nil
}

// activityDest lists the scan destinations of activityColumns.
func activityDest(a *model.Activity) []any {
	return []any{&a.ID, &a.Title, &a.Description, &a.Category, &a.StationID, &a.OrgID, &a.Lat, &a.Lng,
		&a.Address, &a.StartsAt, &a.EndsAt, &a.SignupDeadline, &a.Capacity, &a.Confirmed, &a.Waitlist,
		&a.CreditedMinutes, &a.Status, &a.CancelReason, &a.CreatedBy, &a.CreatedAt}
}

// finishActivity localizes the times and derives the computed fields.
func (s *Store) finishActivity(a *model.Activity) {
	for _, t := range []*time.Time{&a.StartsAt, &a.EndsAt, &a.SignupDeadline, &a.CreatedAt} {
		*t = t.In(s.Loc)
	}
	a.Remaining = max(a.Capacity-a.Confirmed, 0)
	a.CreditedHours = math.Round(float64(a.CreditedMinutes)/60*100) / 100
}

// prefixColumns qualifies every column of a comma-separated list.
func prefixColumns(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
