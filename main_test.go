package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"jindalai/config"
	"jindalai/store/storetest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServeMigratesServesAndShutsDown runs the real serve path (migrations at
// start, fake WeChat, loops) and checks that cancelling its context — what
// SIGTERM does — drains and returns cleanly, closing the listener.
func TestServeMigratesServesAndShutsDown(t *testing.T) {
	dsn, redisAddr := storetest.Database(t)
	cfg, err := config.Load("deploy/config.dev.yaml", append(os.Environ(),
		"JINDALAI_MYSQL_DSN="+dsn,
		"JINDALAI_REDIS_ADDR="+redisAddr,
		"JINDALAI_REDIS_KEY_PREFIX="+storetest.KeyPrefix(),
		"JINDALAI_HTTP_ADDR="+freeAddr(t),
		"JINDALAI_WECHAT_FAKE_ADDR="+freeAddr(t),
		"JINDALAI_MYSQL_MIGRATE_ON_START=true",
		"JINDALAI_HTTP_DEBUG_ADDR="+freeAddr(t),
	))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, log) }()

	base := "http://" + cfg.HTTP.Addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Post(base+"/api/v1/auth/wechat/login", "application/json", strings.NewReader(`{"code":"admin"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login through the fake WeChat: %v %v", err, resp)
	}
	resp.Body.Close()
	if body := getOK(t, base+"/metrics"); !strings.Contains(body, "jindalai_submit_batch_transactions_total 0") {
		t.Fatalf("/metrics lacks the submit batch counters:\n%s", body)
	}
	// The profiler listens apart from the API (started with the loops).
	debugDeadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + cfg.HTTP.DebugAddr + "/debug/pprof/cmdline")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("profiler: %s", resp.Status)
			}
			break
		}
		if time.Now().After(debugDeadline) {
			t.Fatalf("profiler not listening: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	for _, addr := range []string{cfg.HTTP.Addr, cfg.HTTP.DebugAddr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("listener %s still open after shutdown", addr)
		}
	}
}

// getOK GETs url and returns its body; anything but 200 fails t.
func getOK(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s (%v)", url, resp.Status, err)
	}
	return string(body)
}

func TestHealthcheckCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	if code := healthcheck([]string{"-url", base + "/ok"}); code != 0 {
		t.Fatalf("healthy: exit %d", code)
	}
	if code := healthcheck([]string{"-url", base + "/down"}); code != 1 {
		t.Fatalf("unhealthy: exit %d", code)
	}
}
