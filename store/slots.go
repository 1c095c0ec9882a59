package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"jindalai/model"
)

const slotColumns = `id, offering_id, station_id, starts_at, ends_at, capacity, taken, status`

// scanSlot reads slotColumns, then the extra columns into extra.
func (s *Store) scanSlot(row scanner, extra ...any) (model.Slot, error) {
	var sl model.Slot
	var taken int
	dest := []any{&sl.ID, &sl.ServiceID, &sl.StationID, &sl.StartsAt, &sl.EndsAt, &sl.Capacity, &taken, &sl.Status}
	err := row.Scan(append(dest, extra...)...)
	sl.StartsAt, sl.EndsAt = sl.StartsAt.In(s.Loc), sl.EndsAt.In(s.Loc)
	if sl.Status == model.SlotOpen {
		sl.Remaining = max(sl.Capacity-taken, 0)
	}
	return sl, err
}

// CreateSlots adds slots to an offering in one transaction (all or none),
// idempotently when idem is set; skipped is passed through to the reply. The
// offering must be active. Errors: not_found (offering), failed_precondition
// (offering inactive), conflict (an open slot of the offering already starts
// at one of the times; Idempotency-Key reused), unavailable, internal.
func (s *Store) CreateSlots(ctx context.Context, idem *model.Idempotency, offeringID int64, slots []model.NewSlot,
	skipped []model.SkippedSlot, createdBy int64, at time.Time) (model.SlotBatch, error) {
	out, _, err := InIdempotentTx(ctx, s, idem, func(tx *sql.Tx) (model.SlotBatch, error) {
		batch := model.SlotBatch{Items: make([]model.Slot, 0, len(slots)), Skipped: skipped}
		if batch.Skipped == nil {
			batch.Skipped = []model.SkippedSlot{}
		}
		var stationID int64
		var active bool
		err := tx.QueryRowContext(ctx, `SELECT station_id, active FROM offerings WHERE id = ? FOR UPDATE`, offeringID).
			Scan(&stationID, &active)
		if err != nil {
			return batch, translate(err, "服务")
		}
		if !active {
			return batch, model.Errorf(model.CodeFailedPrecondition, "该服务已停用")
		}
		at := at.UTC().Truncate(time.Millisecond)
		for start := 0; start < len(slots); start += 200 {
			chunk := slots[start:min(start+200, len(slots))]
			var sb strings.Builder
			sb.WriteString(`INSERT INTO slots (offering_id, station_id, starts_at, ends_at, capacity, taken, status, live_key, created_by, created_at) VALUES `)
			args := make([]any, 0, len(chunk)*7)
			for i, n := range chunk {
				if i > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(?, ?, ?, ?, ?, 0, 'open', 1, ?, ?)")
				args = append(args, offeringID, stationID, n.StartsAt.UTC(), n.EndsAt.UTC(), n.Capacity, createdBy, at)
			}
			res, err := tx.ExecContext(ctx, sb.String(), args...)
			if isDuplicate(err) {
				return batch, &model.Error{Code: model.CodeConflict, Message: "该服务在此时间已有时段", Err: err}
			}
			if err != nil {
				return batch, translate(err, "")
			}
			// A multi-row INSERT reports the id of its first row; the ids are
			// read back by start time rather than assumed consecutive
			// (innodb_autoinc_lock_mode 2 may interleave them).
			first, err := res.LastInsertId()
			if err != nil {
				return batch, translate(err, "")
			}
			ids, err := insertedSlotIDs(ctx, tx, offeringID, first, chunk)
			if err != nil {
				return batch, err
			}
			for i, n := range chunk {
				batch.Items = append(batch.Items, model.Slot{ID: ids[i], ServiceID: offeringID, StationID: stationID,
					StartsAt: n.StartsAt.In(s.Loc), EndsAt: n.EndsAt.In(s.Loc), Capacity: n.Capacity, Remaining: n.Capacity,
					Status: model.SlotOpen})
			}
		}
		return batch, nil
	})
	return out, err
}

// insertedSlotIDs reads back the ids of the open slots just inserted, by
// their start (unique per offering among open slots).
func insertedSlotIDs(ctx context.Context, tx *sql.Tx, offeringID, first int64, chunk []model.NewSlot) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, starts_at FROM slots WHERE offering_id = ? AND id >= ? AND live_key = 1`, offeringID, first)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	byStart := map[int64]int64{}
	for rows.Next() {
		var id int64
		var start time.Time
		if err := rows.Scan(&id, &start); err != nil {
			return nil, translate(err, "")
		}
		byStart[start.UnixMilli()] = id
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err, "")
	}
	ids := make([]int64, len(chunk))
	for i, n := range chunk {
		ids[i] = byStart[n.StartsAt.UTC().Truncate(time.Millisecond).UnixMilli()]
	}
	return ids, nil
}

// OpenSlotStarts returns the start times of an offering's open slots in [from, to).
// Errors: unavailable, internal.
func (s *Store) OpenSlotStarts(ctx context.Context, offeringID int64, from, to time.Time) ([]time.Time, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT starts_at FROM slots WHERE offering_id = ? AND status = 'open' AND starts_at >= ? AND starts_at < ?`,
		offeringID, from.UTC(), to.UTC())
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var t time.Time
		if err := rows.Scan(&t); err != nil {
			return nil, translate(err, "")
		}
		out = append(out, t.In(s.Loc))
	}
	return out, translate(rows.Err(), "")
}

// GetSlot returns a slot. Errors: not_found, unavailable, internal.
func (s *Store) GetSlot(ctx context.Context, id int64) (model.Slot, error) {
	sl, err := s.scanSlot(s.DB.QueryRowContext(ctx, `SELECT `+slotColumns+` FROM slots WHERE id = ?`, id))
	if err != nil {
		return sl, translate(err, "时段")
	}
	return sl, nil
}

// ListSlots returns an offering's open slots starting in [from, to), by start
// time. Errors: invalid_argument (cursor), unavailable, internal.
func (s *Store) ListSlots(ctx context.Context, offeringID int64, from, to time.Time, page model.Page) (model.List[model.Slot], error) {
	out := model.List[model.Slot]{Items: []model.Slot{}}
	after, err := model.DecodeCursor(page.Cursor)
	if err != nil {
		return out, err
	}
	q := `SELECT ` + slotColumns + ` FROM slots WHERE offering_id = ? AND status = 'open' AND starts_at >= ? AND starts_at < ?`
	args := []any{offeringID, from.UTC(), to.UTC()}
	if after > 0 {
		at, err := s.cursorStart(ctx, `SELECT starts_at FROM slots WHERE id = ? AND offering_id = ?`, after, offeringID)
		if err != nil {
			return out, err
		}
		q += ` AND (starts_at > ? OR (starts_at = ? AND id > ?))`
		args = append(args, at, at, after)
	}
	q += ` ORDER BY starts_at, id LIMIT ?`
	args = append(args, page.Limit+1)
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return out, translate(err, "")
	}
	defer rows.Close()
	for rows.Next() {
		sl, err := s.scanSlot(rows)
		if err != nil {
			return out, translate(err, "")
		}
		out.Items = append(out.Items, sl)
	}
	if err := rows.Err(); err != nil {
		return out, translate(err, "")
	}
	return model.CutPage(out.Items, page.Limit, func(x model.Slot) int64 { return x.ID }), nil
}

// DeleteSlot removes a slot that has never been booked (cancelled bookings
// count: their rows keep the slot). The slot row is locked first, so a
// concurrent booking either lands before (and the delete is refused) or finds
// the slot gone. Errors: not_found, failed_precondition (it has bookings:
// cancel it instead), unavailable, internal.
func (s *Store) DeleteSlot(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT taken FROM slots WHERE id = ? FOR UPDATE`, id).Scan(&taken); err != nil {
			return translate(err, "时段")
		}
		var booked bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM bookings WHERE slot_id = ?)`, id).Scan(&booked); err != nil {
			return translate(err, "")
		}
		if taken > 0 || booked {
			return model.Errorf(model.CodeFailedPrecondition, "该时段已有预约记录，不能删除，只能取消")
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM slots WHERE id = ?`, id)
		return translate(err, "")
	})
}

// CancelSlot cancels an open slot that has not started by at, and every live
// booking of it; notify builds the slot_cancelled notification of each
// cancelled booking, inserted in the same transaction.
// Errors: not_found, failed_precondition (already cancelled or started),
// unavailable, internal.
func (s *Store) CancelSlot(ctx context.Context, id int64, note string, at time.Time, notify func(model.Booking) model.Notification) (model.Slot, error) {
	var out model.Slot
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		at := at.UTC().Truncate(time.Millisecond)
		sl, err := s.scanSlot(tx.QueryRowContext(ctx, `SELECT `+slotColumns+` FROM slots WHERE id = ? FOR UPDATE`, id))
		if err != nil {
			return translate(err, "时段")
		}
		if sl.Status != model.SlotOpen {
			return model.Errorf(model.CodeFailedPrecondition, "该时段已取消")
		}
		if !sl.StartsAt.After(at) {
			return model.Errorf(model.CodeFailedPrecondition, "该时段已开始，不能取消")
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE slots SET status = 'cancelled', live_key = NULL, taken = 0, cancel_note = ?, cancelled_at = ?
			WHERE id = ? AND status = 'open'`, note, at, id)
		if err != nil {
			return translate(err, "")
		}
		if err := mustAffect(res, "时段"); err != nil {
			return err
		}
		// Every live booking is cancelled by this transaction: with the slot
		// row locked no booking can start or end meanwhile. The first plain
		// read comes after the writes, so it sees them.
		if _, err := tx.ExecContext(ctx, `
			UPDATE bookings SET status = 'cancelled', active_key = NULL, remind_at = NULL, cancelled_by = 'station',
				cancel_note = ?, cancelled_at = ?, updated_at = ?
			WHERE slot_id = ? AND status = 'booked'`, note, at, at, id); err != nil {
			return translate(err, "")
		}
		gone, err := s.queryBookings(ctx, tx, `b.slot_id = ? AND b.status = 'cancelled' AND b.cancelled_by = 'station' AND b.cancelled_at = ?
			ORDER BY b.id`, id, at)
		if err != nil {
			return err
		}
		ns := make([]model.Notification, 0, len(gone))
		for _, b := range gone {
			ns = append(ns, notify(b))
		}
		if err := s.insertNotifications(ctx, tx, ns...); err != nil {
			return err
		}
		sl.Status, sl.Remaining = model.SlotCancelled, 0
		out = sl
		return nil
	})
	return out, err
}

// cursorStart reads the start time of a list's cursor row with q and args:
// a row that is not there (or not in this list) makes the cursor invalid.
// Errors: invalid_argument (cursor), unavailable, internal.
func (s *Store) cursorStart(ctx context.Context, q string, args ...any) (time.Time, error) {
	var at time.Time
	err := s.DB.QueryRowContext(ctx, q, args...).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return at, model.InvalidField("cursor", "无效的游标")
	}
	return at, translate(err, "")
}
