package storetest

import (
	"context"
	"testing"
	"time"

	"jindalai/store"
)

// TestFlushPrefixMatchesThePrefixLiterally: a prefix with glob characters
// flushes its own keys only, not those its characters would match as a
// pattern.
func TestFlushPrefixMatchesThePrefixLiterally(t *testing.T) {
	dsn, redisAddr := Require(t)
	base := KeyPrefix()
	st, err := store.Open(store.Options{DSN: dsn, RedisAddr: redisAddr, KeyPrefix: base + "*?:", Loc: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	own := st.Keys.Prefix() + "k"
	others := []string{base + "xy:k", base + "*:k"}
	for _, k := range append([]string{own}, others...) {
		if err := st.Redis.Set(ctx, k, "1", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	defer st.Redis.Del(ctx, others...)
	FlushPrefix(t, st)
	if n, err := st.Redis.Exists(ctx, own).Result(); err != nil || n != 0 {
		t.Fatalf("own key left: %d %v", n, err)
	}
	for _, k := range others {
		if n, err := st.Redis.Exists(ctx, k).Result(); err != nil || n != 1 {
			t.Fatalf("another prefix's key %q flushed: %d %v", k, n, err)
		}
	}
}
