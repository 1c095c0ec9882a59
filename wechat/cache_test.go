package wechat_test

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/wechat"
	"jindalai/wechat/fakewechat"
)

// testRedis connects to the Redis at JINDALAI_TEST_REDIS_ADDR and returns it
// with a key prefix unique to the test; the test's keys are deleted at the
// end. Without the variable the test is skipped, or fails when CI=true.
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	addr := os.Getenv("JINDALAI_TEST_REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("JINDALAI_TEST_REDIS_ADDR is not set (required when CI=true)")
		}
		t.Skip("JINDALAI_TEST_REDIS_ADDR is not set")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		t.Fatalf("redis at %s: %v", addr, err)
	}
	prefix := "jindalai_test:wechat:" + rand.Text() + ":"
	t.Cleanup(func() {
		defer rdb.Close()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return rdb, prefix
}

func TestRedisCache(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	c := wechat.NewRedisCache(rdb, func(k string) string { return prefix + k })

	if v := c.Get("missing"); v != nil {
		t.Fatalf("Get(missing) = %#v, want nil", v)
	}
	if c.IsExist("missing") {
		t.Fatal("IsExist(missing)")
	}
	if err := c.Set("tok", "abc", time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Get("tok").(string); !ok || v != "abc" {
		t.Fatalf("Get(tok) = %#v, want string abc", c.Get("tok"))
	}
	if !c.IsExist("tok") {
		t.Fatal("!IsExist(tok)")
	}
	// Stored under the caller's key, with the expiry.
	if ttl := rdb.TTL(ctx, prefix+"tok").Val(); ttl <= 50*time.Second || ttl > time.Minute {
		t.Fatalf("TTL = %v", ttl)
	}
	// A non-positive timeout stores nothing and drops the old value.
	if err := c.Set("tok", "new", -5*time.Second); err != nil {
		t.Fatal(err)
	}
	if v := c.Get("tok"); v != nil {
		t.Fatalf("after negative timeout Get = %#v", v)
	}
	if err := c.SetContext(ctx, "n", 42, time.Minute); err != nil {
		t.Fatal(err)
	}
	if v := c.GetContext(ctx, "n"); v != "42" {
		t.Fatalf("Get(n) = %#v", v)
	}
	if err := c.Delete("n"); err != nil {
		t.Fatal(err)
	}
	if c.IsExistContext(ctx, "n") {
		t.Fatal("exists after Delete")
	}
	if err := c.Delete("n"); err != nil {
		t.Fatalf("Delete(missing) = %v", err)
	}
}

// Two replicas sharing Redis fetch the access token once.
func TestRedisCacheSharesToken(t *testing.T) {
	rdb, prefix := testRedis(t)
	fake, srv := fakewechat.NewTLSServer()
	t.Cleanup(srv.Close)
	useServer(t, srv, 5*time.Second)
	ctx := context.Background()
	cfg := wechat.Config{AppID: testAppID, AppSecret: testSecret}
	key := func(k string) string { return prefix + k }
	a := wechat.New(cfg, wechat.NewRedisCache(rdb, key))
	b := wechat.New(cfg, wechat.NewRedisCache(rdb, key))
	if err := a.SendSubscribe(ctx, testMessage("dev_A")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PhoneNumber(ctx, "13812345678"); err != nil {
		t.Fatal(err)
	}
	if n := fake.TokenCalls(); n != 1 {
		t.Fatalf("token fetched %d times, want 1", n)
	}
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys = %v, %v", keys, err)
	}
	// A revoked token is dropped from Redis and fetched again.
	fake.RevokeTokens()
	if err := b.SendSubscribe(ctx, testMessage("dev_B")); err != nil {
		t.Fatal(err)
	}
	if n := fake.TokenCalls(); n != 2 {
		t.Fatalf("token fetched %d times, want 2", n)
	}
}
