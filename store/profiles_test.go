package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/store"
	"jindalai/store/storetest"
)

func newSession(t *testing.T, st *store.Store, userID int64, hash string) {
	t.Helper()
	p := model.Principal{UserID: userID, Roles: []model.Role{{Role: model.RoleVolunteer}}}
	if err := st.CreateSession(context.Background(), hash, p, time.Now(), time.Hour, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
}

func TestSessionProfileFollowsWrites(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	u, err := st.UpsertUserByOpenID(ctx, "dev_cache", "union_dev_cache")
	if err != nil {
		t.Fatal(err)
	}
	newSession(t, st, u.ID, "h1")
	p, _, got, err := st.TouchSessionProfile(ctx, "h1", time.Hour)
	if err != nil || p.UserID != u.ID || len(p.Roles) != 1 || got.OpenID != "dev_cache" || got.Roles != nil {
		t.Fatalf("first read: %+v %+v %v", p, got, err)
	}
	key := st.Keys.SessionProfile("h1")
	if raw, _ := st.Redis.Get(ctx, key).Result(); !strings.Contains(raw, "dev_cache") {
		t.Fatalf("a miss did not fill the copy: %q", raw)
	}
	if _, _, again, err := st.TouchSessionProfile(ctx, "h1", time.Hour); err != nil || again.ID != u.ID || !again.CreatedAt.Equal(got.CreatedAt) {
		t.Fatalf("cached read: %+v %v (first %+v)", again, err, got)
	}
	nick := "小王"
	if err := st.UpdateProfile(ctx, u.ID, &nick, nil); err != nil {
		t.Fatal(err)
	}
	if raw, _ := st.Redis.Get(ctx, key).Result(); raw != "-" {
		t.Fatalf("after a write the copy is %q, want the tombstone", raw)
	}
	// A reader that loaded the old row before the commit cannot cache it now.
	if ok, _ := st.Redis.SetNX(ctx, key, `{"i":1}`, 0).Result(); ok {
		t.Fatal("SET NX over the tombstone succeeded")
	}
	if _, _, got, err := st.TouchSessionProfile(ctx, "h1", time.Hour); err != nil || got.Nickname != nick {
		t.Fatalf("read after write: %+v %v", got, err)
	}
	if err := st.SetPhone(ctx, u.ID, []byte("enc"), make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	if _, _, got, _ := st.TouchSessionProfile(ctx, "h1", time.Hour); string(got.PhoneEnc) != "enc" {
		t.Fatalf("phone after SetPhone: %q", got.PhoneEnc)
	}
	if err := st.DeleteSession(ctx, u.ID, "h1"); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Redis.Exists(ctx, st.Keys.Session("h1"), key).Result(); n != 0 {
		t.Fatalf("%d keys left after logout", n)
	}
	if _, _, _, err := st.TouchSessionProfile(ctx, "h1", time.Hour); !model.IsCode(err, model.CodeUnauthenticated) {
		t.Fatalf("after logout: %v", err)
	}
}

// TestSessionProfileNeverKeepsAStaleRow races readers of two sessions
// against a writer: once the writes are done, every copy is the tombstone or
// the last nickname.
func TestSessionProfileNeverKeepsAStaleRow(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	u, err := st.UpsertUserByOpenID(ctx, "dev_cache_race", "")
	if err != nil {
		t.Fatal(err)
	}
	hashes := []string{"ra", "rb"}
	for _, h := range hashes {
		newSession(t, st, u.ID, h)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := 0; r < 8; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				select {
				case <-done:
					return
				default:
				}
				if _, _, _, err := st.TouchSessionProfile(ctx, hashes[r%2], time.Hour); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	last := ""
	for i := 0; i < 40; i++ {
		last = fmt.Sprintf("昵称%d", i)
		if err := st.UpdateProfile(ctx, u.ID, &last, nil); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	for _, h := range hashes {
		raw, _ := st.Redis.Get(ctx, st.Keys.SessionProfile(h)).Result()
		if raw != "-" && !strings.Contains(raw, `"n":"`+last+`"`) {
			t.Fatalf("copy of %s holds %q after the last write %q", h, raw, last)
		}
		if _, _, got, err := st.TouchSessionProfile(ctx, h, time.Hour); err != nil || got.Nickname != last {
			t.Fatalf("read: %+v %v, want %q", got, err, last)
		}
	}
}
