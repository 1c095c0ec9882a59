package store

import (
	"context"
	"time"

	"github.com/go-redis/redis_rate/v10"
)

// RateLimiter counts requests per subject in Redis (GCRA, redis_rate), so a
// limit holds across every API replica.
type RateLimiter struct {
	limiter *redis_rate.Limiter
	keys    Keys
}

// NewRateLimiter returns a limiter over the store's Redis.
func (s *Store) NewRateLimiter() *RateLimiter {
	return &RateLimiter{limiter: redis_rate.NewLimiter(s.Redis), keys: s.Keys}
}

// Allow takes one token from the named limit of subject, allowing perMinute
// requests a minute with bursts up to perMinute. It returns whether the call
// is allowed and, if not, when to retry. Errors: unavailable.
func (l *RateLimiter) Allow(ctx context.Context, name, subject string, perMinute int) (bool, time.Duration, error) {
	res, err := l.limiter.Allow(ctx, l.keys.RateLimit(name, subject), redis_rate.PerMinute(perMinute))
	if err != nil {
		return false, 0, translateRedis(err)
	}
	return res.Allowed > 0, res.RetryAfter, nil
}
