package chaos

import (
	"testing"
	"time"
)

// TestChaosRedisRestartEmpty restarts Redis with nothing in it under a
// running API: while it is down the API answers 503 within a second (no hang,
// no crash); once it is back the reconciler restores the GEO index of
// stations and organizations from MySQL within 5 s, sessions (which live in
// Redis) are gone so clients log in again, and everything answers again.
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

	if err := suite.stack.Run("stop-redis", time.Minute); err != nil {
		t.Fatal(err)
	}
	fixed := func(s string) func() string { return func() string { return s } }
	down := []probe{
		{name: "readyz", method: "GET", path: "/readyz", token: fixed(""), want: []int{503}},
		{name: "me", method: "GET", path: "/api/v1/me", token: fixed(tok), want: []int{503}},
		{name: "login", method: "POST", path: "/api/v1/auth/wechat/login", token: fixed(""), body: map[string]string{"code": "during"}, want: []int{503}},
		{name: "healthz", method: "GET", path: "/healthz", token: fixed(""), want: []int{200}},
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
	took := eventually(t, 5*time.Second, "GEO index restored by the reconciler", func() bool {
		s, o := e.geoSizes()
		return s == int64(city.stations) && o == int64(city.orgs)
	})
	t.Logf("GEO index restored %v after Redis came back", took)
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
}
