package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/model"
)

// sessionRecord is what Redis keeps per session token (under its hash).
type sessionRecord struct {
	UserID    int64        `json:"u"`
	Roles     []model.Role `json:"r,omitempty"`
	CreatedAt int64        `json:"c"`
}

// CreateSession stores a session for the token hash with an idle TTL, and
// indexes it under the user for revocation (the index lives maxAge).
// Errors: unavailable.
func (s *Store) CreateSession(ctx context.Context, tokenHash string, p model.Principal, created time.Time, ttl, maxAge time.Duration) error {
	raw, err := json.Marshal(sessionRecord{UserID: p.UserID, Roles: p.Roles, CreatedAt: created.Unix()})
	if err != nil {
		return model.Wrap(model.CodeInternal, err, "")
	}
	_, err = s.Redis.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, s.Keys.Session(tokenHash), raw, ttl)
		pipe.SAdd(ctx, s.Keys.UserSessions(p.UserID), tokenHash)
		pipe.Expire(ctx, s.Keys.UserSessions(p.UserID), maxAge)
		return nil
	})
	return translateRedis(err)
}

// TouchSession returns the session of a token hash and slides its TTL.
// Errors: unauthenticated (no such session), unavailable.
func (s *Store) TouchSession(ctx context.Context, tokenHash string, ttl time.Duration) (model.Principal, time.Time, error) {
	if e, ok := s.sessions.get(tokenHash, false); ok {
		return e.p, e.created, nil
	}
	gen := s.sessions.generation()
	raw, err := s.Redis.GetEx(ctx, s.Keys.Session(tokenHash), ttl).Bytes()
	if errors.Is(err, redis.Nil) {
		return model.Principal{}, time.Time{}, errNoSession()
	}
	if err != nil {
		return model.Principal{}, time.Time{}, translateRedis(err)
	}
	p, created, err := decodeSession(tokenHash, raw)
	if err == nil {
		s.sessions.put(tokenHash, gen, sessionEntry{p: p, created: created})
	}
	return p, created, err
}

func errNoSession() error {
	return model.Errorf(model.CodeUnauthenticated, "登录已失效，请重新登录")
}

func decodeSession(tokenHash string, raw []byte) (model.Principal, time.Time, error) {
	var rec sessionRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return model.Principal{}, time.Time{}, errNoSession()
	}
	return model.Principal{UserID: rec.UserID, Roles: rec.Roles, TokenHash: tokenHash}, time.Unix(rec.CreatedAt, 0), nil
}

// DeleteSession removes one session, in every replica's near cache too.
// Errors: unavailable.
func (s *Store) DeleteSession(ctx context.Context, userID int64, tokenHash string) error {
	return s.changeSessions(ctx, userID, func(pipe redis.Pipeliner) {
		pipe.Del(ctx, s.Keys.Session(tokenHash))
		pipe.Del(ctx, s.Keys.SessionProfile(tokenHash))
		pipe.SRem(ctx, s.Keys.UserSessions(userID), tokenHash)
	})
}

// RevokeOtherSessions deletes every session of a user but the one of
// keepHash, then drops them from every replica's near cache. A role change
// that mints its session before it commits calls it after the commit, to end
// the sessions that logins minted meanwhile from the roles it replaced.
// Errors: unavailable.
func (s *Store) RevokeOtherSessions(ctx context.Context, userID int64, keepHash string) error {
	key := s.Keys.UserSessions(userID)
	hashes, err := s.Redis.SMembers(ctx, key).Result()
	if err != nil {
		return translateRedis(err)
	}
	var others []any
	for _, h := range hashes {
		if h != keepHash {
			others = append(others, h)
		}
	}
	if len(others) == 0 {
		return nil
	}
	return s.changeSessions(ctx, userID, func(pipe redis.Pipeliner) {
		for _, h := range others {
			pipe.Del(ctx, s.Keys.Session(h.(string)))
			pipe.Del(ctx, s.Keys.SessionProfile(h.(string)))
		}
		pipe.SRem(ctx, key, others...)
	})
}

// RevokeUserSessions deletes every session of a user, then drops them from
// every replica's near cache. It pops the index rather than deleting it, so
// a session created meanwhile is either revoked too or stays indexed for the
// next revocation. Errors: unavailable.
func (s *Store) RevokeUserSessions(ctx context.Context, userID int64) error {
	key := s.Keys.UserSessions(userID)
	for {
		hashes, err := s.Redis.SPopN(ctx, key, 100).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return translateRedis(err)
		}
		if len(hashes) == 0 {
			return s.changeSessions(ctx, userID, func(redis.Pipeliner) {})
		}
		keys := make([]string, 0, 2*len(hashes))
		for _, h := range hashes {
			keys = append(keys, s.Keys.Session(h), s.Keys.SessionProfile(h))
		}
		// One DEL per key keeps this valid on Redis Cluster, where the
		// session keys live in different slots.
		if _, err := s.Redis.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for _, k := range keys {
				pipe.Del(ctx, k)
			}
			return nil
		}); err != nil {
			return translateRedis(err)
		}
	}
}
