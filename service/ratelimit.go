package service

import (
	"context"
	"time"

	"jindalai/model"
)

// allowLimit takes one token of a named per-subject limit allowing
// perMinute calls a minute; a nil limiter or a perMinute of 0 allows
// everything. Errors: too_many_requests, the limiter's (unavailable).
func allowLimit(ctx context.Context, l RateLimiter, name, subject string, perMinute int) error {
	if l == nil || perMinute <= 0 {
		return nil
	}
	ok, retry, err := l.Allow(ctx, name, subject, perMinute)
	if err != nil {
		return err
	}
	if !ok {
		return tooManyRequests(retry)
	}
	return nil
}

// allowEach takes, for each subject, one token of every limit (or none)
// in one round trip and returns each one's verdict: nil, too_many_requests
// or the limiter's error.
func allowEach(ctx context.Context, bl BatchRateLimiter, subjects []string, limits []model.RateLimit) []error {
	out := make([]error, len(subjects))
	retry, err := bl.AllowMany(ctx, subjects, limits)
	for i := range out {
		switch {
		case err != nil:
			out[i] = err
		case retry[i] > 0:
			out[i] = tooManyRequests(retry[i])
		}
	}
	return out
}

// tooManyRequests is a limit's refusal, saying when to try again (in the
// message and, for the Retry-After header, in RetryAfter).
func tooManyRequests(retry time.Duration) error {
	e := model.Errorf(model.CodeTooManyRequests, "操作过于频繁，请 %d 秒后再试", model.RetryAfterSeconds(retry))
	e.RetryAfter = retry
	return e
}
