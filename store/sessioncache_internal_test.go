package store

import (
	"testing"
	"time"

	"jindalai/model"
)

// TestSessionCacheRefusesReadsThatRacedAnInvalidation: a Redis read that
// began before an invalidation is not cached; nothing is cached or served
// while the subscription is not live; entries expire after the TTL.
func TestSessionCacheRefusesReadsThatRacedAnInvalidation(t *testing.T) {
	c := newSessionCache(time.Minute)
	e := sessionEntry{p: model.Principal{UserID: 1, TokenHash: "h"}}
	c.put("h", c.generation(), e)
	if _, ok := c.get("h", false); ok {
		t.Fatal("cached before the subscription was live")
	}
	c.reset(true)
	gen := c.generation()
	c.dropUser(2) // any invalidation
	c.put("h", gen, e)
	if _, ok := c.get("h", false); ok {
		t.Fatal("cached a read that raced an invalidation")
	}
	c.put("h", c.generation(), e)
	if got, ok := c.get("h", false); !ok || got.p.UserID != 1 {
		t.Fatal("not cached")
	}
	if _, ok := c.get("h", true); ok {
		t.Fatal("served a profile it does not hold")
	}
	c.dropUser(1)
	if _, ok := c.get("h", false); ok {
		t.Fatal("served a dropped user")
	}
	before := time.Now()
	c.put("h", c.generation(), e)
	if until := c.entries["h"].until; until.Before(before.Add(time.Minute)) || until.After(time.Now().Add(time.Minute)) {
		t.Fatalf("cached until %v, want the TTL from the put", until)
	}
	c.entries["h"].until = time.Now().Add(-time.Millisecond)
	if _, ok := c.get("h", false); ok {
		t.Fatal("served an expired entry")
	}
	c.put("h", c.generation(), e)
	c.reset(false)
	if _, ok := c.get("h", false); ok || len(c.entries) != 0 {
		t.Fatal("served or kept entries after the subscription was lost")
	}
}
