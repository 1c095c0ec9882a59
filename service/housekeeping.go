package service

import (
	"context"
	"log/slog"
	"time"
)

// IdempotencyPurger deletes stored idempotency replies older than a time, at
// most purgeBatch rows a call.
type IdempotencyPurger interface {
	PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int64, error)
}

// purgeBatch is the most rows one PurgeIdempotencyKeys call deletes.
const purgeBatch = 1000

// RunIdempotencyPurge deletes idempotency keys older than ttl every period
// until ctx ends, batch after batch until a batch comes back short. Replicas
// may run it together: each DELETE takes whatever rows are still there.
func RunIdempotencyPurge(ctx context.Context, p IdempotencyPurger, ttl, period time.Duration, log *slog.Logger) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n, err := purgeOnce(ctx, p, time.Now().Add(-ttl)); err != nil && ctx.Err() == nil {
			log.Warn("idempotency purge", "err", err, "deleted", n)
		}
	}
}

// purgeOnce deletes every key older than before and returns how many.
func purgeOnce(ctx context.Context, p IdempotencyPurger, before time.Time) (int64, error) {
	var total int64
	for ctx.Err() == nil {
		n, err := p.PurgeIdempotencyKeys(ctx, before)
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
	return total, ctx.Err()
}
