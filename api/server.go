// Package api is Jindalai's HTTP layer: gin routes and middleware. Handlers
// bind and validate, call one service method and respond; errors are mapped
// to HTTP in errors.go.
package api

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"jindalai/model"
	"jindalai/service"
)

//go:embed openapi.yaml
var openapiYAML []byte

// Pinger reports whether a dependency answers.
type Pinger interface {
	PingMySQL(ctx context.Context) error
	PingRedis(ctx context.Context) error
}

// Deps is everything the HTTP layer calls.
type Deps struct {
	Auth          *service.Auth
	Stations      *service.Stations
	Requests      *service.Requests
	Activities    *service.Activities
	Bookings      *service.Bookings
	Notifications *service.Notifications
	Health        Pinger
	// PII keys the fingerprints of Idempotency-Key bodies, which hold
	// personal data (a plain hash of a phone number is reversed by guessing).
	PII      *service.PII
	Log      *slog.Logger
	Registry *prometheus.Registry
	// RequestTimeout is the deadline of each request's context (0: none).
	RequestTimeout time.Duration
	// MaxBodyBytes caps request bodies (413 above it).
	MaxBodyBytes int64
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string
}

// Server holds the handlers' dependencies.
type Server struct {
	Deps
	log     *slog.Logger
	metrics *httpMetrics
}

// New returns a Server.
func New(d Deps) *Server {
	return &Server{Deps: d, log: d.Log, metrics: newHTTPMetrics(d.Registry)}
}

// Handler returns the routed gin engine.
func (s *Server) Handler() (http.Handler, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// A path that is a route but for a trailing slash is an unknown path:
	// gin's redirect would answer before the middleware, with an HTML body
	// and no X-Request-Id. (Letter-case redirects, RedirectFixedPath, are off
	// by default.)
	r.RedirectTrailingSlash = false
	if err := r.SetTrustedProxies(s.TrustedProxies); err != nil {
		return nil, err
	}
	r.Use(s.requestIDMiddleware, noStoreMiddleware, s.accessLogMiddleware, s.recoveryMiddleware, s.metricsMiddleware,
		s.bodyLimitMiddleware, s.deadlineMiddleware)
	r.NoRoute(func(c *gin.Context) { s.failCode(c, model.CodeNotFound, "接口不存在") })
	r.NoMethod(func(c *gin.Context) { s.failCode(c, model.CodeMethodNotAllowed, "请求方法不支持") })

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{})))
	r.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", openapiYAML) })

	v1 := r.Group("/api/v1")
	s.authRoutes(v1)
	s.stationsRoutes(v1)
	s.requestsRoutes(v1)
	s.activitiesRoutes(v1)
	s.bookingsRoutes(v1)
	s.notificationsRoutes(v1)
	return r, nil
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz answers 200 only when MySQL and Redis both answer within a second.
// They are pinged in parallel, so a hung one does not use up the other's second.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
	defer cancel()
	redisErr := make(chan error, 1)
	go func() { redisErr <- s.Health.PingRedis(ctx) }()
	checks := gin.H{"mysql": "ok", "redis": "ok"}
	status := http.StatusOK
	if err := s.Health.PingMySQL(ctx); err != nil {
		checks["mysql"] = "unavailable"
		status = http.StatusServiceUnavailable
	}
	if err := <-redisErr; err != nil {
		checks["redis"] = "unavailable"
		status = http.StatusServiceUnavailable
	}
	if status != http.StatusOK {
		c.JSON(status, gin.H{"status": "unavailable", "checks": checks})
		return
	}
	c.JSON(status, gin.H{"status": "ok", "checks": checks})
}
