package store

import (
	"context"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Keys builds every Redis key the application uses, all under one prefix.
// Keys that a multi-key script touches together share a hash tag ({...}) so
// they live in one Redis Cluster slot.
type Keys struct{ prefix string }

// NewKeys returns a key builder with the given prefix (e.g. "jdl:").
func NewKeys(prefix string) Keys { return Keys{prefix: prefix} }

// Prefix returns the prefix of every key.
func (k Keys) Prefix() string { return k.prefix }

// match is the SCAN pattern of every key under the prefix: the prefix's
// glob characters are escaped, so it matches only itself.
func (k Keys) match() string { return globQuote.Replace(k.prefix) + "*" }

// DeleteAll deletes every key under the prefix (every key a store with it
// writes), leaving everyone else's alone: a FLUSHALL for one deployment's,
// test's or benchmark run's keys. Errors: the Redis client's, untranslated.
func (k Keys) DeleteAll(ctx context.Context, rdb *redis.Client) error {
	iter := rdb.Scan(ctx, 0, k.match(), 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return rdb.Unlink(ctx, batch...).Err()
	}
	return nil
}

// globQuote escapes the characters special in a Redis SCAN/KEYS pattern.
var globQuote = strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`, "]", `\]`)

// Session is the session record of a token, by the token's SHA-256 (hex).
// The hash tag keeps it in one Cluster slot with its SessionProfile.
func (k Keys) Session(tokenHash string) string { return k.prefix + "sess:{" + tokenHash + "}" }

// UserSessions is the set of a user's session token hashes (for revocation).
func (k Keys) UserSessions(userID int64) string {
	return k.prefix + "usess:" + strconv.FormatInt(userID, 10)
}

// RateLimit is the counter of a named limit for one subject (an IP or a
// user). The hash tag keeps a subject's limits in one Cluster slot, so one
// script checks several of them.
func (k Keys) RateLimit(name, subject string) string {
	return k.prefix + "rl:{" + subject + "}:" + name
}

// WeChat is a key of the WeChat SDK's cache (access tokens).
func (k Keys) WeChat(key string) string { return k.prefix + "wx:" + key }

// StationQueue is a station's dispatch queue: a sorted set of the request ids
// dispatched to it and not yet accepted (urgent first, then by accept-by
// time). Written by dispatch, read by the matcher's load penalty. The hash tag
// keeps every key of one station in one Cluster slot.
func (k Keys) StationQueue(stationID int64) string {
	return k.prefix + "queue:{st:" + strconv.FormatInt(stationID, 10) + "}"
}

// DispatchDeadlines is the sorted set of dispatched request ids scored by
// their accept-by time (Unix milliseconds), read by the escalation loop.
func (k Keys) DispatchDeadlines() string { return k.prefix + "deadlines:{dispatch}" }

// StationGeo is the GEO set of active stations (member: station id).
func (k Keys) StationGeo() string { return k.prefix + "geo:stations" }

// OrgGeo is the GEO set of active organizations (member: organization id).
func (k Keys) OrgGeo() string { return k.prefix + "geo:orgs" }
