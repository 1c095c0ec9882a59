package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"jindalai/model"
)

const (
	ctxRequestID = "jdl.request_id"
	ctxPrincipal = "jdl.principal"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestIDMiddleware keeps a sane client X-Request-Id or makes one, and
// echoes it on every reply.
func (s *Server) requestIDMiddleware(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if !requestIDPattern.MatchString(id) {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set(ctxRequestID, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

func requestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

// noStoreMiddleware keeps every reply out of every cache between the server
// and the phone: the API's carry people's data and depend on who asks, and
// its errors (an unknown route, a wrong method, a body too large) are
// answered before any route group's middleware.
func noStoreMiddleware(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Next()
}

// accessLogMiddleware writes one JSON line per request (when the log level
// includes info).
func (s *Server) accessLogMiddleware(c *gin.Context) {
	if !s.log.Enabled(c.Request.Context(), slog.LevelInfo) {
		c.Next()
		return
	}
	start := time.Now()
	c.Next()
	attrs := []slog.Attr{
		slog.String("request_id", requestID(c)),
		slog.String("method", c.Request.Method),
		slog.String("route", c.FullPath()),
		slog.Int("status", c.Writer.Status()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.Int("bytes", c.Writer.Size()),
		slog.String("ip", c.ClientIP()),
	}
	if p, ok := c.Get(ctxPrincipal); ok {
		attrs = append(attrs, slog.Int64("user_id", p.(model.Principal).UserID))
	}
	s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "http", attrs...)
}

// recoveryMiddleware turns a panic into a 500 in the error shape and logs it.
func (s *Server) recoveryMiddleware(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.fail(c, model.Wrap(model.CodeInternal, fmt.Errorf("panic: %v\n%s", v, debug.Stack()), ""))
		}
	}()
	c.Next()
}

// bodyLimitMiddleware caps every request body at MaxBodyBytes.
func (s *Server) bodyLimitMiddleware(c *gin.Context) {
	if c.Request.ContentLength > s.MaxBodyBytes {
		s.fail(c, tooLarge(s.MaxBodyBytes))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes)
	c.Next()
}

// deadlineMiddleware gives the request's context the RequestTimeout
// deadline; the MySQL and Redis clients abandon work when it passes, and the
// store turns that into unavailable (503).
func (s *Server) deadlineMiddleware(c *gin.Context) {
	if s.RequestTimeout <= 0 {
		c.Next()
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.RequestTimeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

func tooLarge(limit int64) error {
	return &model.Error{Code: model.CodePayloadTooLarge, Message: fmt.Sprintf("请求体不能超过 %d 字节", limit)}
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func (s *Server) failCode(c *gin.Context, code model.Code, message string) {
	s.fail(c, &model.Error{Code: code, Message: message})
}

// authenticate requires a valid bearer token and stores the principal; a
// call that is not a GET or HEAD takes a token of the caller's write budget.
func (s *Server) authenticate(c *gin.Context) {
	s.authenticateWith(c, true)
}

// authenticateSubmit is authenticate for POST /requests: when
// Requests.Submit takes the write token itself (with the submit limit, in one
// round trip), the middleware does not.
func (s *Server) authenticateSubmit(c *gin.Context) {
	s.authenticateWith(c, !s.Requests.TakesWriteBudget())
}

func (s *Server) authenticateWith(c *gin.Context, takeWrite bool) {
	token, ok := bearerToken(c)
	if !ok {
		s.fail(c, errLogin())
		return
	}
	p, err := s.Auth.Authenticate(c.Request.Context(), token)
	if err != nil {
		s.fail(c, err)
		return
	}
	if takeWrite && c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
		if err := s.Auth.AllowWrite(c.Request.Context(), p); err != nil {
			s.fail(c, err)
			return
		}
	}
	c.Set(ctxPrincipal, p)
	c.Next()
}

// bearerToken returns the token of the Authorization header; the scheme is
// case-insensitive (RFC 7235 section 2.1).
func bearerToken(c *gin.Context) (string, bool) {
	scheme, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

func errLogin() error { return model.Errorf(model.CodeUnauthenticated, "请先登录") }

// principal returns the caller set by authenticate.
func principal(c *gin.Context) model.Principal {
	p, _ := c.Get(ctxPrincipal)
	pr, _ := p.(model.Principal)
	return pr
}

// requireRole lets through callers holding any of roles (at any scope), and
// city admins, who may do whatever staff may. Scope is checked by services.
func (s *Server) requireRole(roles ...model.RoleName) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principal(c)
		if p.IsCityAdmin() {
			c.Next()
			return
		}
		for _, r := range roles {
			if p.Has(r) {
				c.Next()
				return
			}
		}
		s.fail(c, model.Errorf(model.CodePermissionDenied, "没有权限执行此操作"))
	}
}

// httpMetrics are the request counters and latency histogram.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jindalai_http_requests_total",
			Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "jindalai_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

func (s *Server) metricsMiddleware(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	s.metrics.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
	s.metrics.latency.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
}
