package store

import (
	"context"
	"database/sql"
	"time"

	"jindalai/model"
)

// CheckIn records the check-in of a confirmed, live claim at the given time
// and method ("location" or "code"). The conditional UPDATE decides a race:
// of two concurrent check-ins one wins. Errors: conflict (already checked in,
// or the claim is no longer confirmed), unavailable, internal.
func (s *Store) CheckIn(ctx context.Context, claimID int64, at time.Time, method string) (model.Claim, error) {
	res, err := s.DB.ExecContext(ctx, `
		UPDATE activity_claims SET checked_in_at = ?, checkin_method = ?, updated_at = ?
		WHERE id = ? AND live = 1 AND status = 'confirmed' AND checked_in_at IS NULL`,
		at.UTC(), method, now(), claimID)
	if err != nil {
		return model.Claim{}, translate(err, "")
	}
	if n, err := res.RowsAffected(); err != nil {
		return model.Claim{}, translate(err, "")
	} else if n == 0 {
		return model.Claim{}, model.Errorf(model.CodeConflict, "已签到")
	}
	return s.GetClaim(ctx, claimID)
}

// CheckOut records the check-out of a checked-in claim and credits minutes:
// the claim's update and the ledger row commit together. A claim whose
// minutes an organizer already set is not credited again. Errors: conflict
// (already checked out, not checked in, or minutes already set by an
// organizer), unavailable, internal.
func (s *Store) CheckOut(ctx context.Context, claimID int64, at time.Time, minutes int) (model.Claim, error) {
	var out model.Claim
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if ok, err := checkOutClaim(ctx, tx, claimID, at, minutes); err != nil {
			return err
		} else if !ok {
			return model.Errorf(model.CodeConflict, "已签退或服务时长已由组织者确认")
		}
		c, err := s.getClaim(ctx, tx, claimID, false)
		out = c
		return err
	})
	return out, err
}

// checkedInClaim is the condition on activity_claims of a claim a check-out
// may close: live, checked in, not checked out and its minutes unset.
const checkedInClaim = `live = 1 AND checked_in_at IS NOT NULL AND checked_out_at IS NULL AND minutes_checked_at IS NULL`

// checkOutClaim checks a claim out at `at`, credited minutes, with its
// served row in the hours ledger (recorded by the volunteer), if it is live,
// checked in, not checked out and its minutes unset; otherwise it writes
// nothing and reports false (the conditional UPDATE decides a race).
func checkOutClaim(ctx context.Context, tx *sql.Tx, claimID int64, at time.Time, minutes int) (bool, error) {
	t := now()
	res, err := tx.ExecContext(ctx, `
		UPDATE activity_claims SET checked_out_at = ?, credited_minutes = ?, updated_at = ?
		WHERE id = ? AND `+checkedInClaim,
		at.UTC(), minutes, t, claimID)
	if err != nil {
		return false, translate(err, "")
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, translate(err, "")
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO volunteer_hours (volunteer_id, activity_id, claim_id, kind, minutes, recorded_by, created_at)
		SELECT volunteer_id, activity_id, id, 'served', ?, volunteer_id, ? FROM activity_claims WHERE id = ?`,
		minutes, t, claimID)
	return err == nil, translate(err, "")
}

// SetCreditedMinutes confirms or corrects the minutes credited to a claim
// (the claim then keeps its minutes: check-out no longer credits it).
// It locks the claim and lets check refuse (it returns the error to give);
// when to differs from the credited minutes a correction row (from, to,
// reason, who) is appended to the ledger; either way the claim records who
// checked it and when. Errors: check's, not_found, unavailable, internal.
func (s *Store) SetCreditedMinutes(ctx context.Context, claimID, by int64, to int, reason string,
	check func(model.Claim) error) (model.Claim, error) {
	var out model.Claim
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := s.getClaim(ctx, tx, claimID, true)
		if err != nil {
			return err
		}
		if err := check(c); err != nil {
			return err
		}
		t := now()
		if _, err := tx.ExecContext(ctx, `
			UPDATE activity_claims SET credited_minutes = ?, minutes_checked_by = ?, minutes_checked_at = ?, updated_at = ?
			WHERE id = ?`, to, by, t, t, claimID); err != nil {
			return translate(err, "")
		}
		if from := c.CreditedMinutes; from != to {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO volunteer_hours (volunteer_id, activity_id, claim_id, kind, minutes, from_minutes,
					to_minutes, reason, recorded_by, created_at)
				VALUES (?, ?, ?, 'correction', ?, ?, ?, ?, ?, ?)`,
				c.VolunteerID, c.ActivityID, c.ID, to-from, from, to, reason, by, t); err != nil {
				return translate(err, "")
			}
		}
		out, err = s.getClaim(ctx, tx, claimID, false)
		return err
	})
	return out, err
}

// VolunteerHours returns a volunteer's total credited minutes and one page of
// ledger rows, newest first, before beforeID (0: from the newest), at most
// limit. Errors: unavailable, internal.
func (s *Store) VolunteerHours(ctx context.Context, volunteerID, beforeID int64, limit int) (int64, []model.HoursEntry, error) {
	var total int64
	if err := s.DB.QueryRowContext(ctx, `
		SELECT COALESCE(SUM(minutes), 0) FROM volunteer_hours WHERE volunteer_id = ?`, volunteerID).Scan(&total); err != nil {
		return 0, nil, translate(err, "")
	}
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	rows, err := s.DB.QueryContext(ctx, `
		SELECT h.id, h.activity_id, a.title, h.volunteer_id, h.claim_id, h.kind, h.minutes, h.from_minutes,
			h.to_minutes, h.reason, h.recorded_by, h.created_at
		FROM volunteer_hours h JOIN activities a ON a.id = h.activity_id
		WHERE h.volunteer_id = ? AND h.id < ? ORDER BY h.id DESC LIMIT ?`, volunteerID, beforeID, limit)
	if err != nil {
		return 0, nil, translate(err, "")
	}
	defer rows.Close()
	items := []model.HoursEntry{}
	for rows.Next() {
		var e model.HoursEntry
		var from, to int
		if err := rows.Scan(&e.ID, &e.ActivityID, &e.Title, &e.VolunteerID, &e.ClaimID, &e.Kind, &e.Minutes,
			&from, &to, &e.Reason, &e.RecordedBy, &e.At); err != nil {
			return 0, nil, translate(err, "")
		}
		if e.Kind == model.HoursCorrection {
			e.FromMinutes, e.ToMinutes = &from, &to
		}
		e.At = e.At.In(s.Loc)
		items = append(items, e)
	}
	return total, items, translate(rows.Err(), "")
}
