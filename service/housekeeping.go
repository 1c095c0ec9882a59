package service

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// IdempotencyPurger deletes stored idempotency replies older than a time, at
// most purgeBatch rows a call.
type IdempotencyPurger interface {
	PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int64, error)
}

// NotificationPurger deletes at most limit notifications created before a
// time whose delivery is finished (sent, skipped or dead), oldest first.
type NotificationPurger interface {
	PurgeNotifications(ctx context.Context, before time.Time, limit int) (int64, error)
}

// purgeBatch is the most rows one purge call deletes.
const purgeBatch = 1000

// RunIdempotencyPurge deletes idempotency keys older than ttl every period
// (the first time after a random part of it) until ctx ends, batch after
// batch until a batch comes back short. Replicas may run it together: each
// DELETE takes whatever rows are still there.
func RunIdempotencyPurge(ctx context.Context, p IdempotencyPurger, ttl, period time.Duration, log *slog.Logger) {
	for runs := (schedule{period: period}); runs.wait(ctx); {
		if n, err := purgeOnce(ctx, p, time.Now().Add(-ttl)); err != nil && ctx.Err() == nil {
			log.Warn("idempotency purge", "err", err, "deleted", n)
		}
	}
}

// RunNotificationRetention deletes the notifications whose delivery finished
// and that are older than retention every period (the first time after a
// random part of it) until ctx ends, purgeBatch rows a DELETE until a batch
// comes back short, so no statement holds its locks for long; it logs how
// many it deleted. Rows still pending or being
// sent stay whatever their age. Every replica runs it: concurrent DELETEs
// wait for each other's rows and skip the ones already gone.
func RunNotificationRetention(ctx context.Context, p NotificationPurger, retention, period time.Duration, log *slog.Logger) {
	for runs := (schedule{period: period}); runs.wait(ctx); {
		before := time.Now().Add(-retention)
		n, err := purgeBatches(ctx, func(ctx context.Context) (int64, error) {
			return p.PurgeNotifications(ctx, before, purgeBatch)
		})
		if n > 0 {
			log.Info("notification retention purge", "deleted", n, "created_before", before)
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("notification retention purge", "err", err, "deleted", n)
		}
	}
}

// schedule gives a housekeeping loop its runs: the first after a random
// part of period, so a replica restarted more often than period still runs
// and replicas started together do not run together, then every period.
type schedule struct {
	period  time.Duration
	started bool
}

// wait waits for the next run and reports false once ctx ended.
func (s *schedule) wait(ctx context.Context) bool {
	d := s.period
	if !s.started {
		s.started = true
		d = rand.N(max(s.period, 1))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// purgeOnce deletes every key older than before and returns how many.
func purgeOnce(ctx context.Context, p IdempotencyPurger, before time.Time) (int64, error) {
	return purgeBatches(ctx, func(ctx context.Context) (int64, error) { return p.PurgeIdempotencyKeys(ctx, before) })
}

// purgeBatches calls purge until a batch deletes fewer than purgeBatch rows,
// fails or ctx ends, and returns how many rows it deleted in all.
func purgeBatches(ctx context.Context, purge func(context.Context) (int64, error)) (int64, error) {
	var total int64
	for ctx.Err() == nil {
		n, err := purge(ctx)
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
	return total, ctx.Err()
}
