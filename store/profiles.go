package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/model"
)

// The profile cache lets GET /me answer from Redis alone, in one round trip:
// each session has a copy of its user's profile (the users row GET /me
// shows) under the session's hash tag, and one script reads the session,
// slides its TTL and reads the copy.
//
// MySQL stays the truth. A miss reads the row and adds the copy with SET NX.
// Every UPDATE of a profile column (nickname, avatar_url, phone_enc) calls
// forgetProfiles after its commit, which overwrites the copy of each of the
// user's sessions with a short-lived tombstone. A reader that loaded the old
// row before that commit then either has its copy overwritten or finds the
// tombstone and its SET NX fails. A session created after forgetProfiles
// read the user's session set can only be read after its creation, so after
// the commit: its first miss loads the new row.
const (
	profileTTL      = 10 * time.Minute
	profileTombTTL  = 5 * time.Second
	profileTombMark = "-"
)

// SessionProfile is the profile copy of a session (see profiles.go), in the
// session's Cluster slot. Store code that updates nickname, avatar_url or
// phone_enc must call forgetProfiles after committing.
func (k Keys) SessionProfile(tokenHash string) string {
	return k.prefix + "sessp:{" + tokenHash + "}"
}

// cachedProfile is the JSON of a profile copy.
type cachedProfile struct {
	ID        int64  `json:"i"`
	OpenID    string `json:"o"`
	Nickname  string `json:"n"`
	AvatarURL string `json:"a"`
	PhoneEnc  []byte `json:"p,omitempty"`
	CreatedAt int64  `json:"c"`
}

// touchWithProfile reads a session, slides its idle TTL and reads its
// profile copy. KEYS[1]: the session; KEYS[2]: its profile copy (same hash
// tag). ARGV[1]: the idle TTL in milliseconds. Returns nil when there is no
// session, else {session, copy or nil}.
var touchWithProfile = redis.NewScript(`
local s = redis.call('GETEX', KEYS[1], 'PX', ARGV[1])
if not s then return false end
return {s, redis.call('GET', KEYS[2])}`)

// TouchSessionProfile returns the session of a token hash with its user's
// profile (Roles nil, UnionID empty), sliding the session's TTL. The profile
// comes from the session's copy, or MySQL on a miss.
// Errors: unauthenticated (no such session), not_found, unavailable, internal.
func (s *Store) TouchSessionProfile(ctx context.Context, tokenHash string, ttl time.Duration) (model.Principal, time.Time, model.User, error) {
	if e, ok := s.sessions.get(tokenHash, true); ok {
		return e.p, e.created, *e.user, nil
	}
	gen := s.sessions.generation()
	profKey := s.Keys.SessionProfile(tokenHash)
	res, err := touchWithProfile.Run(ctx, s.Redis, []string{s.Keys.Session(tokenHash), profKey}, ttl.Milliseconds()).Slice()
	if errors.Is(err, redis.Nil) {
		return model.Principal{}, time.Time{}, model.User{}, errNoSession()
	}
	if err != nil {
		return model.Principal{}, time.Time{}, model.User{}, translateRedis(err)
	}
	raw, _ := res[0].(string)
	p, created, err := decodeSession(tokenHash, []byte(raw))
	if err != nil {
		return model.Principal{}, time.Time{}, model.User{}, err
	}
	cached, _ := res[1].(string)
	if cached != "" && cached != profileTombMark {
		var c cachedProfile
		if json.Unmarshal([]byte(cached), &c) == nil && c.ID == p.UserID {
			u := model.User{ID: c.ID, OpenID: c.OpenID, Nickname: c.Nickname, AvatarURL: c.AvatarURL,
				PhoneEnc: c.PhoneEnc, CreatedAt: time.UnixMilli(c.CreatedAt).In(s.Loc)}
			s.sessions.put(tokenHash, gen, sessionEntry{p: p, created: created, user: &u})
			return p, created, u, nil
		}
	}
	u, err := s.GetProfile(ctx, p.UserID)
	if err != nil {
		return model.Principal{}, time.Time{}, model.User{}, err
	}
	if cached == "" {
		enc, _ := json.Marshal(cachedProfile{ID: u.ID, OpenID: u.OpenID, Nickname: u.Nickname, AvatarURL: u.AvatarURL,
			PhoneEnc: u.PhoneEnc, CreatedAt: u.CreatedAt.UnixMilli()})
		// A failed SET leaves no copy, which is fine.
		_ = s.Redis.SetNX(ctx, profKey, enc, profileTTL).Err()
	}
	s.sessions.put(tokenHash, gen, sessionEntry{p: p, created: created, user: &u})
	return p, created, u, nil
}

// forgetProfiles replaces the profile copy of every session of a user by a
// tombstone, and drops the user's sessions from every replica's near cache;
// call it after committing a change to a profile column.
// Errors: unavailable (the change is committed; the caller's retry forgets
// again).
func (s *Store) forgetProfiles(ctx context.Context, userID int64) error {
	hashes, err := s.Redis.SMembers(ctx, s.Keys.UserSessions(userID)).Result()
	if err != nil {
		return translateRedis(err)
	}
	return s.changeSessions(ctx, userID, func(pipe redis.Pipeliner) {
		for _, h := range hashes {
			pipe.Set(ctx, s.Keys.SessionProfile(h), profileTombMark, profileTombTTL)
		}
	})
}
