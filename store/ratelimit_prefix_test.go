package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/model"
	"jindalai/store"
	"jindalai/store/storetest"
)

// scanKeys returns every key of the shared Redis matching pattern.
func scanKeys(t *testing.T, rdb *redis.Client, pattern string) []string {
	t.Helper()
	var out []string
	iter := rdb.Scan(context.Background(), 0, pattern, 1000).Iterator()
	for iter.Next(context.Background()) {
		out = append(out, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every counter a limit writes is a key under the store's prefix.
func TestRateLimitCountersLiveUnderThePrefix(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	subject := "u" + strings.TrimSuffix(st.Keys.Prefix(), ":") // no other test's keys contain it
	if _, err := st.NewRateLimiter().AllowMany(ctx, []string{subject + "a", subject + "b"}, []model.RateLimit{{Name: "login", PerMinute: 5}}); err != nil {
		t.Fatal(err)
	}
	keys := scanKeys(t, st.Redis, "*"+subject+"*")
	if len(keys) != 2 {
		t.Fatalf("counters %v, want one per subject", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, st.Keys.Prefix()) {
			t.Errorf("counter %q is outside the prefix %q", k, st.Keys.Prefix())
		}
	}
}

// Two deployments sharing a Redis with different prefixes neither share a
// counter nor lose one when the other deletes the keys of its own prefix,
// even when one prefix starts with "rate:" and the other's name.
func TestRateLimitPrefixesDoNotShareCounters(t *testing.T) {
	a := storetest.New(t)
	dsn, redisAddr := storetest.Require(t)
	b, err := store.Open(store.Options{DSN: dsn, MaxOpenConns: 1, MaxIdleConns: 1, ConnMaxLifetime: time.Minute,
		RedisAddr: redisAddr, RedisPoolSize: 4, KeyPrefix: "rate:" + a.Keys.Prefix()})
	if err != nil {
		t.Fatal(err)
	}
	flushB := func() { storetest.FlushPrefix(t, b) }
	t.Cleanup(func() { flushB(); _ = b.Close() })
	ctx := context.Background()
	la, lb := a.NewRateLimiter(), b.NewRateLimiter()

	if ok, _, err := la.Allow(ctx, "submit", "7", 1); !ok || err != nil {
		t.Fatalf("a, first token: %v %v", ok, err)
	}
	if ok, _, err := la.Allow(ctx, "submit", "7", 1); ok || err != nil {
		t.Fatalf("a, second token of 1: %v %v, want refused", ok, err)
	}
	if ok, _, err := lb.Allow(ctx, "submit", "7", 1); !ok || err != nil {
		t.Fatalf("b, first token: %v %v, want its own counter", ok, err)
	}
	flushB()
	if ok, _, err := la.Allow(ctx, "submit", "7", 1); ok || err != nil {
		t.Fatalf("a after b flushed its prefix: %v %v, want still refused", ok, err)
	}
}
