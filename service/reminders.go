package service

import (
	"context"
	"time"
)

// reminderBatch is how many due reminders one pass claims at most.
const reminderBatch = 100

// SendDueReminders queues the booking_reminder notification of every booking
// whose reminder is due, and returns how many it queued. Each booking is
// claimed with a conditional UPDATE in the transaction that inserts its
// notification, so replicas running this concurrently never remind twice.
// Errors: unavailable, internal.
func (s *Bookings) SendDueReminders(ctx context.Context) (int, error) {
	sent := 0
	names := map[int64]string{}
	for {
		now := s.clock()
		due, err := s.store.DueReminders(ctx, now, reminderBatch)
		if err != nil {
			return sent, err
		}
		for _, d := range due {
			name, ok := names[d.StationID]
			if !ok {
				name = s.stationName(ctx, d.StationID)
				names[d.StationID] = name
			}
			queued, err := s.store.ClaimReminder(ctx, d.BookingID, now, s.reminder(name))
			if err != nil {
				return sent, err
			}
			if queued {
				sent++
			}
		}
		if len(due) < reminderBatch {
			return sent, nil
		}
	}
}

// RunReminders is the reminder loop: every ReminderEvery it sends the due
// reminders, until ctx ends. It runs in every replica (claims are atomic).
func (s *Bookings) RunReminders(ctx context.Context) {
	t := time.NewTicker(s.cfg.ReminderEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.SendDueReminders(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("booking reminders", "err", err, "sent", n)
		} else if n > 0 {
			s.log.Info("booking reminders sent", "count", n)
		}
	}
}
