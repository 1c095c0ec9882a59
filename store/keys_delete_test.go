package store_test

import (
	"context"
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
