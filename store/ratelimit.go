package store

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/model"
)

// RateLimiter counts requests per subject in Redis with the generic cell rate
// algorithm (GCRA), so a limit holds across every API replica. It replaces
// github.com/go-redis/redis_rate (same algorithm and stored value) so that
// many subjects can be checked in one pipelined round trip; its counters are
// Keys.RateLimit, under the store's prefix like every other key.
type RateLimiter struct {
	rdb  *redis.Client
	keys Keys
}

// NewRateLimiter returns a limiter over the store's Redis.
func (s *Store) NewRateLimiter() *RateLimiter {
	return &RateLimiter{rdb: s.Redis, keys: s.Keys}
}

// gcraScript takes one token from a GCRA limit.
// KEYS[1]: the limit's counter: the theoretical arrival time (TAT) of the
// next request, in seconds since 2017-01-01 UTC (Redis TIME based).
// ARGV[1]: burst; ARGV[2]: requests per period; ARGV[3]: period (seconds).
// It returns {1, "0"} and advances the TAT by one emission interval when
// allowed; {0, seconds until allowed} and changes nothing when not. The
// counter expires once it is back in the past.
var gcraScript = redis.NewScript(`
local interval = tonumber(ARGV[3]) / tonumber(ARGV[2])
local t = redis.call('TIME')
local now = (t[1] - 1483228800) + (t[2] / 1000000)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local next_tat = tat + interval
local allow_at = next_tat - interval * tonumber(ARGV[1])
if allow_at > now then
  return {0, tostring(allow_at - now)}
end
redis.call('SET', KEYS[1], next_tat, 'EX', math.ceil(next_tat - now))
return {1, '0'}
`)

// Allow takes one token from the named limit of subject, allowing perMinute
// requests a minute with bursts up to perMinute. It returns whether the call
// is allowed and, if not, when to retry. Errors: unavailable.
func (l *RateLimiter) Allow(ctx context.Context, name, subject string, perMinute int) (bool, time.Duration, error) {
	retry, err := l.AllowMany(ctx, name, []string{subject}, perMinute)
	if err != nil {
		return false, 0, err
	}
	return retry[0] == 0, retry[0], nil
}

// AllowMany takes one token from the named limit of each subject (a subject
// listed twice takes two), in one pipelined round trip. It returns per
// subject 0 when allowed, else how long until it would be.
// Errors: unavailable.
func (l *RateLimiter) AllowMany(ctx context.Context, name string, subjects []string, perMinute int) ([]time.Duration, error) {
	cmds := make([]*redis.Cmd, len(subjects))
	err := pipelineScripts(ctx, l.rdb, func(_ redis.Pipeliner, eval scriptCall) {
		for i, subject := range subjects {
			cmds[i] = eval(gcraScript, []string{l.keys.RateLimit(name, subject)}, perMinute, perMinute, 60)
		}
	})
	if err != nil {
		return nil, translateRedis(err)
	}
	out := make([]time.Duration, len(subjects))
	for i, c := range cmds {
		v, err := c.Slice()
		if err != nil {
			return nil, translateRedis(err)
		}
		if len(v) != 2 {
			return nil, model.Errorf(model.CodeInternal, "store: rate limit script returned %v", v)
		}
		if allowed, _ := v[0].(int64); allowed == 1 {
			continue
		}
		s, _ := v[1].(string)
		secs, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, translateRedis(err)
		}
		out[i] = max(time.Duration(secs*float64(time.Second)), time.Millisecond)
	}
	return out, nil
}

// scriptCall adds a call of a script to a pipeline.
type scriptCall func(script *redis.Script, keys []string, args ...any) *redis.Cmd

// pipelineScripts runs the commands fill adds in one pipelined round trip,
// the scripts among them by EVALSHA; when Redis lost its script cache (a
// restart: NOSCRIPT), it runs fill's commands again, sending the scripts
// themselves, so fill's commands must bear being sent twice. Errors: the
// pipeline's, untranslated.
func pipelineScripts(ctx context.Context, rdb *redis.Client, fill func(pipe redis.Pipeliner, eval scriptCall)) error {
	run := func(byHash bool) error {
		_, err := rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			fill(pipe, func(script *redis.Script, keys []string, args ...any) *redis.Cmd {
				if byHash {
					return script.EvalSha(ctx, pipe, keys, args...)
				}
				return script.Eval(ctx, pipe, keys, args...)
			})
			return nil
		})
		return err
	}
	err := run(true)
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		err = run(false)
	}
	return err
}
