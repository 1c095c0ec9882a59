package api

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"jindalai/service"

	"jindalai/model"
)

// TestTooManyRequestsSaysRetryAfter: every 429 carries Retry-After in whole
// seconds (at least 1, at most the limit's minute), the same wait its
// message gives; the login (one limit) and write (batched limits) paths.
func TestTooManyRequestsSaysRetryAfter(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{loginPerMinute: 1, writesPerMinute: 1})
	tok, _ := h.login("waiter") // takes the one login of the minute
	write := req{method: "PATCH", path: "/api/v1/me", token: tok, body: map[string]string{"nickname": "n"}}
	if r := h.do(write); r.Status != http.StatusOK {
		t.Fatalf("first write: %d %s", r.Status, r.Body)
	}
	for _, r := range []req{
		{method: "POST", path: "/api/v1/auth/wechat/login", body: map[string]string{"code": "waiter"}},
		write,
	} {
		out := h.do(r)
		secs, err := strconv.Atoi(out.Header.Get("Retry-After"))
		if out.Status != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 60 ||
			!strings.Contains(out.errorMessage(), "请 "+strconv.Itoa(secs)+" 秒后再试") {
			t.Errorf("%s %s: %d %s, Retry-After %q", r.method, r.path, out.Status, out.Body, out.Header.Get("Retry-After"))
		}
	}
}

// TestRetryAfterRoundsUp: fail gives a 429 the error's wait in whole
// seconds rounded up, and 1 when the error carries none (WeChat's refusal).
func TestRetryAfterRoundsUp(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	s := New(Deps{Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Registry: prometheus.NewRegistry()})
	for _, c := range []struct {
		err  error
		want string
	}{
		{&model.Error{Code: model.CodeTooManyRequests, RetryAfter: 1500 * time.Millisecond}, "2"},
		{&model.Error{Code: model.CodeTooManyRequests, RetryAfter: 60 * time.Second}, "60"},
		{&model.Error{Code: model.CodeTooManyRequests, RetryAfter: time.Millisecond}, "1"},
		{model.Errorf(model.CodeTooManyRequests, "微信接口调用过于频繁"), "1"},
	} {
		w := httptest.NewRecorder()
		ctx, _ := gin.CreateTestContext(w)
		ctx.Request = httptest.NewRequest("GET", "/", nil)
		s.fail(ctx, c.err)
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != c.want {
			t.Errorf("%v: %d Retry-After %q, want %s", c.err, w.Code, w.Header().Get("Retry-After"), c.want)
		}
	}
}

// TestSubmitTakesTheWriteBudget: a submit takes one token of the caller's
// write budget (in Requests.Submit, with the submit limit, not in the
// middleware), and only when both limits allow: a submit refused by the
// submit limit leaves the write budget alone.
func TestSubmitTakesTheWriteBudget(t *testing.T) {
	for name, batchMax := range map[string]int{"batched": 0, "one by one": 1} {
		t.Run(name, func(t *testing.T) {
			h := newHarnessWith(t, harnessOptions{writesPerMinute: 3, dispatch: func(c *service.RequestsConfig) {
				c.SubmitPerMinuteUser, c.SubmitBatchMax = 1, batchMax
			}})
			h.city()
			alice, _ := h.login("alice")
			submit := req{method: "POST", path: "/api/v1/requests", token: alice, body: needBody()}
			write := req{method: "PATCH", path: "/api/v1/me", token: alice, body: map[string]string{"nickname": "n"}}
			var got []int
			for _, r := range []req{submit, submit, submit, write, write, write} {
				got = append(got, h.do(r).Status)
			}
			if fmt.Sprint(got) != "[201 429 429 200 200 429]" {
				t.Fatalf("statuses %v: want the submit to take one of the three write tokens, the refused ones none", got)
			}
		})
	}
}

// TestSubmitsSpendTheWriteBudget: under a loose submit limit, submits stop
// at the write budget.
func TestSubmitsSpendTheWriteBudget(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{writesPerMinute: 2})
	h.city()
	bob, _ := h.login("bob")
	var got []int
	for range 3 {
		got = append(got, h.do(req{method: "POST", path: "/api/v1/requests", token: bob, body: needBody()}).Status)
	}
	if fmt.Sprint(got) != "[201 201 429]" {
		t.Fatalf("submits under a write budget of 2: %v", got)
	}
}
