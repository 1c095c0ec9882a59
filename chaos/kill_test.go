package chaos

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// profileWriter is one resident changing their nickname over and over: it
// remembers the last nickname the API acknowledged and those sent after it
// whose answer never came (in flight when the process died).
type profileWriter struct {
	token     string
	openid    string
	lastAcked string
	unknown   []string
}

// TestChaosAPIKilled kills the API process with SIGKILL while residents
// submit requests, log in and change their profiles, and starts it again.
// A submit whose answer was lost is retried with the same Idempotency-Key
// until it is answered. Then: every request that got a 201 is in MySQL once,
// no key made two, the same key again returns the original answer, every
// dispatched request is in exactly its station's queue (and the deadline
// set); every acknowledged profile change is in MySQL (or a later one that
// was in flight), every acknowledged login made one user, sessions survive
// the crash, and after the restart nothing answers 5xx.
func TestChaosAPIKilled(t *testing.T) {
	e := newEnv(t)
	city := e.seedCity(t)
	e.start()
	writers := make([]*profileWriter, trafficWorkers)
	for i := range writers {
		code := fmt.Sprintf("kw%d", i)
		writers[i] = &profileWriter{token: e.login(code), openid: "dev_" + code}
	}
	var (
		phase      atomic.Int32 // 0 before the kill, 1 down, 2 after the restart
		fiveXX     atomic.Int64
		loginMu    sync.Mutex
		loginsOK   []string
		stop       = make(chan struct{})
		wg         sync.WaitGroup
		transport  atomic.Int64
		afterCalls atomic.Int64
	)
	submitters := make([]string, trafficWorkers)
	for i := range submitters {
		submitters[i] = e.login(fmt.Sprintf("ks%d", i))
	}
	var subMu sync.Mutex
	var acked []submitted
	var unanswered []string
	retried := 0
	for i, tok := range submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; seq < 100000; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("s%d-%d", i, seq)
				body := submitBody(city, i+seq)
				r, answered, retries := e.submitUntilAnswered(tok, key, body, time.Now().Add(30*time.Second))
				subMu.Lock()
				if retries > 0 {
					retried++
				}
				switch {
				case !answered:
					unanswered = append(unanswered, key)
				case r.status == 201:
					acked = append(acked, submitted{key: key, body: body, id: requestID(r.body), raw: r.body})
				default:
					t.Errorf("submit %s: %d %s", key, r.status, r.body)
				}
				subMu.Unlock()
				if phase.Load() == 2 {
					afterCalls.Add(1)
				}
			}
		}()
	}
	for i, w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; seq < 100000; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				nick := fmt.Sprintf("w%d-%d", i, seq)
				r := e.call("PATCH", "/api/v1/me", w.token, map[string]string{"nickname": nick}, nil)
				p := phase.Load()
				switch {
				case r.err != nil:
					transport.Add(1)
					w.unknown = append(w.unknown, nick)
					time.Sleep(20 * time.Millisecond)
				case r.status == 200:
					w.lastAcked, w.unknown = nick, nil
				case r.status >= 500 && p != 1:
					fiveXX.Add(1)
					t.Errorf("PATCH /me in phase %d: %d %s", p, r.status, r.body)
				default:
					w.unknown = append(w.unknown, nick)
				}
				if p == 2 {
					afterCalls.Add(1)
				}
				if seq%5 == 0 {
					code := fmt.Sprintf("kl%d-%d", i, seq)
					if r := e.call("POST", "/api/v1/auth/wechat/login", "", map[string]string{"code": code}, nil); r.err == nil && r.status == 200 {
						loginMu.Lock()
						loginsOK = append(loginsOK, "dev_"+code)
						loginMu.Unlock()
					}
				}
			}
		}()
	}
	time.Sleep(trafficBefore)
	phase.Store(1)
	e.kill()
	killedAt := time.Now()
	e.start()
	phase.Store(2)
	t.Logf("killed with SIGKILL; serving again after %v", time.Since(killedAt).Round(time.Millisecond))
	time.Sleep(trafficAfter)
	close(stop)
	wg.Wait()
	if afterCalls.Load() == 0 {
		t.Fatal("no traffic after the restart")
	}

	if len(acked) == 0 {
		t.Fatal("no request acknowledged")
	}
	byKey := map[string]string{}
	for i, tok := range submitters {
		byKey[fmt.Sprintf("s%d-", i)] = tok
	}
	e.checkSubmitted(t, func(key string) string { return byKey[key[:strings.Index(key, "-")+1]] }, acked, unanswered)
	took := e.checkQueues(t, 5*time.Second)
	t.Logf("%d requests acknowledged (%d of them after retries across the kill, %d unanswered); queues right %v after the checks began",
		len(acked), retried, len(unanswered), took)

	ctx := context.Background()
	for i, w := range writers {
		var nick string
		if err := e.st.DB.QueryRowContext(ctx, "SELECT nickname FROM users WHERE openid = ?", w.openid).Scan(&nick); err != nil {
			t.Fatal(err)
		}
		ok := nick == w.lastAcked
		for _, u := range w.unknown {
			ok = ok || nick == u
		}
		if !ok {
			t.Errorf("writer %d: MySQL has %q; last acknowledged %q, in flight %v", i, nick, w.lastAcked, w.unknown)
		}
		r := e.call("GET", "/api/v1/me", w.token, nil, nil)
		if r.status != 200 {
			t.Errorf("writer %d: the session did not survive the crash: %d %s", i, r.status, r.body)
		}
	}
	for _, openid := range loginsOK {
		var n int
		if err := e.st.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE openid = ?", openid).Scan(&n); err != nil || n != 1 {
			t.Errorf("acknowledged login %s: %d users (%v)", openid, n, err)
		}
	}
	t.Logf("%d acknowledged logins, %d transport errors around the kill, %d calls after the restart, %d 5xx",
		len(loginsOK), transport.Load(), afterCalls.Load(), fiveXX.Load())
}
