package store_test

import (
	"context"
	"testing"
	"time"

	"jindalai/store/storetest"
)

// TestRateLimiterAllowMany: one round trip takes a token per subject listed
// (twice for a subject listed twice); a spent limit says when to retry and
// Allow sees the same counters.
func TestRateLimiterAllowMany(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	l := st.NewRateLimiter()
	retry, err := l.AllowMany(ctx, "submit", []string{"1", "2", "1", "1"}, 2)
	if err != nil || len(retry) != 4 {
		t.Fatalf("allow many: %v %v", retry, err)
	}
	if retry[0] != 0 || retry[1] != 0 || retry[2] != 0 || retry[3] < 20*time.Second || retry[3] > 31*time.Second {
		t.Fatalf("retries: %v", retry)
	}
	if ok, _, err := l.Allow(ctx, "submit", "2", 2); !ok || err != nil {
		t.Fatalf("second token of 2: %v %v", ok, err)
	}
	if ok, after, err := l.Allow(ctx, "submit", "2", 2); ok || err != nil || after <= 0 {
		t.Fatalf("third token of 2: %v %v %v", ok, after, err)
	}
	key := st.Keys.Prefix() + "rl:submit:1"
	if got := st.Keys.RateLimit("submit", "1"); got != key {
		t.Fatalf("counter key %q, want %q", got, key)
	}
	if ttl, err := st.Redis.TTL(ctx, key).Result(); err != nil || ttl <= 0 || ttl > 61*time.Second {
		t.Fatalf("counter ttl %v %v", ttl, err)
	}
}
