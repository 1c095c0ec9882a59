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
// many subjects, each under several limits, can be checked in one pipelined
// round trip; its counters are Keys.RateLimit, under the store's prefix like
// every other key.
type RateLimiter struct {
	rdb  *redis.Client
	keys Keys
}

// NewRateLimiter returns a limiter over the store's Redis.
func (s *Store) NewRateLimiter() *RateLimiter {
	return &RateLimiter{rdb: s.Redis, keys: s.Keys}
}

// gcraScript takes one token from each of one subject's GCRA limits, all or
// none.
// KEYS[i]: limit i's counter: the theoretical arrival time (TAT) of the next
// request, in seconds since 2017-01-01 UTC (Redis TIME based).
// ARGV[3i-2], ARGV[3i-1], ARGV[3i]: limit i's burst, requests per period and
// period (seconds).
// When every limit allows, it advances each TAT by its emission interval and
// returns {1, "0"}; otherwise it changes nothing and returns {0, seconds
// until every limit would allow}. A counter expires once it is back in the
// past. The keys of one call share a hash slot (see Keys.RateLimit).
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = (t[1] - 1483228800) + (t[2] / 1000000)
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[3 * i]) / tonumber(ARGV[3 * i - 1])
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then
    tat = now
  end
  tats[i] = tat + interval
  local allow_at = tats[i] - interval * tonumber(ARGV[3 * i - 2])
  if allow_at - now > wait then
    wait = allow_at - now
  end
end
if wait > 0 then
  return {0, tostring(wait)}
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, tats[i], 'EX', math.ceil(tats[i] - now))
end
return {1, '0'}
`)

// Allow takes one token from the named limit of subject, allowing perMinute
// requests a minute with bursts up to perMinute. It returns whether the call
// is allowed and, if not, when to retry. Errors: unavailable.
func (l *RateLimiter) Allow(ctx context.Context, name, subject string, perMinute int) (bool, time.Duration, error) {
	retry, err := l.AllowMany(ctx, []string{subject}, []model.RateLimit{{Name: name, PerMinute: perMinute}})
	if err != nil {
		return false, 0, err
	}
	return retry[0] == 0, retry[0], nil
}

// AllowMany takes, for each subject (a subject listed twice takes twice), one
// token from every limit or, when one of them is spent, from none, all in
// one pipelined round trip. Each limit allows PerMinute requests a minute
// with bursts up to PerMinute. It returns per subject 0 when allowed, else
// how long until every limit would allow. Errors: unavailable.
func (l *RateLimiter) AllowMany(ctx context.Context, subjects []string, limits []model.RateLimit) ([]time.Duration, error) {
	if len(limits) == 0 {
		return make([]time.Duration, len(subjects)), nil
	}
	args := make([]any, 0, 3*len(limits))
	for _, lim := range limits {
		args = append(args, lim.PerMinute, lim.PerMinute, 60)
	}
	cmds := make([]*redis.Cmd, len(subjects))
	err := pipelineScripts(ctx, l.rdb, func(_ redis.Pipeliner, eval scriptCall) {
		for i, subject := range subjects {
			keys := make([]string, len(limits))
			for k, lim := range limits {
				keys[k] = l.keys.RateLimit(lim.Name, subject)
			}
			cmds[i] = eval(gcraScript, keys, args...)
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
