package store

import (
	"context"
	"database/sql"
	"time"

	"jindalai/model"
)

// DueReminders returns up to limit bookings whose reminder is due by at and
// not yet claimed, oldest due first. Errors: unavailable, internal.
func (s *Store) DueReminders(ctx context.Context, at time.Time, limit int) ([]model.DueReminder, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT id, station_id FROM bookings WHERE reminded_at IS NULL AND remind_at <= ? ORDER BY remind_at LIMIT ?`,
		at.UTC(), limit)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var due []model.DueReminder
	for rows.Next() {
		var d model.DueReminder
		if err := rows.Scan(&d.BookingID, &d.StationID); err != nil {
			return nil, translate(err, "")
		}
		due = append(due, d)
	}
	return due, translate(rows.Err(), "")
}

// ClaimReminder claims the due reminder of a booking with a conditional
// UPDATE (reminded_at IS NULL), so of several replicas exactly one wins, and
// in the same transaction queues notify's booking_reminder — only while the
// booking is still live and its slot has not started by at (a reminder made
// stale by downtime is claimed and dropped). It reports whether a
// notification was queued. Errors: unavailable, internal.
func (s *Store) ClaimReminder(ctx context.Context, id int64, at time.Time, notify func(model.Booking) model.Notification) (bool, error) {
	sent := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		at := at.UTC().Truncate(time.Millisecond)
		res, err := tx.ExecContext(ctx, `
			UPDATE bookings SET reminded_at = ? WHERE id = ? AND reminded_at IS NULL AND remind_at IS NOT NULL`, at, id)
		if err != nil {
			return translate(err, "")
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return translate(err, "")
		}
		b, err := s.oneBooking(ctx, tx, `b.id = ?`, id)
		if err != nil {
			return err
		}
		if b.Status != model.BookingBooked || !b.StartsAt.After(at) {
			return nil
		}
		sent = true
		return s.insertNotifications(ctx, tx, notify(b))
	})
	return sent && err == nil, err
}
