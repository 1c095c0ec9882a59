package chaos

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"jindalai/internal/testbed"
	"jindalai/store"
	"jindalai/store/storetest"
)

// env is one test's API process over its own database and Redis key prefix
// on the suite's private MariaDB and Redis.
type env struct {
	t        *testing.T
	st       *store.Store
	dsn      string
	prefix   string
	addr     string
	fakeAddr string
	logPath  string
	srv      *testbed.Server
	client   *http.Client
	extraEnv map[string]string
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	useSuite(t)
	// A test that failed half-way may have left a server stopped.
	for _, c := range []string{"start-mysql", "start-redis"} {
		if err := suite.stack.Run(c, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := "chaos_" + randomHex(5)
	admin, err := store.Open(store.Options{DSN: suite.stack.DSN(""), MaxOpenConns: 1, RedisAddr: suite.stack.RedisAddr()})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.DB.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dsn: suite.stack.DSN(name), prefix: "c" + randomHex(4) + ":",
		logPath: filepath.Join(t.TempDir(), "server.log"), extraEnv: map[string]string{}}
	e.st, err = store.Open(store.Options{DSN: e.dsn, MaxOpenConns: 8, MaxIdleConns: 8, ConnMaxLifetime: time.Minute,
		RedisAddr: suite.stack.RedisAddr(), RedisPoolSize: 8, KeyPrefix: e.prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, e.st.DB, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	hp, err := testbed.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	fp, err := testbed.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	e.addr, e.fakeAddr = "127.0.0.1:"+strconv.Itoa(hp), "127.0.0.1:"+strconv.Itoa(fp)
	e.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, Proxy: nil}}
	t.Cleanup(func() {
		if e.srv != nil {
			_ = e.srv.Kill()
		}
		if t.Failed() {
			if raw, err := os.ReadFile(e.logPath); err == nil {
				lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
				t.Logf("server log (last lines):\n%s", strings.Join(lines[max(0, len(lines)-30):], "\n"))
			}
		}
		_ = suite.stack.Run("start-mysql", time.Minute)
		_ = suite.stack.Run("start-redis", time.Minute)
		storetest.FlushPrefix(t, e.st)
		_ = e.st.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if a, err := store.Open(store.Options{DSN: suite.stack.DSN(""), MaxOpenConns: 1, RedisAddr: suite.stack.RedisAddr()}); err == nil {
			_, _ = a.DB.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name)
			_ = a.Close()
		}
	})
	return e
}

// start runs `jindalai serve` for this env and waits until /readyz is 200.
func (e *env) start() {
	e.t.Helper()
	logFile, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { logFile.Close() })
	vars := map[string]string{
		"JINDALAI_ENV":                           "development",
		"JINDALAI_MYSQL_DSN":                     e.dsn,
		"JINDALAI_MYSQL_MIGRATE_ON_START":        "false",
		"JINDALAI_REDIS_ADDR":                    suite.stack.RedisAddr(),
		"JINDALAI_REDIS_KEY_PREFIX":              e.prefix,
		"JINDALAI_HTTP_ADDR":                     e.addr,
		"JINDALAI_WECHAT_FAKE":                   "true",
		"JINDALAI_WECHAT_FAKE_ADDR":              e.fakeAddr,
		"JINDALAI_LOG_LEVEL":                     "warn",
		"JINDALAI_LIMITS_LOGIN_PER_MINUTE_IP":    "1000000",
		"JINDALAI_LIMITS_SUBMIT_PER_MINUTE_USER": "1000000",
		"JINDALAI_LIMITS_WRITES_PER_MINUTE_USER": "1000000",
	}
	for k, v := range e.extraEnv {
		vars[k] = v
	}
	e.srv, err = testbed.StartServer(testbed.ServerOptions{Bin: suite.bin,
		Config: filepath.Join(suite.root, "deploy", "config.dev.yaml"), Env: vars, Log: logFile})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.srv.WaitReady("/readyz", 30*time.Second); err != nil {
		e.t.Fatal(err)
	}
}

// kill sends SIGKILL to the API process.
func (e *env) kill() {
	e.t.Helper()
	if err := e.srv.Kill(); err != nil {
		e.t.Fatal(err)
	}
}

// reply is one finished exchange; err is a transport error (refused, reset).
type reply struct {
	status int
	body   []byte
	took   time.Duration
	err    error
}

func (r reply) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorCode returns the code of an error reply.
func (r reply) errorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// call sends one request to the API (127.0.0.1 only).
func (e *env) call(method, path, token string, body any, header map[string]string) reply {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return reply{err: err}
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, "http://"+e.addr+path, rd)
	if err != nil {
		return reply{err: err}
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	t0 := time.Now()
	resp, err := e.client.Do(req)
	if err != nil {
		return reply{err: err, took: time.Since(t0)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, body: raw, took: time.Since(t0), err: err}
}

// login logs in with a fake wx.login code and returns the token.
func (e *env) login(code string) string {
	e.t.Helper()
	r := e.call("POST", "/api/v1/auth/wechat/login", "", map[string]string{"code": code}, nil)
	if r.err != nil || r.status != 200 {
		e.t.Fatalf("login %s: %d %s %v", code, r.status, r.body, r.err)
	}
	var out struct {
		Token string `json:"token"`
	}
	r.decode(e.t, &out)
	return out.Token
}

// eventually polls ok every 50 ms until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	began := time.Now()
	for !ok() {
		if time.Since(began) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(began)
}
