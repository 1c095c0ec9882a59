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
	rdb := deleteAllClient(t)
	base := storetest.KeyPrefix() // "t<hex>:"
	for _, glob := range []string{"*", "?", "[ab]", `\`} {
		prefix := base + glob
		checkDeleteAll(t, rdb, prefix, []string{prefix + "x", prefix + "y:1"},
			[]string{base + "a", base + "ab", base + "bx", base + "x"}) // none starts with prefix
	}
}

// TestKeysDeleteAllDeletesItsPrefixOnly: every key under the prefix goes,
// more than one UNLINK batch of them; keys of another prefix, and a key
// holding the prefix other than at its start, stay.
func TestKeysDeleteAllDeletesItsPrefixOnly(t *testing.T) {
	rdb := deleteAllClient(t)
	prefix, other := storetest.KeyPrefix(), storetest.KeyPrefix()
	own := []string{prefix + "a", prefix + "rl:{1}:submit"}
	for i := 0; i < 2500; i++ {
		own = append(own, prefix+"n:"+strconv.Itoa(i))
	}
	checkDeleteAll(t, rdb, prefix, own, []string{other + "a", "x:" + prefix + "c"})
}

func deleteAllClient(t *testing.T) *redis.Client {
	t.Helper()
	_, redisAddr := storetest.Require(t)
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// checkDeleteAll sets own and others, deletes the prefix's keys and checks
// that every own key went and every other one stayed (then removes them).
func checkDeleteAll(t *testing.T, rdb *redis.Client, prefix string, own, others []string) {
	t.Helper()
	ctx := context.Background()
	pipe := rdb.Pipeline()
	for _, k := range append(append([]string{}, own...), others...) {
		pipe.Set(ctx, k, "1", time.Minute)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	defer rdb.Del(ctx, others...)
	if err := store.NewKeys(prefix).DeleteAll(ctx, rdb); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, own...).Result(); err != nil || n != 0 {
		t.Errorf("prefix %q: %d of its own keys left (%v)", prefix, n, err)
	}
	if n, err := rdb.Exists(ctx, others...).Result(); err != nil || n != int64(len(others)) {
		t.Errorf("prefix %q: %d of %d other keys left (%v)", prefix, n, len(others), err)
	}
}
