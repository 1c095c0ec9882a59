package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/model"
)

// CheckinCode is the current check-in code of an activity, stored as
// "<code>:<expires, unix ms>" and kept for the rotation period plus the grace.
// The hash tag keeps it in one Cluster slot with CheckinCodePrev.
func (k Keys) CheckinCode(activityID int64) string {
	return k.prefix + "checkin:{act:" + strconv.FormatInt(activityID, 10) + "}:cur"
}

// CheckinCodePrev is the code the current one replaced, kept until its grace ends.
func (k Keys) CheckinCodePrev(activityID int64) string {
	return k.prefix + "checkin:{act:" + strconv.FormatInt(activityID, 10) + "}:prev"
}

// rotateCheckinCode returns the current check-in code, replacing it when it
// has expired.
//
// KEYS[1]: the current code (CheckinCode), "<code>:<expires unix ms>"
// KEYS[2]: the previous code (CheckinCodePrev), same format
// ARGV[1]: a fresh random code, used when the current one has expired or is missing
// ARGV[2]: now, unix ms (the caller's clock, so tests can move it)
// ARGV[3]: the rotation period, ms
// ARGV[4]: the grace during which a replaced code is still accepted, ms
// Returns {code, expires unix ms}. An expired code still within its grace
// moves to KEYS[2] for the rest of the grace.
var rotateCheckinCode = redis.NewScript(`
local now = tonumber(ARGV[2])
local rotation = tonumber(ARGV[3])
local grace = tonumber(ARGV[4])
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, ':', 1, true)
  local exp = tonumber(string.sub(cur, sep + 1))
  if now < exp then
    return {string.sub(cur, 1, sep - 1), exp}
  end
  if now < exp + grace then
    redis.call('SET', KEYS[2], cur, 'PX', exp + grace - now)
  end
end
local exp = now + rotation
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. exp, 'PX', rotation + grace)
return {ARGV[1], exp}
`)

// CurrentCheckinCode returns the activity's current check-in code, making
// candidate the new code when the current one expired at now. Concurrent
// calls agree on one code. Errors: unavailable, internal.
func (s *Store) CurrentCheckinCode(ctx context.Context, activityID int64, candidate string, now time.Time, rotation, grace time.Duration) (model.CheckinCode, error) {
	keys := []string{s.Keys.CheckinCode(activityID), s.Keys.CheckinCodePrev(activityID)}
	res, err := rotateCheckinCode.Run(ctx, s.Redis, keys, candidate, now.UnixMilli(), rotation.Milliseconds(), grace.Milliseconds()).Slice()
	if err != nil {
		return model.CheckinCode{}, translateRedis(err)
	}
	if len(res) != 2 {
		return model.CheckinCode{}, model.Errorf(model.CodeInternal, "check-in code script returned %d values", len(res))
	}
	code, _ := res[0].(string)
	exp, _ := res[1].(int64)
	return model.CheckinCode{Code: code, ExpiresAt: time.UnixMilli(exp).In(s.Loc)}, nil
}

// CheckinCodes returns the activity's current and previous codes that Redis
// still holds (none when no organizer has shown a code lately).
// Errors: unavailable.
func (s *Store) CheckinCodes(ctx context.Context, activityID int64) ([]model.CheckinCode, error) {
	vals, err := s.Redis.MGet(ctx, s.Keys.CheckinCode(activityID), s.Keys.CheckinCodePrev(activityID)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, translateRedis(err)
	}
	var out []model.CheckinCode
	for _, v := range vals {
		raw, ok := v.(string)
		if !ok {
			continue
		}
		code, exp, ok := strings.Cut(raw, ":")
		ms, err := strconv.ParseInt(exp, 10, 64)
		if !ok || err != nil {
			continue
		}
		out = append(out, model.CheckinCode{Code: code, ExpiresAt: time.UnixMilli(ms).In(s.Loc)})
	}
	return out, nil
}
