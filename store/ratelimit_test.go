package store_test

import (
	"context"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/store/storetest"
)

// TestRateLimiterAllowMany: one round trip takes a token per subject listed
// (twice for a subject listed twice); a spent limit says when to retry and
// Allow sees the same counters.
func TestRateLimiterAllowMany(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	l := st.NewRateLimiter()
	retry, err := l.AllowMany(ctx, []string{"1", "2", "1", "1"}, []model.RateLimit{{Name: "submit", PerMinute: 2}})
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
	key := st.Keys.Prefix() + "rl:{1}:submit"
	if got := st.Keys.RateLimit("submit", "1"); got != key {
		t.Fatalf("counter key %q, want %q", got, key)
	}
	if ttl, err := st.Redis.TTL(ctx, key).Result(); err != nil || ttl <= 0 || ttl > 61*time.Second {
		t.Fatalf("counter ttl %v %v", ttl, err)
	}
}

// TestRateLimiterAllowManyTakesEveryLimitOrNone: a subject under two limits
// takes a token of each while both allow; once one is spent a call takes
// none (the other keeps its tokens) and waits for the later of the two.
func TestRateLimiterAllowManyTakesEveryLimitOrNone(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	l := st.NewRateLimiter()
	both := []model.RateLimit{{Name: "write", PerMinute: 3}, {Name: "submit", PerMinute: 1}}
	retry, err := l.AllowMany(ctx, []string{"7", "7", "8"}, both)
	if err != nil || len(retry) != 3 {
		t.Fatalf("allow many: %v %v", retry, err)
	}
	if retry[0] != 0 || retry[1] < 50*time.Second || retry[1] > 61*time.Second || retry[2] != 0 {
		t.Fatalf("retries %v: want the first and the other subject allowed, the second told to wait for the submit limit", retry)
	}
	// The refused call took no write token: two are left of three.
	for i, want := range []bool{true, true, false} {
		ok, _, err := l.Allow(ctx, "write", "7", 3)
		if err != nil || ok != want {
			t.Fatalf("write token %d: %v %v, want %v", i+2, ok, err, want)
		}
	}
}
