package chaos

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// probe is one kind of request sent while a dependency is down, with the
// statuses it may answer.
type probe struct {
	name, method, path string
	token              func() string
	body               any
	want               []int
}

// probeAll sends every probe from trafficWorkers goroutines for d and fails
// the test on a transport error, an unexpected status or an answer slower
// than limit. It returns how many answers it checked and the slowest.
func probeAll(t *testing.T, e *env, probes []probe, d, limit time.Duration) (int, time.Duration) {
	t.Helper()
	var mu sync.Mutex
	var slowest time.Duration
	n := 0
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	for w := 0; w < trafficWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop) && i < 10000; i++ {
				p := probes[(w+i)%len(probes)]
				r := e.call(p.method, p.path, p.token(), p.body, nil)
				ok := r.err == nil && r.took <= limit
				matched := false
				for _, s := range p.want {
					matched = matched || r.status == s
				}
				mu.Lock()
				n++
				slowest = max(slowest, r.took)
				mu.Unlock()
				if !ok || !matched {
					t.Errorf("%s: %d %s in %v (err %v), want %v within %v", p.name, r.status, r.body, r.took, r.err, p.want, limit)
					return
				}
			}
		}()
	}
	wg.Wait()
	return n, slowest
}

// TestChaosMySQLDown stops MariaDB under a running API: every request that
// needs MySQL answers 503 unavailable within a second (no hang, no crash),
// what Redis alone can answer still works, and the API recovers by itself
// when MySQL returns.
func TestChaosMySQLDown(t *testing.T) {
	e := newEnv(t)
	city := e.seedCity(t)
	e.start()
	warm := e.login("warm")
	if r := e.call("GET", "/api/v1/me", warm, nil, nil); r.status != 200 {
		t.Fatalf("/me: %d %s", r.status, r.body)
	}
	cold := e.login("cold") // no /me yet: its profile copy is not cached
	tok := func(s string) func() string { return func() string { return s } }
	none := tok("")

	if err := suite.stack.Run("stop-mysql", time.Minute); err != nil {
		t.Fatal(err)
	}
	down := []probe{
		{name: "readyz", method: "GET", path: "/readyz", token: none, want: []int{503}},
		{name: "me (profile not cached)", method: "GET", path: "/api/v1/me", token: tok(cold), want: []int{503}},
		{name: "patch me", method: "PATCH", path: "/api/v1/me", token: tok(warm), body: map[string]string{"nickname": "停机"}, want: []int{503}},
		{name: "login", method: "POST", path: "/api/v1/auth/wechat/login", token: none, body: map[string]string{"code": "newcomer"}, want: []int{503}},
		{name: "submit", method: "POST", path: "/api/v1/requests", token: tok(warm), body: submitBody(city, 1), want: []int{503}},
		{name: "me (profile cached: Redis only)", method: "GET", path: "/api/v1/me", token: tok(warm), want: []int{200}},
		{name: "healthz", method: "GET", path: "/healthz", token: none, want: []int{200}},
	}
	n, slowest := probeAll(t, e, down, downFor, time.Second)
	t.Logf("MySQL down: %d answers, slowest %v", n, slowest)
	if e.srv.Exited() {
		t.Fatal("the API process died while MySQL was down")
	}
	r := e.call("PATCH", "/api/v1/me", warm, map[string]string{"nickname": "x"}, nil)
	if r.errorCode() != "unavailable" || r.status != 503 {
		t.Fatalf("PATCH /me with MySQL down: %d %s", r.status, r.body)
	}

	if err := suite.stack.Run("start-mysql", time.Minute); err != nil {
		t.Fatal(err)
	}
	took := eventually(t, 10*time.Second, "PATCH /me after MySQL returned", func() bool {
		return e.call("PATCH", "/api/v1/me", warm, map[string]string{"nickname": "恢复"}, nil).status == 200
	})
	t.Logf("recovered %v after MySQL answered again", took)
	for _, p := range []probe{
		{name: "readyz", method: "GET", path: "/readyz", token: none},
		{name: "me", method: "GET", path: "/api/v1/me", token: tok(cold)},
		{name: "login", method: "POST", path: "/api/v1/auth/wechat/login", token: none, body: map[string]string{"code": "newcomer"}},
	} {
		if r := e.call(p.method, p.path, p.token(), p.body, nil); r.status != 200 {
			t.Fatalf("%s after recovery: %d %s", p.name, r.status, r.body)
		}
	}
	var nick string
	if err := e.st.DB.QueryRow("SELECT nickname FROM users WHERE openid = 'dev_warm'").Scan(&nick); err != nil || nick != "恢复" {
		t.Fatalf("nickname %q (%v)", nick, err)
	}
	if r, ok, _ := e.submitUntilAnswered(warm, "after", submitBody(city, 2), time.Now().Add(5*time.Second)); !ok || r.status != 201 {
		t.Fatalf("submit after recovery: %d %s", r.status, r.body)
	}
	e.checkQueues(t, 5*time.Second)
	var rows int
	if err := e.st.DB.QueryRow("SELECT COUNT(*) FROM requests").Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("%d requests after MySQL returned (%v): a submit refused with 503 left a row", rows, err)
	}
}

// TestChaosMySQLHung freezes MariaDB (SIGSTOP: its port still accepts
// connections, nothing answers): requests that need MySQL answer 503 when
// their deadline (http.request_timeout, 1 s here) passes instead of hanging,
// and the API recovers by itself once MariaDB runs again.
func TestChaosMySQLHung(t *testing.T) {
	e := newEnv(t)
	e.extraEnv["JINDALAI_HTTP_REQUEST_TIMEOUT"] = "1s"
	city := e.seedCity(t)
	e.start()
	warm := e.login("warm")
	if r := e.call("GET", "/api/v1/me", warm, nil, nil); r.status != 200 {
		t.Fatalf("/me: %d %s", r.status, r.body)
	}
	cold := e.login("cold")
	tok := func(s string) func() string { return func() string { return s } }
	none := tok("")

	pid, err := suite.stack.MySQLPID()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The stop is asynchronous: wait until the kernel shows it stopped.
	eventually(t, 5*time.Second, "mariadbd stopped", func() bool {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		s := string(raw)
		i := strings.LastIndexByte(s, ')')
		return err == nil && i > 0 && i+2 < len(s) && (s[i+2] == 'T' || s[i+2] == 't')
	})
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	defer resume()
	hung := []probe{
		{name: "readyz", method: "GET", path: "/readyz", token: none, want: []int{503}},
		{name: "me (profile not cached)", method: "GET", path: "/api/v1/me", token: tok(cold), want: []int{503}},
		{name: "patch me", method: "PATCH", path: "/api/v1/me", token: tok(warm), body: map[string]string{"nickname": "卡住"}, want: []int{503}},
		{name: "login", method: "POST", path: "/api/v1/auth/wechat/login", token: none, body: map[string]string{"code": "newcomer"}, want: []int{503}},
		{name: "submit", method: "POST", path: "/api/v1/requests", token: tok(warm), body: submitBody(city, 1), want: []int{503}},
		{name: "me (profile cached: Redis only)", method: "GET", path: "/api/v1/me", token: tok(warm), want: []int{200}},
	}
	n, slowest := probeAll(t, e, hung, downFor, 1500*time.Millisecond)
	t.Logf("MySQL hung: %d answers, slowest %v", n, slowest)
	// A 503 here is ambiguous: the transaction was sent and MariaDB may run
	// it when it resumes. Retrying with the same key must still make one.
	keyed := submitBody(city, 3)
	if r := e.call("POST", "/api/v1/requests", warm, keyed, map[string]string{"Idempotency-Key": "during-hang"}); r.status != 503 {
		t.Fatalf("keyed submit while hung: %d %s %v", r.status, r.body, r.err)
	}
	r := e.call("GET", "/readyz", "", nil, nil)
	if r.status != 503 || !strings.Contains(string(r.body), `"redis":"ok"`) {
		t.Fatalf("readyz with MySQL hung must blame MySQL only: %d %s", r.status, r.body)
	}
	resume()
	took := eventually(t, 15*time.Second, "PATCH /me after MySQL resumed", func() bool {
		return e.call("PATCH", "/api/v1/me", warm, map[string]string{"nickname": "恢复"}, nil).status == 200
	})
	t.Logf("recovered %v after MySQL resumed", took)
	if r := e.call("GET", "/api/v1/me", cold, nil, nil); r.status != 200 {
		t.Fatalf("/me after recovery: %d %s", r.status, r.body)
	}
	if r, ok, _ := e.submitUntilAnswered(warm, "after", submitBody(city, 2), time.Now().Add(5*time.Second)); !ok || r.status != 201 {
		t.Fatalf("submit after recovery: %d %s", r.status, r.body)
	}
	r, ok, _ := e.submitUntilAnswered(warm, "during-hang", keyed, time.Now().Add(5*time.Second))
	if !ok || r.status != 201 {
		t.Fatalf("retry of the submit sent while hung: %d %s", r.status, r.body)
	}
	var keys, rows int
	if err := e.st.DB.QueryRow("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'during-hang'").Scan(&keys); err != nil || keys != 1 {
		t.Fatalf("%d idempotency keys for the retried submit (%v)", keys, err)
	}
	if err := e.st.DB.QueryRow("SELECT COUNT(*) FROM requests WHERE id = ?", requestID(r.body)).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("the retried submit's request: %d rows (%v)", rows, err)
	}
	e.checkQueues(t, 5*time.Second)
}
