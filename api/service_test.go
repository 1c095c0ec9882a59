package api

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"

	"jindalai/store"
	"jindalai/store/storetest"
)

func TestEveryRouteIsInOpenAPI(t *testing.T) {
	h := newHarness(t)
	handler, err := h.server.Handler()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range handler.(*gin.Engine).Routes() {
		path := openapiPath(r.Path)
		ops, ok := doc.Paths[path]
		if !ok {
			t.Errorf("route %s %s: path %s missing from openapi.yaml", r.Method, r.Path, path)
			continue
		}
		if _, ok := ops[strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s %s: method missing from openapi.yaml", r.Method, r.Path)
		}
	}
}

// openapiPath turns gin's /a/:id into OpenAPI's /a/{id}.
func openapiPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func TestServiceEndpoints(t *testing.T) {
	h := newHarness(t)
	if r := h.do(req{method: "GET", path: "/healthz"}); r.Status != 200 {
		t.Fatalf("healthz %d", r.Status)
	}
	if r := h.do(req{method: "GET", path: "/readyz"}); r.Status != 200 {
		t.Fatalf("readyz %d %s", r.Status, r.Body)
	}
	r := h.do(req{method: "GET", path: "/metrics"})
	if r.Status != 200 || !strings.Contains(string(r.Body), `jindalai_http_requests_total{method="GET",route="/readyz",status="200"} 1`) {
		t.Fatalf("metrics: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "GET", path: "/openapi.yaml"}); r.Status != 200 || !strings.Contains(string(r.Body), "openapi: 3") {
		t.Fatalf("openapi %d", r.Status)
	}
}

// TestReadyzFollowsRedis stops a private Redis under a running API: /readyz
// answers 503 within a second, then 200 again once Redis is back, with no
// restart of the API.
func TestReadyzFollowsRedis(t *testing.T) {
	storetest.Require(t)
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server not installed (deploy/stack.sh up installs it)")
	}
	port := freePort(t)
	dir := t.TempDir()
	start := func() {
		cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "",
			"--appendonly", "no", "--daemonize", "yes", "--dir", dir, "--pidfile", dir+"/redis.pid")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("redis-server: %v %s", err, out)
		}
		waitFor(t, func() bool {
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
	stop := func() {
		raw, err := os.ReadFile(dir + "/redis.pid")
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
		p, _ := os.FindProcess(pid)
		_ = p.Kill()
		waitFor(t, func() bool {
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err == nil {
				c.Close()
			}
			return err != nil
		})
	}
	start()
	t.Cleanup(func() { _ = exec.Command("redis-cli", "-p", strconv.Itoa(port), "shutdown", "nosave").Run() })

	h := newHarness(t)
	private, err := store.Open(store.Options{DSN: "unused:x@tcp(127.0.0.1:1)/unused", MaxOpenConns: 1,
		RedisAddr: "127.0.0.1:" + strconv.Itoa(port), KeyPrefix: "rz:"})
	if err != nil {
		t.Fatal(err)
	}
	defer private.Close()
	h.server.Health = splitPinger{mysql: h.store, redis: private}

	if r := h.do(req{method: "GET", path: "/readyz"}); r.Status != 200 {
		t.Fatalf("before: %d %s", r.Status, r.Body)
	}
	stop()
	began := time.Now()
	if r := h.do(req{method: "GET", path: "/readyz"}); r.Status != 503 || !strings.Contains(string(r.Body), `"redis":"unavailable"`) {
		t.Fatalf("redis down: %d %s", r.Status, r.Body)
	}
	if d := time.Since(began); d > 1500*time.Millisecond {
		t.Fatalf("readyz took %v with redis down", d)
	}
	start()
	waitFor(t, func() bool { return h.do(req{method: "GET", path: "/readyz"}).Status == 200 })
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// splitPinger checks MySQL on one store and Redis on another.
type splitPinger struct{ mysql, redis *store.Store }

func (p splitPinger) PingMySQL(ctx context.Context) error { return p.mysql.PingMySQL(ctx) }
func (p splitPinger) PingRedis(ctx context.Context) error { return p.redis.PingRedis(ctx) }
