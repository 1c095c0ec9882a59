package wechat_test

// These tests swap the SDK's global HTTP client (wechat.InstallHTTPClient), so
// none of them may call t.Parallel.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/wechat"
	"jindalai/wechat/fakewechat"
)

const (
	testAppID  = "wx_test_app"
	testSecret = "s3cr3t-app-secret"
)

// memCache is an in-memory cache.Cache for tests.
type memCache struct {
	mu   sync.Mutex
	m    map[string]memEntry
	sets int
}

type memEntry struct {
	val     any
	expires time.Time
}

func newMemCache() *memCache { return &memCache{m: map[string]memEntry{}} }

func (c *memCache) Get(key string) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || time.Now().After(e.expires) {
		return nil
	}
	return e.val
}

func (c *memCache) Set(key string, val any, timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sets++
	c.m[key] = memEntry{val: val, expires: time.Now().Add(timeout)}
	return nil
}

func (c *memCache) IsExist(key string) bool { return c.Get(key) != nil }

func (c *memCache) Delete(key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
	return nil
}

// useServer routes the SDK's HTTP client to srv for the test.
func useServer(t *testing.T, srv *httptest.Server, timeout time.Duration) {
	t.Helper()
	hc := wechat.FakeDialClient(srv.Listener.Addr().String(), timeout)
	prev := wechat.InstallHTTPClient(hc)
	t.Cleanup(func() {
		wechat.InstallHTTPClient(prev)
		hc.CloseIdleConnections()
	})
}

// setup starts a fake WeChat, routes the SDK to it and returns a client.
func setup(t *testing.T) (*wechat.Client, *fakewechat.Server, *memCache) {
	t.Helper()
	fake, srv := fakewechat.NewTLSServer()
	t.Cleanup(srv.Close)
	useServer(t, srv, 5*time.Second)
	mc := newMemCache()
	return wechat.New(wechat.Config{AppID: testAppID, AppSecret: testSecret}, mc), fake, mc
}

func wantCode(t *testing.T, err error, code model.Code) {
	t.Helper()
	if got := model.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
	var me *model.Error
	if !errors.As(err, &me) || me.Message == "" {
		t.Fatalf("want a *model.Error with a message, got %#v", err)
	}
}

func TestCode2Session(t *testing.T) {
	c, _, _ := setup(t)
	ctx := context.Background()
	s, err := c.Code2Session(ctx, "C")
	if err != nil {
		t.Fatal(err)
	}
	if s.OpenID != "dev_C" || s.UnionID != "union_dev_C" || s.SessionKey == "" {
		t.Fatalf("session = %+v", s)
	}
	// The code is escaped into the URL, not spliced in.
	s, err = c.Code2Session(ctx, "x&js_code=y z")
	if err != nil {
		t.Fatal(err)
	}
	if s.OpenID != "dev_x&js_code=y z" {
		t.Fatalf("openid = %q", s.OpenID)
	}
}

func TestCode2SessionBadCode(t *testing.T) {
	c, _, _ := setup(t)
	ctx := context.Background()
	_, err := c.Code2Session(ctx, "bad-code-123")
	wantCode(t, err, model.CodeInvalid)
	if wechat.ErrCode(err) != 40029 || wechat.IsRetryable(err) || wechat.IsRefused(err) {
		t.Fatalf("errcode %d retryable %v refused %v", wechat.ErrCode(err), wechat.IsRetryable(err), wechat.IsRefused(err))
	}
	if strings.Contains(err.Error(), "bad-code-123") || strings.Contains(err.Error(), testSecret) {
		t.Fatalf("error text leaks the code or secret: %v", err)
	}
	_, err = c.Code2Session(ctx, "")
	wantCode(t, err, model.CodeInvalid)
}

func TestPhoneNumber(t *testing.T) {
	c, _, _ := setup(t)
	ctx := context.Background()
	phone, err := c.PhoneNumber(ctx, "13812345678")
	if err != nil {
		t.Fatal(err)
	}
	if phone != "13812345678" {
		t.Fatalf("phone = %q", phone)
	}
	_, err = c.PhoneNumber(ctx, "1381234")
	wantCode(t, err, model.CodeInvalid)
	if wechat.ErrCode(err) != 40029 || wechat.IsRetryable(err) {
		t.Fatalf("errcode %d retryable %v", wechat.ErrCode(err), wechat.IsRetryable(err))
	}
}

func testMessage(openid string) model.SubscribeMessage {
	return model.SubscribeMessage{
		ToOpenID:         openid,
		TemplateID:       "tmpl_activity_reminder",
		Page:             "pages/activity/detail?id=42",
		Data:             map[string]string{"thing1": "重阳节敬老活动", "time2": "2025-10-29 09:00"},
		MiniProgramState: "trial",
	}
}

func TestSendSubscribe(t *testing.T) {
	c, fake, _ := setup(t)
	before := time.Now()
	msg := testMessage("dev_C")
	if err := c.SendSubscribe(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	sends := fake.Sends()
	if len(sends) != 1 {
		t.Fatalf("sends = %+v", sends)
	}
	s := sends[0]
	if s.ToUser != msg.ToOpenID || s.TemplateID != msg.TemplateID || s.Page != msg.Page ||
		s.MiniProgramState != "trial" || len(s.Data) != 2 ||
		s.Data["thing1"] != "重阳节敬老活动" || s.Data["time2"] != "2025-10-29 09:00" || s.Time.Before(before) {
		t.Fatalf("send = %+v", s)
	}

	// Missing recipient or template: invalid, WeChat not called.
	err := c.SendSubscribe(context.Background(), model.SubscribeMessage{TemplateID: "t"})
	wantCode(t, err, model.CodeInvalid)
	if len(fake.Sends()) != 1 {
		t.Fatal("invalid message was sent")
	}
}

func TestSendRefused(t *testing.T) {
	c, fake, _ := setup(t)
	fake.RefuseOpenID("dev_R")
	err := c.SendSubscribe(context.Background(), testMessage("dev_R"))
	wantCode(t, err, model.CodeFailedPrecondition)
	if !wechat.IsRefused(err) || wechat.IsRetryable(err) || wechat.ErrCode(err) != 43101 {
		t.Fatalf("refused %v retryable %v errcode %d", wechat.IsRefused(err), wechat.IsRetryable(err), wechat.ErrCode(err))
	}
	if err := c.SendSubscribe(context.Background(), testMessage("dev_C")); err != nil {
		t.Fatalf("other openid: %v", err)
	}
	if n := len(fake.Sends()); n != 1 {
		t.Fatalf("%d sends recorded, want 1", n)
	}
	fake.Reset()
	if err := c.SendSubscribe(context.Background(), testMessage("dev_R")); err != nil {
		t.Fatalf("after reset: %v", err)
	}
}

func TestSendErrcodes(t *testing.T) {
	tests := []struct {
		errcode   int
		code      model.Code
		retryable bool
		refused   bool
	}{
		{-1, model.CodeUnavailable, true, false},
		{45009, model.CodeUnavailable, true, false},
		{45011, model.CodeTooManyRequests, true, false},
		{47003, model.CodeInvalid, false, false},
		{40037, model.CodeInvalid, false, false},
		{40003, model.CodeInvalid, false, false},
		{43101, model.CodeFailedPrecondition, false, true},
		{43107, model.CodeFailedPrecondition, false, true},
		{43108, model.CodeFailedPrecondition, false, true},
		{99999, model.CodeInternal, false, false},
	}
	c, fake, _ := setup(t)
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.errcode), func(t *testing.T) {
			fake.Reset()
			fake.FailNextSends(1, tt.errcode)
			err := c.SendSubscribe(context.Background(), testMessage("dev_C"))
			wantCode(t, err, tt.code)
			if wechat.IsRetryable(err) != tt.retryable || wechat.IsRefused(err) != tt.refused ||
				wechat.ErrCode(err) != int64(tt.errcode) {
				t.Fatalf("retryable %v refused %v errcode %d", wechat.IsRetryable(err), wechat.IsRefused(err), wechat.ErrCode(err))
			}
			// Only the next send failed.
			if err := c.SendSubscribe(context.Background(), testMessage("dev_C")); err != nil {
				t.Fatalf("second send: %v", err)
			}
			if n := len(fake.Sends()); n != 1 {
				t.Fatalf("%d sends recorded, want 1", n)
			}
		})
	}
}

func TestServerDown(t *testing.T) {
	c, fake, _ := setup(t)
	ctx := context.Background()
	fake.SetDown(true)
	_, err := c.Code2Session(ctx, "C")
	wantCode(t, err, model.CodeUnavailable)
	if !wechat.IsRetryable(err) || wechat.ErrCode(err) != 0 {
		t.Fatalf("retryable %v errcode %d", wechat.IsRetryable(err), wechat.ErrCode(err))
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Fatalf("error text leaks the secret: %v", err)
	}
	err = c.SendSubscribe(ctx, testMessage("dev_C"))
	wantCode(t, err, model.CodeUnavailable)
	_, err = c.PhoneNumber(ctx, "13812345678")
	wantCode(t, err, model.CodeUnavailable)

	fake.SetDown(false)
	if err := c.SendSubscribe(ctx, testMessage("dev_C")); err != nil {
		t.Fatalf("after up: %v", err)
	}
}

func TestAccessTokenFetchedOnceAndCached(t *testing.T) {
	c, fake, mc := setup(t)
	ctx := context.Background()
	if _, err := c.PhoneNumber(ctx, "13812345678"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			errs <- c.SendSubscribe(ctx, testMessage(fmt.Sprintf("dev_%d", i)))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.TokenCalls(); n != 1 {
		t.Fatalf("token fetched %d times, want 1", n)
	}
	if n := len(fake.Sends()); n != 20 {
		t.Fatalf("%d sends, want 20", n)
	}
	// A second client (another replica) sharing the cache reuses the token.
	c2 := wechat.New(wechat.Config{AppID: testAppID, AppSecret: testSecret}, mc)
	if err := c2.SendSubscribe(ctx, testMessage("dev_C")); err != nil {
		t.Fatal(err)
	}
	if n := fake.TokenCalls(); n != 1 {
		t.Fatalf("token fetched %d times, want 1", n)
	}
}

func TestStaleTokenIsRefreshed(t *testing.T) {
	c, fake, _ := setup(t)
	ctx := context.Background()
	if err := c.SendSubscribe(ctx, testMessage("dev_C")); err != nil {
		t.Fatal(err)
	}
	fake.RevokeTokens() // the cached token is now rejected with 40001
	if err := c.SendSubscribe(ctx, testMessage("dev_C")); err != nil {
		t.Fatalf("send with stale token: %v", err)
	}
	if _, err := c.PhoneNumber(ctx, "13812345678"); err != nil {
		t.Fatal(err)
	}
	if n := fake.TokenCalls(); n != 2 {
		t.Fatalf("token fetched %d times, want 2", n)
	}
	if n := len(fake.Sends()); n != 2 {
		t.Fatalf("%d sends, want 2", n)
	}
}

func TestBadCredentialsAreInternal(t *testing.T) {
	_, fake, _ := setup(t)
	c := wechat.New(wechat.Config{AppID: testAppID}, newMemCache()) // no secret: 41004
	err := c.SendSubscribe(context.Background(), testMessage("dev_C"))
	wantCode(t, err, model.CodeInternal)
	if wechat.IsRetryable(err) || wechat.ErrCode(err) != 41004 {
		t.Fatalf("retryable %v errcode %d", wechat.IsRetryable(err), wechat.ErrCode(err))
	}
	if len(fake.Sends()) != 0 {
		t.Fatal("sent without a token")
	}
}

func TestCanceledContext(t *testing.T) {
	c, fake, _ := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.SendSubscribe(ctx, testMessage("dev_C"))
	wantCode(t, err, model.CodeUnavailable)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled in chain: %v", err)
	}
	if len(fake.Sends()) != 0 {
		t.Fatal("sent despite canceled context")
	}
}

// TestTimeout: a WeChat that never answers costs a call its timeout, and
// the error says so. The server holds every request until the test ends,
// whatever its request context says (a handler returning when that context
// ended once sent an empty 200 that reached the client before its timeout).
func TestTimeout(t *testing.T) {
	hold := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-hold
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hold) })
	useServer(t, srv, 300*time.Millisecond)
	c := wechat.New(wechat.Config{AppID: testAppID, AppSecret: testSecret, HTTPTimeout: 200 * time.Millisecond}, newMemCache())
	start := time.Now()
	_, err := c.Code2Session(context.Background(), "C")
	wantCode(t, err, model.CodeUnavailable)
	if !wechat.IsRetryable(err) {
		t.Fatal("timeout not retryable")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want a timeout net.Error in chain: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Fatalf("error text leaks the secret: %v", err)
	}
}

func TestNonJSONReply(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>gateway error</html>"))
	}))
	t.Cleanup(srv.Close)
	useServer(t, srv, time.Second)
	c := wechat.New(wechat.Config{AppID: testAppID, AppSecret: testSecret}, newMemCache())
	_, err := c.Code2Session(context.Background(), "C")
	wantCode(t, err, model.CodeUnavailable)
	_, err = c.PhoneNumber(context.Background(), "13812345678")
	wantCode(t, err, model.CodeUnavailable)
	if !wechat.IsRetryable(err) {
		t.Fatal("not retryable")
	}
}

func TestIsRetryableNil(t *testing.T) {
	if wechat.IsRetryable(nil) || wechat.IsRefused(nil) || wechat.ErrCode(nil) != 0 {
		t.Fatal("nil error classified")
	}
}
