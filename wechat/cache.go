package wechat

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
)

// DefaultCacheTimeout bounds each Redis operation of a RedisCache.
const DefaultCacheTimeout = 2 * time.Second

// RedisCache implements the SDK's cache.Cache (and cache.ContextCache) over
// go-redis/v9, so that every replica shares one access token. The SDK's own
// Redis cache uses go-redis v8.
//
// The SDK calls the context-free methods (Get, Set) from inside a request. So
// that a stuck Redis cannot hang that request, each of them runs under its own
// context.Background() with a DefaultCacheTimeout deadline; the context
// variants are bounded by both their ctx and that deadline.
type RedisCache struct {
	rdb redis.UniversalClient
	key func(string) string
}

var _ cache.ContextCache = (*RedisCache)(nil)

// NewRedisCache returns a cache that stores the SDK's key k under the Redis
// key key(k) (the store package owns key naming; nil means k itself). rdb is
// typically a *redis.Client; cluster and failover clients work too.
func NewRedisCache(rdb redis.UniversalClient, key func(string) string) *RedisCache {
	if key == nil {
		key = func(k string) string { return k }
	}
	return &RedisCache{rdb: rdb, key: key}
}

// Get returns the value stored under key as a string (the SDK type-asserts the
// access token to string), or nil when the key is missing or Redis fails: a
// miss only makes the SDK fetch the stable token again, which is harmless.
func (r *RedisCache) Get(key string) any {
	return r.GetContext(context.Background(), key)
}

// GetContext is Get under ctx.
func (r *RedisCache) GetContext(ctx context.Context, key string) any {
	ctx, cancel := context.WithTimeout(ctx, DefaultCacheTimeout)
	defer cancel()
	s, err := r.rdb.Get(ctx, r.key(key)).Result()
	if err != nil {
		return nil
	}
	return s
}

// Set stores val (a string, []byte or number; Get returns it as a string) for
// timeout. A non-positive timeout stores nothing and drops any old value: the
// SDK computes it as expires_in minus a margin, which can go negative, and
// Redis would keep a value set without expiry forever.
func (r *RedisCache) Set(key string, val any, timeout time.Duration) error {
	return r.SetContext(context.Background(), key, val, timeout)
}

// SetContext is Set under ctx.
func (r *RedisCache) SetContext(ctx context.Context, key string, val any, timeout time.Duration) error {
	if timeout <= 0 {
		return r.DeleteContext(ctx, key)
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultCacheTimeout)
	defer cancel()
	return r.rdb.Set(ctx, r.key(key), val, timeout).Err()
}

// IsExist reports whether key is stored; false when Redis fails.
func (r *RedisCache) IsExist(key string) bool {
	return r.IsExistContext(context.Background(), key)
}

// IsExistContext is IsExist under ctx.
func (r *RedisCache) IsExistContext(ctx context.Context, key string) bool {
	ctx, cancel := context.WithTimeout(ctx, DefaultCacheTimeout)
	defer cancel()
	n, err := r.rdb.Exists(ctx, r.key(key)).Result()
	return err == nil && n > 0
}

// Delete removes key; a missing key is not an error.
func (r *RedisCache) Delete(key string) error {
	return r.DeleteContext(context.Background(), key)
}

// DeleteContext is Delete under ctx.
func (r *RedisCache) DeleteContext(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, DefaultCacheTimeout)
	defer cancel()
	return r.rdb.Del(ctx, r.key(key)).Err()
}
