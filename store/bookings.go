package store

import (
	"context"
	"database/sql"
	"time"

	"jindalai/model"
)

const bookingColumns = `b.id, b.slot_id, b.offering_id, o.name, b.station_id, b.user_id, b.status, b.note,
	b.starts_at, b.ends_at, b.cancelled_by, b.cancel_note, b.cancelled_at, b.marked_at, b.created_at`

const bookingSelect = `SELECT ` + bookingColumns + ` FROM bookings b JOIN offerings o ON o.id = b.offering_id`

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scanBooking reads bookingColumns, then the extra columns into extra.
func (s *Store) scanBooking(row scanner, extra ...any) (model.Booking, error) {
	var b model.Booking
	var cancelledAt, markedAt sql.NullTime
	dest := []any{&b.ID, &b.SlotID, &b.ServiceID, &b.ServiceName, &b.StationID, &b.UserID, &b.Status, &b.Note,
		&b.StartsAt, &b.EndsAt, &b.CancelledBy, &b.CancelNote, &cancelledAt, &markedAt, &b.CreatedAt}
	err := row.Scan(append(dest, extra...)...)
	b.StartsAt, b.EndsAt, b.CreatedAt = b.StartsAt.In(s.Loc), b.EndsAt.In(s.Loc), b.CreatedAt.In(s.Loc)
	if cancelledAt.Valid {
		t := cancelledAt.Time.In(s.Loc)
		b.CancelledAt = &t
	}
	if markedAt.Valid {
		t := markedAt.Time.In(s.Loc)
		b.MarkedAt = &t
	}
	return b, err
}

// queryBookings runs bookingSelect with a WHERE clause (which may end with
// ORDER BY, LIMIT or FOR UPDATE).
func (s *Store) queryBookings(ctx context.Context, q queryer, where string, args ...any) ([]model.Booking, error) {
	rows, err := q.QueryContext(ctx, bookingSelect+` WHERE `+where, args...)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	out := []model.Booking{}
	for rows.Next() {
		b, err := s.scanBooking(rows)
		if err != nil {
			return nil, translate(err, "")
		}
		out = append(out, b)
	}
	return out, translate(rows.Err(), "")
}

func (s *Store) oneBooking(ctx context.Context, q queryer, where string, args ...any) (model.Booking, error) {
	bs, err := s.queryBookings(ctx, q, where, args...)
	if err != nil {
		return model.Booking{}, err
	}
	if len(bs) == 0 {
		return model.Booking{}, model.NotFound("预约")
	}
	return bs[0], nil
}

// Book takes a place in a slot for a resident, idempotently when idem is
// set. prepare sees the slot and the resident's no-shows at slots started
// since a.NoShowSince inside the transaction (after the idempotency key is
// claimed, so a replay never re-checks; and on the transaction's connection,
// so a burst cannot exhaust the pool) and returns its refusal or the
// reminder time (nil: none). One conditional UPDATE (taken < capacity, open,
// starting after a.Cutoff) settles every race for the last place; the unique
// live-booking index refuses a second live booking of the same resident.
// notify builds the booking_confirmed notification, inserted in the same
// transaction. Errors: prepare's; not_found (slot), conflict (full; already
// booked by this resident; Idempotency-Key reused), failed_precondition (slot
// cancelled, offering inactive, booking closed), unavailable, internal.
func (s *Store) Book(ctx context.Context, idem *model.Idempotency, a model.BookingAttempt,
	prepare func(sl model.Slot, noShows int) (*time.Time, error), notify func(model.Booking) model.Notification) (model.Booking, error) {
	out, _, err := InIdempotentTx(ctx, s, idem, func(tx *sql.Tx) (model.Booking, error) {
		at := a.At.UTC().Truncate(time.Millisecond)
		var b model.Booking
		var active bool
		sl, err := s.scanSlot(tx.QueryRowContext(ctx, `
			SELECT sl.id, sl.offering_id, sl.station_id, sl.starts_at, sl.ends_at, sl.capacity, sl.taken, sl.status, o.name, o.active
			FROM slots sl JOIN offerings o ON o.id = sl.offering_id WHERE sl.id = ?`, a.SlotID), &b.ServiceName, &active)
		if err != nil {
			return b, translate(err, "时段")
		}
		if !active {
			return b, model.Errorf(model.CodeFailedPrecondition, "该服务已停用，暂不接受预约")
		}
		noShows := 0
		if !a.NoShowSince.IsZero() {
			if err := tx.QueryRowContext(ctx, `
				SELECT COUNT(*) FROM bookings WHERE user_id = ? AND status = 'no_show' AND starts_at >= ?`,
				a.UserID, a.NoShowSince.UTC()).Scan(&noShows); err != nil {
				return b, translate(err, "")
			}
		}
		remindAt, err := prepare(sl, noShows)
		if err != nil {
			return b, err
		}
		b.ServiceID, b.StationID, b.StartsAt, b.EndsAt = sl.ServiceID, sl.StationID, sl.StartsAt, sl.EndsAt
		var dup bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM bookings WHERE slot_id = ? AND user_id = ? AND active_key = 1)`,
			a.SlotID, a.UserID).Scan(&dup); err != nil {
			return b, translate(err, "")
		}
		if dup {
			return b, alreadyBooked(nil)
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE slots SET taken = taken + 1
			WHERE id = ? AND status = 'open' AND taken < capacity AND starts_at > ?`, a.SlotID, a.Cutoff.UTC())
		if err != nil {
			return b, translate(err, "")
		}
		if n, err := res.RowsAffected(); err != nil {
			return b, translate(err, "")
		} else if n == 0 {
			return b, explainNoPlace(ctx, tx, a.SlotID, a.Cutoff)
		}
		var remind any
		if remindAt != nil {
			remind = remindAt.UTC()
		}
		ins, err := tx.ExecContext(ctx, `
			INSERT INTO bookings (slot_id, offering_id, station_id, user_id, status, active_key, note, starts_at, ends_at,
				remind_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'booked', 1, ?, ?, ?, ?, ?, ?)`,
			a.SlotID, b.ServiceID, b.StationID, a.UserID, a.Note, b.StartsAt.UTC(), b.EndsAt.UTC(), remind, at, at)
		if isDuplicate(err) {
			return b, alreadyBooked(err)
		}
		if err != nil {
			return b, translate(err, "")
		}
		if b.ID, err = ins.LastInsertId(); err != nil {
			return b, translate(err, "")
		}
		b.SlotID, b.UserID, b.Status, b.Note = a.SlotID, a.UserID, model.BookingBooked, a.Note
		b.CreatedAt = at.In(s.Loc)
		if err := s.insertNotifications(ctx, tx, notify(b)); err != nil {
			return b, err
		}
		return b, nil
	})
	return out, err
}

func alreadyBooked(cause error) error {
	return &model.Error{Code: model.CodeConflict, Message: "您已预约该时段", Err: cause}
}

// explainNoPlace says why the conditional UPDATE of a booking matched
// nothing. It reads with a lock: a plain read would see the transaction's
// snapshot, older than what the UPDATE saw.
func explainNoPlace(ctx context.Context, tx *sql.Tx, slotID int64, cutoff time.Time) error {
	var status string
	var starts time.Time
	var taken, capacity int
	err := tx.QueryRowContext(ctx, `SELECT status, starts_at, taken, capacity FROM slots WHERE id = ? FOR UPDATE`, slotID).
		Scan(&status, &starts, &taken, &capacity)
	switch {
	case err != nil:
		return translate(err, "时段")
	case status != model.SlotOpen:
		return model.Errorf(model.CodeFailedPrecondition, "该时段已取消")
	case !starts.After(cutoff):
		return model.Errorf(model.CodeFailedPrecondition, "该时段已截止预约")
	default:
		return model.Errorf(model.CodeConflict, "该时段已约满")
	}
}

// GetBooking returns a booking. Errors: not_found, unavailable, internal.
func (s *Store) GetBooking(ctx context.Context, id int64) (model.Booking, error) {
	return s.oneBooking(ctx, s.DB, `b.id = ?`, id)
}

// CancelBooking cancels a live booking of a slot starting after cutoff and
// frees its place. The slot row is locked first (the order every booking
// transaction uses). by is model.CancelledByResident or CancelledByStation;
// notify (may be nil) builds a notification inserted in the same transaction.
// Errors: not_found, failed_precondition (not booked; too late), unavailable, internal.
func (s *Store) CancelBooking(ctx context.Context, id int64, by, note string, cutoff, at time.Time,
	notify func(model.Booking) model.Notification) (model.Booking, error) {
	var slotID int64
	if err := s.DB.QueryRowContext(ctx, `SELECT slot_id FROM bookings WHERE id = ?`, id).Scan(&slotID); err != nil {
		return model.Booking{}, translate(err, "预约")
	}
	var out model.Booking
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		at := at.UTC().Truncate(time.Millisecond)
		// Locking reads only until the writes: they see the rows as they
		// are now, where a plain read would see the transaction's snapshot.
		if err := tx.QueryRowContext(ctx, `SELECT id FROM slots WHERE id = ? FOR UPDATE`, slotID).Scan(&slotID); err != nil {
			return translate(err, "时段")
		}
		var status model.BookingStatus
		var starts time.Time
		if err := tx.QueryRowContext(ctx, `SELECT status, starts_at FROM bookings WHERE id = ? FOR UPDATE`, id).Scan(&status, &starts); err != nil {
			return translate(err, "预约")
		}
		if status != model.BookingBooked {
			return model.Errorf(model.CodeFailedPrecondition, "该预约已%s，不能取消", statusWord(status))
		}
		if !starts.After(cutoff) {
			return model.Errorf(model.CodeFailedPrecondition, "已过取消截止时间，不能取消")
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE bookings SET status = 'cancelled', active_key = NULL, remind_at = NULL, cancelled_by = ?,
				cancel_note = ?, cancelled_at = ?, updated_at = ?
			WHERE id = ? AND status = 'booked' AND starts_at > ?`, by, note, at, at, id, cutoff.UTC())
		if err != nil {
			return translate(err, "")
		}
		if err := mustAffect(res, "预约"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE slots SET taken = taken - 1 WHERE id = ? AND taken > 0`, slotID); err != nil {
			return translate(err, "")
		}
		b, err := s.oneBooking(ctx, tx, `b.id = ?`, id)
		if err != nil {
			return err
		}
		if notify != nil {
			if err := s.insertNotifications(ctx, tx, notify(b)); err != nil {
				return err
			}
		}
		out = b
		return nil
	})
	return out, err
}

func statusWord(st model.BookingStatus) string {
	switch st {
	case model.BookingCancelled:
		return "取消"
	case model.BookingAttended:
		return "签到"
	case model.BookingNoShow:
		return "记为未到"
	}
	return "预约"
}

// MarkBooking records attendance (attended or no_show) of a booking whose
// slot started by at; a mark can be corrected, a cancelled booking cannot be
// marked. Errors: not_found, failed_precondition (cancelled; not started yet),
// unavailable, internal.
func (s *Store) MarkBooking(ctx context.Context, id int64, status model.BookingStatus, by int64, at time.Time) (model.Booking, error) {
	at = at.UTC().Truncate(time.Millisecond)
	res, err := s.DB.ExecContext(ctx, `
		UPDATE bookings SET status = ?, marked_by = ?, marked_at = ?, updated_at = ?
		WHERE id = ? AND status IN ('booked', 'attended', 'no_show') AND starts_at <= ?`, status, by, at, at, id, at)
	if err != nil {
		return model.Booking{}, translate(err, "")
	}
	b, err := s.GetBooking(ctx, id)
	if err != nil {
		return b, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return b, translate(err, "")
	} else if n == 0 {
		if b.Status == model.BookingCancelled {
			return b, model.Errorf(model.CodeFailedPrecondition, "该预约已取消")
		}
		return b, model.Errorf(model.CodeFailedPrecondition, "服务尚未开始，不能登记到场情况")
	}
	return b, nil
}

// ListUserBookings returns a resident's bookings, newest first, optionally
// of one status. Errors: invalid_argument (cursor), unavailable, internal.
func (s *Store) ListUserBookings(ctx context.Context, userID int64, status model.BookingStatus, page model.Page) (model.List[model.Booking], error) {
	out := model.List[model.Booking]{Items: []model.Booking{}}
	before, err := model.DecodeCursor(page.Cursor)
	if err != nil {
		return out, err
	}
	where, args := `b.user_id = ?`, []any{userID}
	if before > 0 {
		where, args = where+` AND b.id < ?`, append(args, before)
	}
	if status != "" {
		where, args = where+` AND b.status = ?`, append(args, status)
	}
	items, err := s.queryBookings(ctx, s.DB, where+` ORDER BY b.id DESC LIMIT ?`, append(args, page.Limit+1)...)
	if err != nil {
		return out, err
	}
	return model.CutPage(items, page.Limit, func(b model.Booking) int64 { return b.ID }), nil
}

// ListStationBookings returns a station's bookings of slots starting in
// [from, to), by start time then id, with who booked (phone still encrypted).
// Errors: invalid_argument (cursor), unavailable, internal.
func (s *Store) ListStationBookings(ctx context.Context, stationID int64, from, to time.Time, page model.Page) (model.List[model.Booking], error) {
	out := model.List[model.Booking]{Items: []model.Booking{}}
	after, err := model.DecodeCursor(page.Cursor)
	if err != nil {
		return out, err
	}
	q := `SELECT ` + bookingColumns + `, u.nickname, u.phone_enc
		FROM bookings b JOIN offerings o ON o.id = b.offering_id JOIN users u ON u.id = b.user_id
		WHERE b.station_id = ? AND b.starts_at >= ? AND b.starts_at < ?`
	args := []any{stationID, from.UTC(), to.UTC()}
	if after > 0 {
		at, err := s.cursorStart(ctx, `SELECT starts_at FROM bookings WHERE id = ? AND station_id = ?`, after, stationID)
		if err != nil {
			return out, err
		}
		q += ` AND (b.starts_at > ? OR (b.starts_at = ? AND b.id > ?))`
		args = append(args, at, at, after)
	}
	rows, err := s.DB.QueryContext(ctx, q+` ORDER BY b.starts_at, b.id LIMIT ?`, append(args, page.Limit+1)...)
	if err != nil {
		return out, translate(err, "")
	}
	defer rows.Close()
	for rows.Next() {
		r := &model.BookingResident{}
		b, err := s.scanBooking(rows, &r.Nickname, &r.PhoneEnc)
		if err != nil {
			return out, translate(err, "")
		}
		r.UserID = b.UserID
		b.Resident = r
		out.Items = append(out.Items, b)
	}
	if err := rows.Err(); err != nil {
		return out, translate(err, "")
	}
	return model.CutPage(out.Items, page.Limit, func(x model.Booking) int64 { return x.ID }), nil
}
