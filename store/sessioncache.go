package store

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/model"
)

// The session near cache: each process keeps the sessions (and profile
// copies) it read from Redis for a short while (Options.SessionCacheTTL), so
// that most authenticated requests need no Redis round trip of their own.
//
// Redis stays the truth, and a change reaches every replica at once: every
// change that ends a session or alters what it carries (logout, revocation
// on a role change, a profile update) publishes the user's id on the
// SessionInvalidations channel in the same pipeline as the change, and every
// replica's RunSessionInvalidation drops that user's entries when the
// message arrives (the changing replica drops them before it returns).
//
// Entries are served only while the subscription is known to be live: the
// cache starts off, turns on when Redis confirms the subscription, and is
// emptied and turned off as soon as the subscription fails (a message may
// have been missed), until it is confirmed again. A read that raced with an
// invalidation is not cached: every invalidation bumps a generation, and an
// entry is stored only if the generation did not move while it was read.
// The TTL bounds what is left: a session slides in Redis once per TTL at
// least, and an entry is never older than it.

// sessionCacheMax bounds the entries of one process.
const sessionCacheMax = 200_000

// SessionInvalidations is the Pub/Sub channel of session invalidations: each
// message is a user id whose cached sessions every replica drops.
func (k Keys) SessionInvalidations() string { return k.prefix + "sessions:invalidate" }

// sessionCache is a process's near cache of sessions, by token hash.
type sessionCache struct {
	ttl time.Duration

	mu      sync.Mutex
	live    bool   // the invalidation subscription is confirmed
	gen     uint64 // bumped by every invalidation and reset
	entries map[string]*sessionEntry
	byUser  map[int64]map[string]struct{}
}

// sessionEntry is one cached session; user is nil until a profile read.
type sessionEntry struct {
	p       model.Principal
	created time.Time
	user    *model.User
	until   time.Time
}

func newSessionCache(ttl time.Duration) *sessionCache {
	return &sessionCache{ttl: ttl, entries: map[string]*sessionEntry{}, byUser: map[int64]map[string]struct{}{}}
}

// get returns the live entry of a token hash, if any; withProfile asks for
// one holding the profile.
func (c *sessionCache) get(tokenHash string, withProfile bool) (sessionEntry, bool) {
	if c == nil {
		return sessionEntry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[tokenHash]
	if !c.live || e == nil || (withProfile && e.user == nil) || time.Now().After(e.until) {
		return sessionEntry{}, false
	}
	return *e, true
}

// generation is read before a Redis read whose result put may cache.
func (c *sessionCache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put caches what a Redis read returned, unless an invalidation came since
// gen was read or the subscription is not live.
func (c *sessionCache) put(tokenHash string, gen uint64, e sessionEntry) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || c.gen != gen {
		return
	}
	if len(c.entries) >= sessionCacheMax {
		c.shrinkLocked()
	}
	e.until = time.Now().Add(c.ttl)
	c.entries[tokenHash] = &e
	hashes := c.byUser[e.p.UserID]
	if hashes == nil {
		hashes = map[string]struct{}{}
		c.byUser[e.p.UserID] = hashes
	}
	hashes[tokenHash] = struct{}{}
}

// shrinkLocked drops the expired entries, then arbitrary ones down to 90% of
// the bound; with mu held.
func (c *sessionCache) shrinkLocked() {
	now := time.Now()
	for h, e := range c.entries {
		if now.After(e.until) {
			c.removeLocked(h, e)
		}
	}
	for h, e := range c.entries {
		if len(c.entries) < sessionCacheMax*9/10 {
			break
		}
		c.removeLocked(h, e)
	}
}

func (c *sessionCache) removeLocked(tokenHash string, e *sessionEntry) {
	delete(c.entries, tokenHash)
	if hashes := c.byUser[e.p.UserID]; hashes != nil {
		delete(hashes, tokenHash)
		if len(hashes) == 0 {
			delete(c.byUser, e.p.UserID)
		}
	}
}

// dropUser forgets every entry of a user.
func (c *sessionCache) dropUser(userID int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for h := range c.byUser[userID] {
		delete(c.entries, h)
	}
	delete(c.byUser, userID)
}

// forgetAll empties the cache (Redis lost its data).
func (c *sessionCache) forgetAll() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
}

// reset empties the cache and sets whether it may serve entries.
func (c *sessionCache) reset(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live = live
	c.clearLocked()
}

// clearLocked drops every entry and refuses the reads under way; with mu held.
func (c *sessionCache) clearLocked() {
	c.gen++
	clear(c.entries)
	clear(c.byUser)
}

// changeSessions runs change's commands and publishes the user's
// invalidation after them, in one pipeline, then drops the user's entries of
// this process (also when the pipeline failed: it may have applied).
// Errors: unavailable.
func (s *Store) changeSessions(ctx context.Context, userID int64, change func(pipe redis.Pipeliner)) error {
	_, err := s.Redis.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		change(pipe)
		pipe.Publish(ctx, s.Keys.SessionInvalidations(), strconv.FormatInt(userID, 10))
		return nil
	})
	s.sessions.dropUser(userID)
	return translateRedis(err)
}

// RunSessionInvalidation keeps the session near cache in step with the
// other replicas until ctx ends: it subscribes to SessionInvalidations,
// serves the cache only while the subscription is confirmed, and drops a
// user's entries on each message. It returns at once when the cache is off
// (Options.SessionCacheTTL 0).
func (s *Store) RunSessionInvalidation(ctx context.Context, log *slog.Logger) {
	c := s.sessions
	if c == nil {
		return
	}
	defer c.reset(false)
	for ctx.Err() == nil {
		s.followInvalidations(ctx, c, log)
		c.reset(false)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// followInvalidations runs one subscription until it fails or ctx ends.
func (s *Store) followInvalidations(ctx context.Context, c *sessionCache, log *slog.Logger) {
	ps := s.Redis.Subscribe(ctx, s.Keys.SessionInvalidations())
	// Receive does not watch ctx while it waits for a message: closing the
	// subscription ends the wait.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		_ = ps.Close()
	}()
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, redis.ErrClosed) {
				log.Warn("session invalidations lost; the session cache is off until they resume", "err", err)
			}
			return
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				c.reset(true)
			}
		case *redis.Message:
			if id, err := strconv.ParseInt(m.Payload, 10, 64); err == nil {
				c.dropUser(id)
			} else {
				c.reset(true)
			}
		}
	}
}
