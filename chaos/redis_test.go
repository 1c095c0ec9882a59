package chaos

import (
	"fmt"
	"testing"
	"time"
)

// TestChaosRedisRestartEmpty restarts Redis with nothing in it under a
// running API with requests in the stations' queues: while it is down the
// API answers 503 within a second (no hang, no crash; sessions cached before
// the stop are refused as soon as the API sees the loss); once it is back the
// reconciler restores every dispatch queue, the deadline set and the GEO
// index of stations and organizations from MySQL within 5 s, no
// acknowledged request is lost, sessions (which live in Redis) are gone so
// clients log in again, and everything answers again. The servers run the default
// dispatch.sweep_every (1m): the loops' one-second loss checks notice it.
func TestChaosRedisRestartEmpty(t *testing.T) {
	e := newEnv(t)
	city := e.seedCity(t)
	e.start()
	eventually(t, 5*time.Second, "GEO index built at start", func() bool {
		s, o := e.geoSizes()
		return s == int64(city.stations) && o == int64(city.orgs)
	})
	tok := e.login("before")
	if r := e.call("GET", "/api/v1/me", tok, nil, nil); r.status != 200 {
		t.Fatalf("/me: %d %s", r.status, r.body)
	}
	var acked []submitted
	for n := 0; n < 40; n++ {
		key, body := fmt.Sprintf("r-%d", n), submitBody(city, n)
		r, answered, _ := e.submitUntilAnswered(tok, key, body, time.Now().Add(10*time.Second))
		if !answered || r.status != 201 {
			t.Fatalf("submit: %d %s", r.status, r.body)
		}
		acked = append(acked, submitted{key: key, body: body, id: requestID(r.body), raw: r.body})
	}
	e.checkQueues(t, time.Second)

	// The session is now in the API's near cache, good for its whole TTL
	// (10 s by default).
	if r := e.call("GET", "/api/v1/me", tok, nil, nil); r.status != 200 {
		t.Fatalf("/me: %d %s", r.status, r.body)
	}
	if err := suite.stack.Run("stop-redis", time.Minute); err != nil {
		t.Fatal(err)
	}
	// The cache serves only while its invalidation subscription is live; the
	// subscription's connection ends with Redis, and the cache turns off when
	// the API reads that end, well before the entry's TTL would.
	took := eventually(t, 3*time.Second, "the session cache turned off", func() bool {
		r := e.call("GET", "/api/v1/me", tok, nil, nil)
		if r.err != nil || r.took > time.Second || (r.status != 200 && r.status != 503) {
			t.Fatalf("me: %d %s in %v (err %v), want 200 (cached) or 503 within 1s", r.status, r.body, r.took, r.err)
		}
		return r.status == 503
	})
	t.Logf("cached sessions refused %v after Redis stopped", took)
	fixed := func(s string) func() string { return func() string { return s } }
	down := []probe{
		{name: "readyz", method: "GET", path: "/readyz", token: fixed(""), want: []int{503}},
		{name: "me", method: "GET", path: "/api/v1/me", token: fixed(tok), want: []int{503}},
		{name: "login", method: "POST", path: "/api/v1/auth/wechat/login", token: fixed(""), body: map[string]string{"code": "during"}, want: []int{503}},
		{name: "healthz", method: "GET", path: "/healthz", token: fixed(""), want: []int{200}},
		{name: "submit", method: "POST", path: "/api/v1/requests", token: fixed(tok), body: submitBody(city, 99), want: []int{503}},
	}
	n, slowest := probeAll(t, e, down, downFor, time.Second)
	t.Logf("Redis down: %d answers, slowest %v", n, slowest)
	if e.srv.Exited() {
		t.Fatal("the API process died while Redis was down")
	}

	if err := suite.stack.Run("start-redis", time.Minute); err != nil {
		t.Fatal(err)
	}
	if s, o := e.geoSizes(); s != 0 || o != 0 {
		t.Fatalf("Redis came back with %d/%d GEO members: not empty", s, o)
	}
	took = eventually(t, 5*time.Second, "GEO index restored by the reconciler", func() bool {
		s, o := e.geoSizes()
		return s == int64(city.stations) && o == int64(city.orgs)
	})
	t.Logf("GEO index restored %v after Redis came back", took)
	took = e.checkQueues(t, 5*time.Second)
	t.Logf("dispatch queues and deadlines restored within %v of the GEO index", took)
	eventually(t, 5*time.Second, "readyz", func() bool { return e.call("GET", "/readyz", "", nil, nil).status == 200 })
	if r := e.call("GET", "/api/v1/me", tok, nil, nil); r.status != 401 {
		t.Fatalf("a session from before the restart: %d %s (sessions live in Redis)", r.status, r.body)
	}
	again := e.login("before")
	if r := e.call("GET", "/api/v1/me", again, nil, nil); r.status != 200 {
		t.Fatalf("/me after logging in again: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/stations?lat=42.91&lng=129.51&category=home_visit&limit=3", "", nil, nil); r.status != 200 {
		t.Fatalf("stations near a point: %d %s", r.status, r.body)
	}
	r, answered, _ := e.submitUntilAnswered(again, "after", submitBody(city, 7), time.Now().Add(5*time.Second))
	if !answered || r.status != 201 {
		t.Fatalf("submit after recovery: %d %s", r.status, r.body)
	}
	e.checkQueues(t, time.Second)
	// The old session died with Redis; the same resident's new one replays.
	e.checkSubmitted(t, func(string) string { return again }, append(acked, submitted{key: "after", body: submitBody(city, 7), id: requestID(r.body), raw: r.body}), nil)
}
