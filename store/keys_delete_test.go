package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/store"
	"jindalai/store/storetest"
)

// A prefix is taken literally, not as a SCAN pattern: one with glob
// characters (which redis.key_prefix and the tools' -prefix allow) deletes its own
// keys and no key those characters would match.
func TestKeysDeleteAllTakesThePrefixLiterally(t *testing.T) {
	_, redisAddr := storetest.Require(t)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	base := storetest.KeyPrefix() // "t<hex>:"
	for _, glob := range []string{"*", "?", "[ab]", `\`} {
		prefix := base + glob
		own := []string{prefix + "x", prefix + "y:1"}
		others := []string{base + "a", base + "ab", base + "bx", base + "x"} // none starts with prefix
		pipe := rdb.Pipeline()
		for _, k := range append(own, others...) {
			pipe.Set(ctx, k, "1", time.Minute)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if err := store.NewKeys(prefix).DeleteAll(ctx, rdb); err != nil {
			t.Fatal(err)
		}
		if n, err := rdb.Exists(ctx, own...).Result(); err != nil || n != 0 {
			t.Errorf("prefix %q: %d of its own keys left (%v)", prefix, n, err)
		}
		if n, err := rdb.Exists(ctx, others...).Result(); err != nil || n != int64(len(others)) {
			t.Errorf("prefix %q: %d of %d other keys left (%v)", prefix, n, len(others), err)
		}
		rdb.Del(ctx, others...)
	}
}

// TestKeysDeleteAllDeletesItsPrefixOnly: every key under the prefix goes,
// more than one UNLINK batch of them; keys of another prefix, and a key
// holding the prefix other than at its start, stay.
func TestKeysDeleteAllDeletesItsPrefixOnly(t *testing.T) {
	_, redisAddr := storetest.Require(t)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	prefix, other := storetest.KeyPrefix(), storetest.KeyPrefix()
	keys := []string{prefix + "a", prefix + "rl:{1}:submit", other + "a", "x:" + prefix + "c"}
	for i := 0; i < 2500; i++ {
		keys = append(keys, prefix+"n:"+strconv.Itoa(i))
	}
	pipe := rdb.Pipeline()
	for _, k := range keys {
		pipe.Set(ctx, k, "1", time.Minute)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	defer rdb.Del(ctx, other+"a", "x:"+prefix+"c")
	if err := store.NewKeys(prefix).DeleteAll(ctx, rdb); err != nil {
		t.Fatal(err)
	}
	if left, err := rdb.Keys(ctx, prefix+"*").Result(); err != nil || len(left) != 0 {
		t.Fatalf("%s* left: %d (%v)", prefix, len(left), err)
	}
	if n, err := rdb.Exists(ctx, other+"a", "x:"+prefix+"c").Result(); err != nil || n != 2 {
		t.Fatalf("keys outside the prefix were deleted: %d of 2 left (%v)", n, err)
	}
}
