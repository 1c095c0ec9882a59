package store_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/store"
	"jindalai/store/storetest"
)

// cachedReplicas returns two replicas with a session near cache of a minute
// (longer than any test: only invalidation can end an entry), following
// invalidations until the test ends.
func cachedReplicas(t *testing.T) (a, b *store.Store) {
	t.Helper()
	rs := storetest.Replicas(t, 2, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, st := range rs {
		wg.Add(1)
		go func() { defer wg.Done(); st.RunSessionInvalidation(ctx, log) }()
	}
	waitFor(t, "both caches live", func() bool { return rs[0].SessionCacheLive() && rs[1].SessionCacheLive() })
	return rs[0], rs[1]
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cachedOnly creates a session, reads it through st (whose cache keeps it)
// and deletes its Redis record: from then on only st's cache can serve it.
func cachedOnly(t *testing.T, st *store.Store, userID int64, hash string) {
	t.Helper()
	newSession(t, st, userID, hash)
	if !authenticated(st, hash) {
		t.Fatalf("%s: first read", hash)
	}
	if err := st.Redis.Del(context.Background(), st.Keys.Session(hash)).Err(); err != nil {
		t.Fatal(err)
	}
}

func authenticated(st *store.Store, hash string) bool {
	_, _, err := st.TouchSession(context.Background(), hash, time.Hour)
	return err == nil
}

// TestSessionCacheServesWithoutRedis: a session read once is served from
// memory (its Redis record deleted behind the cache's back still works),
// until its replica drops it.
func TestSessionCacheServesWithoutRedis(t *testing.T) {
	a, _ := cachedReplicas(t)
	ctx := context.Background()
	cachedOnly(t, a, 7, "hc1")
	if !authenticated(a, "hc1") {
		t.Fatal("a cached session needed Redis")
	}
	nc := storetest.Replicas(t, 1, 0)[0]
	if _, _, err := nc.TouchSession(ctx, "hc1", time.Hour); !model.IsCode(err, model.CodeUnauthenticated) {
		t.Fatalf("without a cache: %v", err)
	}
}

// TestSessionCacheFollowsOtherReplicas: logout, revocation and a profile
// change made through one replica end what the other one cached.
func TestSessionCacheFollowsOtherReplicas(t *testing.T) {
	a, b := cachedReplicas(t)
	ctx := context.Background()
	u, err := a.UpsertUserByOpenID(ctx, "dev_near", "")
	if err != nil {
		t.Fatal(err)
	}
	newSession(t, a, u.ID, "hn1")
	newSession(t, a, u.ID, "hn2")
	newSession(t, a, u.ID, "hn3")
	for _, h := range []string{"hn1", "hn2", "hn3"} {
		if !authenticated(a, h) {
			t.Fatalf("%s: first read", h)
		}
	}

	if err := b.DeleteSession(ctx, u.ID, "hn1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "logout on b ends hn1 on a", func() bool { return !authenticated(a, "hn1") })

	_, _, before, err := a.TouchSessionProfile(ctx, "hn2", time.Hour)
	if err != nil || before.Nickname != "" {
		t.Fatalf("profile: %+v %v", before, err)
	}
	nick := "小李"
	if err := b.UpdateProfile(ctx, u.ID, &nick, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a profile change on b reaches a", func() bool {
		_, _, got, err := a.TouchSessionProfile(ctx, "hn2", time.Hour)
		return err == nil && got.Nickname == nick
	})

	if err := b.RevokeUserSessions(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "revocation on b ends hn2 and hn3 on a", func() bool { return !authenticated(a, "hn2") && !authenticated(a, "hn3") })
	// The replica that made the change never serves it again.
	newSession(t, b, u.ID, "hn4")
	if !authenticated(b, "hn4") {
		t.Fatal("hn4")
	}
	if err := b.DeleteSession(ctx, u.ID, "hn4"); err != nil {
		t.Fatal(err)
	}
	if authenticated(b, "hn4") {
		t.Fatal("b served a session it deleted")
	}
}

// TestSessionCacheEmptiesWhenInvalidationsAreLost: when the subscription
// breaks, a replica forgets what it cached (it may miss invalidations) and
// caches again once subscribed anew.
func TestSessionCacheEmptiesWhenInvalidationsAreLost(t *testing.T) {
	a, _ := cachedReplicas(t)
	ctx := context.Background()
	cachedOnly(t, a, 9, "hl1")
	// Kill this test's subscriptions (named by the channel they follow).
	clients, err := a.Redis.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, id := range subscriberIDs(clients) {
		if err := a.Redis.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err == nil {
			killed++
		}
	}
	if killed == 0 {
		t.Fatal("no subscriber to kill")
	}
	waitFor(t, "the lost subscription empties the cache", func() bool { return !authenticated(a, "hl1") })
	waitFor(t, "the cache is live again", a.SessionCacheLive)
	cachedOnly(t, a, 9, "hl2")
	if !authenticated(a, "hl2") {
		t.Fatal("not cached after resubscribing")
	}
}

// subscriberIDs are the ids of the clients that CLIENT LIST shows
// subscribed to a channel.
func subscriberIDs(list string) []string {
	var ids []string
	for _, line := range strings.Split(list, "\n") {
		var id string
		subscribed := false
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "id="); ok {
				id = v
			}
			if v, ok := strings.CutPrefix(f, "sub="); ok && v != "0" {
				subscribed = true
			}
		}
		if subscribed && id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// TestSessionCacheForgetsWhenRedisLostItsData: finding the dispatch index
// marker gone (Redis restarted empty or flushed) empties the cache, since
// the sessions went with it; while the marker is there, entries stay.
func TestSessionCacheForgetsWhenRedisLostItsData(t *testing.T) {
	a, _ := cachedReplicas(t)
	ctx := context.Background()
	if _, err := a.RebuildDispatchIndex(ctx); err != nil {
		t.Fatal(err)
	}
	cachedOnly(t, a, 11, "hf1")
	if present, err := a.DispatchIndexPresent(ctx); err != nil || !present {
		t.Fatalf("marker: %v %v", present, err)
	}
	if !authenticated(a, "hf1") {
		t.Fatal("the cache forgot while Redis kept its data")
	}
	if err := a.Redis.Del(ctx, a.Keys.DispatchIndexMarker()).Err(); err != nil {
		t.Fatal(err)
	}
	if present, err := a.DispatchIndexPresent(ctx); err != nil || present {
		t.Fatalf("marker after loss: %v %v", present, err)
	}
	if authenticated(a, "hf1") {
		t.Fatal("served a session Redis lost")
	}
}
