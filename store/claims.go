package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/go-sql-driver/mysql"

	"jindalai/model"
)

const claimColumns = `c.id, c.activity_id, c.volunteer_id, c.status, c.checked_in_at, c.checkin_method,
	c.checked_out_at, c.credited_minutes, c.minutes_checked_by, c.minutes_checked_at, c.created_at`

// errNoPlace: the conditional UPDATE found no free place (or the activity
// closed meanwhile); errPlaceFreed: a place is free again. Both only steer
// ClaimActivity between its two paths.
var (
	errNoPlace    = errors.New("no place")
	errPlaceFreed = errors.New("place freed")
)

// claimAttempts bounds the retries of a claim (a deadlock, or a place freed
// between the two paths).
const claimAttempts = 4

// ClaimActivity claims a place for a volunteer; check (the service's rules:
// state, sign-up deadline) returns the error to give, notify the
// notifications of a confirmed claim. There are two paths, each one
// transaction:
//
//   - confirm: unless a plain read already shows the activity full, insert
//     the claim as confirmed, then the conditional
//     "UPDATE activities SET confirmed = confirmed + 1 WHERE id = ? AND
//     status = 'published' AND signup_deadline > now AND confirmed <
//     capacity". Its row lock is held only for that UPDATE and the commit.
//     When it matches no row, the transaction rolls back and the claim takes
//     the other path.
//   - waitlist: read the activity under a shared lock (so a cancel or an
//     edit, which take it exclusively, wait for this claim and then see it),
//     apply check, and insert the claim as waitlisted (or refuse with
//     conflict when the activity has no waitlist). If a place is free again
//     the claim goes back to the confirm path.
//
// Waitlisted claims do not serialize on the activity row, and the waitlist is
// served in claim id order (the order the rows were inserted). The reply's
// waitlist position is the one at the time of the claim. With idem set, a
// retry with the same key returns the first claim (replayed true).
// Errors: check's; not_found (activity); conflict (full without waitlist, or
// the volunteer already holds a claim, or idempotency key reused);
// unavailable; internal.
func (s *Store) ClaimActivity(ctx context.Context, idem *model.Idempotency, activityID, volunteerID int64, now time.Time,
	check func(model.Activity) error, notify func(model.Activity, model.Claim) []model.Notification) (model.Claim, bool, error) {
	a, err := s.GetActivity(ctx, activityID)
	if err != nil {
		return model.Claim{}, false, err
	}
	if err := check(a); err != nil {
		return model.Claim{}, false, err
	}
	tryConfirm := a.Confirmed < a.Capacity
	for attempt := 1; ; attempt++ {
		var c model.Claim
		var replayed bool
		if tryConfirm {
			c, replayed, err = InIdempotentTx(ctx, s, idem, func(tx *sql.Tx) (model.Claim, error) {
				return s.claimConfirmed(ctx, tx, a, volunteerID, now, notify)
			})
		}
		if !tryConfirm || errors.Is(err, errNoPlace) {
			c, replayed, err = InIdempotentTx(ctx, s, idem, func(tx *sql.Tx) (model.Claim, error) {
				return s.claimWaitlisted(ctx, tx, activityID, volunteerID, check)
			})
		}
		retry := errors.Is(err, errPlaceFreed) || isLockConflict(err)
		if !retry {
			return c, replayed, err
		}
		if attempt == claimAttempts {
			return model.Claim{}, false, model.Wrap(model.CodeUnavailable, err, "报名人数过多，请稍后再试")
		}
		tryConfirm = tryConfirm || errors.Is(err, errPlaceFreed)
	}
}

// claimConfirmed is the confirm path of ClaimActivity.
func (s *Store) claimConfirmed(ctx context.Context, tx *sql.Tx, a model.Activity, volunteerID int64, at time.Time,
	notify func(model.Activity, model.Claim) []model.Notification) (model.Claim, error) {
	// A fresh look without a lock: once the activity is visibly full the
	// claim goes to the waitlist without queueing for the row lock.
	var free bool
	if err := tx.QueryRowContext(ctx, `SELECT confirmed < capacity FROM activities WHERE id = ?`, a.ID).Scan(&free); err != nil {
		return model.Claim{}, translate(err, "活动")
	}
	if !free {
		return model.Claim{}, errNoPlace
	}
	c, err := s.insertClaim(ctx, tx, a.ID, volunteerID, model.ClaimConfirmed)
	if err != nil {
		return model.Claim{}, err
	}
	if err := s.insertNotifications(ctx, tx, notify(a, c)...); err != nil {
		return model.Claim{}, err
	}
	res, err := tx.ExecContext(ctx, `
		UPDATE activities SET confirmed = confirmed + 1, updated_at = ?
		WHERE id = ? AND status = 'published' AND signup_deadline > ? AND confirmed < capacity`,
		now(), a.ID, at.UTC())
	if err != nil {
		return model.Claim{}, translate(err, "")
	}
	if n, err := res.RowsAffected(); err != nil {
		return model.Claim{}, translate(err, "")
	} else if n == 0 {
		return model.Claim{}, errNoPlace
	}
	return c, nil
}

// claimWaitlisted is the waitlist path of ClaimActivity.
func (s *Store) claimWaitlisted(ctx context.Context, tx *sql.Tx, activityID, volunteerID int64, check func(model.Activity) error) (model.Claim, error) {
	a, err := s.scanActivity(tx.QueryRowContext(ctx, `SELECT `+activityColumns+` FROM activities WHERE id = ? LOCK IN SHARE MODE`, activityID))
	if err != nil {
		return model.Claim{}, err
	}
	if err := check(a); err != nil {
		return model.Claim{}, err
	}
	if a.Confirmed < a.Capacity {
		return model.Claim{}, errPlaceFreed
	}
	if !a.Waitlist {
		return model.Claim{}, model.Errorf(model.CodeConflict, "名额已满")
	}
	c, err := s.insertClaim(ctx, tx, activityID, volunteerID, model.ClaimWaitlisted)
	if err != nil {
		return model.Claim{}, err
	}
	return s.withPosition(ctx, tx, c)
}

// insertClaim inserts a live claim. Errors: conflict (the volunteer already
// holds a live claim of the activity), unavailable, internal.
func (s *Store) insertClaim(ctx context.Context, tx *sql.Tx, activityID, volunteerID int64, status model.ClaimStatus) (model.Claim, error) {
	t := now()
	res, err := tx.ExecContext(ctx, `
		INSERT INTO activity_claims (activity_id, volunteer_id, status, live, created_at, updated_at)
		VALUES (?, ?, ?, 1, ?, ?)`, activityID, volunteerID, status, t, t)
	if isDuplicate(err) {
		return model.Claim{}, &model.Error{Code: model.CodeConflict, Message: "你已认领过此活动", Err: err}
	}
	if err != nil {
		return model.Claim{}, translate(err, "")
	}
	id, err := res.LastInsertId()
	if err != nil {
		return model.Claim{}, translate(err, "")
	}
	return model.Claim{ID: id, ActivityID: activityID, VolunteerID: volunteerID, Status: status, CreatedAt: t.In(s.Loc)}, nil
}

// isLockConflict reports a deadlock or a lock wait timeout: the transaction
// was rolled back and may be retried.
func isLockConflict(err error) bool {
	var myErr *mysql.MySQLError
	return errors.As(err, &myErr) && (myErr.Number == mysqlDeadlock || myErr.Number == mysqlLockWaitTimeout)
}

// CancelClaim cancels the volunteer's live claim of an activity. In one
// transaction it locks the activity and the claim, lets check refuse, frees
// a confirmed place and promotes the first waitlisted claim into it (promoted
// gives that volunteer's notification). A checked-in claim cannot be cancelled.
// Errors: check's; not_found (activity or claim); failed_precondition
// (checked in); unavailable; internal.
func (s *Store) CancelClaim(ctx context.Context, activityID, volunteerID int64, check func(model.Activity, model.Claim) error,
	promoted func(model.Activity, model.Claim) model.Notification) (model.Claim, error) {
	var out model.Claim
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := s.getActivity(ctx, tx, activityID, true)
		if err != nil {
			return err
		}
		c, err := s.scanClaim(tx.QueryRowContext(ctx, `SELECT `+claimColumns+` FROM activity_claims c
			WHERE c.activity_id = ? AND c.volunteer_id = ? AND c.live = 1 FOR UPDATE`, activityID, volunteerID))
		if err != nil {
			return err
		}
		if err := check(a, c); err != nil {
			return err
		}
		t := now()
		res, err := tx.ExecContext(ctx, `
			UPDATE activity_claims SET status = 'cancelled', live = NULL, updated_at = ?
			WHERE id = ? AND live = 1 AND checked_in_at IS NULL`, t, c.ID)
		if err != nil {
			return translate(err, "")
		}
		if n, err := res.RowsAffected(); err != nil {
			return translate(err, "")
		} else if n == 0 {
			return model.Errorf(model.CodeFailedPrecondition, "已签到，不能取消")
		}
		if c.Status == model.ClaimConfirmed {
			if _, err := tx.ExecContext(ctx, `
				UPDATE activities SET confirmed = confirmed - 1, updated_at = ? WHERE id = ? AND confirmed > 0`,
				t, activityID); err != nil {
				return translate(err, "")
			}
			if err := s.promoteWaitlisted(ctx, tx, activityID, promoted); err != nil {
				return err
			}
		}
		out, err = s.getClaim(ctx, tx, c.ID, false)
		return err
	})
	return out, err
}

// promoteWaitlisted confirms waitlisted claims, first in line first, while
// the activity (locked by the caller) has free places.
func (s *Store) promoteWaitlisted(ctx context.Context, tx *sql.Tx, activityID int64, promoted func(model.Activity, model.Claim) model.Notification) error {
	a, err := s.getActivity(ctx, tx, activityID, false)
	if err != nil || a.Status != model.ActivityPublished || a.Remaining == 0 {
		return err
	}
	ids, err := queryIDs(ctx, tx, `
		SELECT id FROM activity_claims WHERE activity_id = ? AND status = 'waitlisted' AND live = 1
		ORDER BY id LIMIT ? FOR UPDATE`, activityID, a.Remaining)
	if err != nil {
		return err
	}
	var notes []model.Notification
	for _, id := range ids {
		t := now()
		res, err := tx.ExecContext(ctx, `
			UPDATE activities SET confirmed = confirmed + 1, updated_at = ?
			WHERE id = ? AND status = 'published' AND confirmed < capacity`, t, activityID)
		if err != nil {
			return translate(err, "")
		}
		if n, err := res.RowsAffected(); err != nil {
			return translate(err, "")
		} else if n == 0 {
			break
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE activity_claims SET status = 'confirmed', updated_at = ? WHERE id = ? AND status = 'waitlisted'`,
			t, id); err != nil {
			return translate(err, "")
		}
		c, err := s.getClaim(ctx, tx, id, false)
		if err != nil {
			return err
		}
		notes = append(notes, promoted(a, c))
	}
	return s.insertNotifications(ctx, tx, notes...)
}

// GetLiveClaim returns the volunteer's live claim of an activity.
// Errors: not_found, unavailable, internal.
func (s *Store) GetLiveClaim(ctx context.Context, activityID, volunteerID int64) (model.Claim, error) {
	c, err := s.scanClaim(s.DB.QueryRowContext(ctx, `SELECT `+claimColumns+` FROM activity_claims c
		WHERE c.activity_id = ? AND c.volunteer_id = ? AND c.live = 1`, activityID, volunteerID))
	if err != nil {
		return model.Claim{}, err
	}
	return s.withPosition(ctx, s.DB, c)
}

// GetClaim returns a claim by id. Errors: not_found, unavailable, internal.
func (s *Store) GetClaim(ctx context.Context, id int64) (model.Claim, error) {
	return s.getClaim(ctx, s.DB, id, false)
}

func (s *Store) getClaim(ctx context.Context, q rowQueryer, id int64, forUpdate bool) (model.Claim, error) {
	query := `SELECT ` + claimColumns + ` FROM activity_claims c WHERE c.id = ?`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	c, err := s.scanClaim(q.QueryRowContext(ctx, query, id))
	if err != nil {
		return model.Claim{}, err
	}
	return s.withPosition(ctx, q, c)
}

// withPosition fills the waitlist position of a waitlisted claim.
func (s *Store) withPosition(ctx context.Context, q rowQueryer, c model.Claim) (model.Claim, error) {
	if c.Status != model.ClaimWaitlisted {
		return c, nil
	}
	err := q.QueryRowContext(ctx, `SELECT `+waitlistedUpTo("?", "?"), c.ActivityID, c.ID).Scan(&c.WaitlistPosition)
	return c, translate(err, "")
}

// waitlistedUpTo is the SQL expression counting the live waitlisted claims
// of an activity with an id up to claimID (SQL expressions): the waitlist
// position of that claim.
func waitlistedUpTo(activityID, claimID string) string {
	return `(SELECT COUNT(*) FROM activity_claims w
		WHERE w.activity_id = ` + activityID + ` AND w.status = 'waitlisted' AND w.live = 1 AND w.id <= ` + claimID + `)`
}

// ListActivityClaims returns the live claims of an activity with their
// volunteers, by claim id after afterID, at most limit.
// Errors: unavailable, internal.
func (s *Store) ListActivityClaims(ctx context.Context, activityID, afterID int64, limit int) ([]model.Claim, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT `+claimColumns+`, v.real_name_enc, v.phone_enc, v.skills, v.org_id, v.created_at
		FROM activity_claims c JOIN volunteers v ON v.user_id = c.volunteer_id
		WHERE c.activity_id = ? AND c.live = 1 AND c.id > ?
		ORDER BY c.id LIMIT ?`, activityID, afterID, limit)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	out := []model.Claim{}
	position := 0
	for rows.Next() {
		var v model.Volunteer
		var skills []byte
		c, err := s.scanClaimWith(rows, &v.RealNameEnc, &v.PhoneEnc, &skills, &v.OrgID, &v.CreatedAt)
		if err != nil {
			return nil, err
		}
		v.UserID, v.CreatedAt = c.VolunteerID, v.CreatedAt.In(s.Loc)
		v.Skills = decodeSkills(skills)
		c.Volunteer = &v
		if c.Status == model.ClaimWaitlisted {
			position++
			c.WaitlistPosition = position
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err, "")
	}
	if afterID > 0 && position > 0 {
		// Positions continue from the previous pages.
		var before int
		if err := s.DB.QueryRowContext(ctx, `SELECT `+waitlistedUpTo("?", "?"), activityID, afterID).Scan(&before); err != nil {
			return nil, translate(err, "")
		}
		for i := range out {
			if out[i].WaitlistPosition > 0 {
				out[i].WaitlistPosition += before
			}
		}
	}
	return out, nil
}

// ListVolunteerClaims returns a volunteer's claims (cancelled ones too) with
// their activities and waitlist positions, newest first, before beforeID (0:
// from the newest), at most limit, in one query. Errors: unavailable, internal.
func (s *Store) ListVolunteerClaims(ctx context.Context, volunteerID, beforeID int64, limit int) ([]model.Claim, error) {
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	rows, err := s.DB.QueryContext(ctx, `
		SELECT `+claimColumns+`, `+prefixColumns("a.", activityColumns)+`,
			CASE WHEN c.status = 'waitlisted' THEN `+waitlistedUpTo("c.activity_id", "c.id")+` ELSE 0 END
		FROM activity_claims c JOIN activities a ON a.id = c.activity_id
		WHERE c.volunteer_id = ? AND c.id < ? ORDER BY c.id DESC LIMIT ?`, volunteerID, beforeID, limit)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	out := []model.Claim{}
	for rows.Next() {
		var a model.Activity
		var position int
		c, err := s.scanClaimWith(rows, append(activityDest(&a), &position)...)
		if err != nil {
			return nil, err
		}
		s.finishActivity(&a)
		c.Activity = &a
		c.WaitlistPosition = position
		out = append(out, c)
	}
	return out, translate(rows.Err(), "")
}

func (s *Store) scanClaim(row scanner) (model.Claim, error) {
	return s.scanClaimWith(row)
}

// scanClaimWith scans claimColumns followed by extra destinations.
func (s *Store) scanClaimWith(row scanner, extra ...any) (model.Claim, error) {
	var c model.Claim
	var in, out, checkedAt sql.NullTime
	var checkedBy sql.NullInt64
	dest := append([]any{&c.ID, &c.ActivityID, &c.VolunteerID, &c.Status, &in, &c.CheckinMethod, &out,
		&c.CreditedMinutes, &checkedBy, &checkedAt, &c.CreatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return model.Claim{}, translate(err, "认领记录")
	}
	c.CheckedInAt = s.claimTime(in)
	c.CheckedOutAt = s.claimTime(out)
	c.MinutesCheckedAt = s.claimTime(checkedAt)
	c.MinutesCheckedBy = checkedBy.Int64
	c.CreatedAt = c.CreatedAt.In(s.Loc)
	return c, nil
}

func (s *Store) claimTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.In(s.Loc)
	return &v
}
