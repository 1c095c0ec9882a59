package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"jindalai/model"
)

// TestRequestDeadlineAnswers503: work that outlives RequestTimeout is
// abandoned and answered 503 unavailable with the store's message and
// Retry-After.
func TestRequestDeadlineAnswers503(t *testing.T) {
	h := newHarness(t)
	d := h.server.Deps
	d.RequestTimeout = time.Nanosecond
	d.Registry = prometheus.NewRegistry()
	h.serve(New(d))
	r := h.do(req{method: "GET", path: "/api/v1/stations/1"})
	if r.Status != http.StatusServiceUnavailable || r.errorCode() != model.CodeUnavailable ||
		r.errorMessage() != "服务繁忙，请稍后再试" || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("past the deadline: %d %s, Retry-After %q", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
}

// lockedBuffer is a log sink the test reads while the server writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPanicAnswers500: a handler that panics (here: no Stations service
// wired) gets 500 internal in the error shape, without the panic's text,
// and the panic is logged once.
func TestPanicAnswers500(t *testing.T) {
	h := newHarness(t)
	var logs lockedBuffer
	h.serve(New(Deps{Log: slog.New(slog.NewJSONHandler(&logs, nil)), Registry: prometheus.NewRegistry(), MaxBodyBytes: 1 << 20}))
	r := h.do(req{method: "GET", path: "/api/v1/categories"})
	var e errorBody
	r.decode(t, &e)
	if r.Status != http.StatusInternalServerError || e.Error.Code != model.CodeInternal || e.Error.Message != "服务器内部错误" ||
		strings.Contains(string(r.Body), "panic") {
		t.Fatalf("panic: %d %s", r.Status, r.Body)
	}
	if n := strings.Count(logs.String(), `"msg":"request failed"`); n != 1 || !strings.Contains(logs.String(), "panic: ") {
		t.Fatalf("%d error lines logged, want 1 with the panic:\n%s", n, logs.String())
	}
}

// TestHandlerChecksNameTheField covers the checks the handlers make
// themselves, before any service is called: each answers 400
// invalid_argument naming the field at fault, with the handler's words.
func TestHandlerChecksNameTheField(t *testing.T) {
	h := newHarness(t)
	admin, _ := h.login("admin")
	const badKey = "必须是 1–64 个可见 ASCII 字符"
	for _, c := range []struct {
		req            req
		field, problem string
	}{
		{req{method: "POST", path: "/api/v1/bookings", body: `{"slot_id": 1}`,
			header: map[string]string{"Idempotency-Key": strings.Repeat("k", 65)}}, "Idempotency-Key", badKey},
		{req{method: "POST", path: "/api/v1/bookings", body: `{"slot_id": 1}`, header: map[string]string{"Idempotency-Key": "a b"}},
			"Idempotency-Key", badKey},
		{req{method: "POST", path: "/api/v1/bookings", body: `{"slot_id": 1}`, header: map[string]string{"Content-Type": "text/plain"}},
			"Content-Type", "必须是 application/json"},
		{req{method: "GET", path: "/api/v1/bookings?mine=false"}, "mine", "只支持 mine=true；站点的预约见 /admin/stations/{id}/bookings"},
		{req{method: "GET", path: "/api/v1/requests?mine=maybe"}, "mine", "必须是 true 或 false"},
		{req{method: "GET", path: "/api/v1/services?station_id=x"}, "station_id", "必须是整数"},
		{req{method: "GET", path: "/api/v1/services?include_inactive=yes"}, "include_inactive", "必须是 true 或 false"},
		{req{method: "GET", path: "/api/v1/admin/stats?station_id=-1"}, "station_id", "必须是正整数"},
		{req{method: "GET", path: "/api/v1/admin/stats?station_id=x"}, "station_id", "必须是整数"},
		{req{method: "GET", path: "/api/v1/stations?parent_id=-1"}, "parent_id", "必须是正整数"},
		{req{method: "GET", path: "/api/v1/activities?lat=42"}, "lng", "需要同时提供 lat 和 lng"},
		{req{method: "GET", path: "/api/v1/activities?radius_m=-1"}, "radius_m", "必须是正整数"},
		{req{method: "GET", path: "/api/v1/organizations/1/hours?from=today"}, "from",
			"必须是 RFC 3339 时间（含时区），如 2025-05-01T09:00:00+08:00"},
		{req{method: "POST", path: "/api/v1/admin/categories", body: map[string]any{"name": "无编码"}}, "code", "必填"},
		{req{method: "PATCH", path: "/api/v1/admin/categories/home_visit", body: map[string]any{"code": "other"}}, "code",
			"服务类别编码不能修改"},
		{req{method: "PATCH", path: "/api/v1/activities/1", body: map[string]any{"starts_at": ""}}, "starts_at", "必填"},
		{req{method: "POST", path: "/api/v1/activities/1/cancel"}, "body", "请求体不能为空"},
		{req{method: "PUT", path: "/api/v1/activities/1/claims/1/minutes", body: map[string]any{"reason": "补录"}}, "minutes", "必填"},
	} {
		c.req.token = admin
		r := h.do(c.req)
		if r.Status != http.StatusBadRequest || r.errorCode() != model.CodeInvalid || r.errorFields()[c.field] != c.problem {
			t.Errorf("%s %s: %d %s, want 400 naming %s: %s", c.req.method, c.req.path, r.Status, r.Body, c.field, c.problem)
		}
	}
}
