// Command jindalai is the backend of the 金达莱 social-work-station
// mini-program. Subcommands: serve, migrate, seed, healthcheck.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"jindalai/api"
	"jindalai/config"
	"jindalai/service"
	"jindalai/store"
	"jindalai/wechat"
	"jindalai/wechat/fakewechat"
)

const usage = `usage: jindalai <command> [-config file]

commands:
  serve        run the HTTP API and the background loops
  migrate      apply pending database migrations
  seed         load the demo city (idempotent)
  healthcheck  exit 0 when -url answers 200 (for container health checks)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	if cmd == "healthcheck" {
		os.Exit(healthcheck(args))
	}
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	configPath := fs.String("config", os.Getenv("JINDALAI_CONFIG"), "path of the YAML config file")
	_ = fs.Parse(args)

	cfg, err := config.Load(*configPath, os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := newLogger(cfg.Log.Level)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "serve":
		err = serve(ctx, cfg, log)
	case "migrate":
		err = withStore(cfg, func(st *store.Store) error { return store.Migrate(ctx, st.DB, log) })
	case "seed":
		err = withStore(cfg, func(st *store.Store) error { return seed(ctx, st, cfg, log) })
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		log.Error(cmd+" failed", "err", err)
		os.Exit(1)
	}
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: l}))
}

func openStore(cfg config.Config) (*store.Store, error) {
	return store.Open(store.Options{
		DSN:             cfg.MySQL.DSN,
		MaxOpenConns:    cfg.MySQL.MaxOpenConns,
		MaxIdleConns:    cfg.MySQL.MaxIdleConns,
		ConnMaxLifetime: cfg.MySQL.ConnMaxLifetime,
		RedisAddr:       cfg.Redis.Addr,
		RedisPassword:   cfg.Redis.Password,
		RedisDB:         cfg.Redis.DB,
		RedisPoolSize:   cfg.Redis.PoolSize,
		KeyPrefix:       cfg.Redis.KeyPrefix,
		Loc:             cfg.Location(),
		PushKinds:       pushKinds(cfg),
		SessionCacheTTL: cfg.Security.SessionCacheTTL,
	})
}

// pushKinds are the notification kinds that have a subscribe-message template.
func pushKinds(cfg config.Config) []string {
	kinds := make([]string, 0, len(cfg.WeChat.Templates))
	for kind := range cfg.WeChat.Templates {
		kinds = append(kinds, kind)
	}
	return kinds
}

func withStore(cfg config.Config, fn func(*store.Store) error) error {
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

// serve runs the API until ctx ends, then drains in-flight requests, stops
// the background loops and closes connections.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	log.Info("starting", "config", cfg.Redacted(), "gc_percent", setGCPercent())
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.MySQL.MigrateOnStart {
		if err := store.Migrate(ctx, st.DB, log); err != nil {
			return err
		}
	}

	var loops sync.WaitGroup
	loopCtx, stopLoops := context.WithCancel(context.Background())
	defer stopLoops()

	if cfg.WeChat.Fake {
		log.Warn("using the FAKE WeChat server: development only", "addr", cfg.WeChat.FakeAddr)
		fake := fakewechat.New()
		ready := make(chan error, 1)
		loops.Add(1)
		go func() {
			defer loops.Done()
			if err := fake.ListenAndServeTLS(loopCtx, cfg.WeChat.FakeAddr); err != nil && !errors.Is(err, http.ErrServerClosed) {
				select {
				case ready <- err:
				default:
				}
				log.Error("fake wechat stopped", "err", err)
			}
		}()
		select {
		case err := <-ready:
			return fmt.Errorf("fake wechat: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
		wechat.InstallHTTPClient(wechat.FakeDialClient(cfg.WeChat.FakeAddr, cfg.WeChat.HTTPTimeout))
	} else {
		wechat.InstallHTTPClient(wechat.DefaultClient(cfg.WeChat.HTTPTimeout))
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	app, err := build(cfg, st, reg, log)
	if err != nil {
		return err
	}
	app.startLoops(loopCtx, &loops)
	if cfg.HTTP.DebugAddr != "" {
		serveDebug(loopCtx, cfg.HTTP.DebugAddr, log, &loops)
	}

	handler, err := app.server.Handler()
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              cfg.HTTP.Addr,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("listening", "addr", cfg.HTTP.Addr)
	if cfg.WeChat.Fake {
		printTryIt(cfg.HTTP.Addr)
	}

	select {
	case err := <-errc:
		stopLoops()
		loops.Wait()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	stopLoops()
	loops.Wait()
	log.Info("stopped")
	return err
}

func printTryIt(addr string) {
	base := "http://" + addr
	fmt.Fprintf(os.Stderr, `
Jindalai is running at %[1]s (fake WeChat: login code C gives openid dev_C; code "admin" is a city admin).

  # log in as a resident and read your profile
  TOKEN=$(curl -s -X POST %[1]s/api/v1/auth/wechat/login -H 'Content-Type: application/json' -d '{"code":"alice"}' | sed -E 's/.*"token":"([^"]+)".*/\1/')
  curl -s %[1]s/api/v1/me -H "Authorization: Bearer $TOKEN"

  # the demo city: services, and the stations nearest to 北山 that offer home visits
  curl -s %[1]s/api/v1/categories
  curl -s '%[1]s/api/v1/stations?lat=42.9212&lng=129.5003&category=home_visit&limit=3'

  # the API document
  curl -s %[1]s/openapi.yaml | head

`, base)
}

// healthcheck is the container health probe (distroless has no curl).
func healthcheck(args []string) int {
	fs := flag.NewFlagSet("healthcheck", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "URL that must answer 200")
	_ = fs.Parse(args)
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(*url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, strings.TrimSpace(resp.Status))
		return 1
	}
	return 0
}

// app is the wired application: services, the HTTP server and loops.
type app struct {
	server *api.Server
	loops  []func(ctx context.Context)
}

func (a *app) startLoops(ctx context.Context, wg *sync.WaitGroup) {
	for _, loop := range a.loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx)
		}()
	}
}

// build wires the services and the HTTP layer from config.
func build(cfg config.Config, st *store.Store, reg *prometheus.Registry, log *slog.Logger) (*app, error) {
	pii, err := service.NewPII(cfg.PIIKeyBytes())
	if err != nil {
		return nil, err
	}
	wx := wechat.New(wechat.Config{AppID: cfg.WeChat.AppID, AppSecret: cfg.WeChat.AppSecret, HTTPTimeout: cfg.WeChat.HTTPTimeout},
		wechat.NewRedisCache(st.Redis, st.Keys.WeChat))
	limiter := st.NewRateLimiter()
	loc := cfg.Location()

	stations := service.NewStations(st, st, service.MatchConfig{
		SearchRadiiM:      cfg.Dispatch.SearchRadiiM,
		LoadPenaltyM:      cfg.Dispatch.LoadPenaltyM,
		MaxOrgs:           cfg.Dispatch.MaxOrgs,
		ReconcileEvery:    cfg.Dispatch.SweepEvery,
		QueueLengthsEvery: cfg.Dispatch.QueueLengthsEvery,
	}, loc, log)

	auth := service.NewAuth(st, stations, wx, limiter, pii, service.AuthConfig{
		SessionTTL:          cfg.Security.SessionTTL,
		SessionMaxAge:       cfg.Security.SessionMaxAge,
		InviteTTL:           cfg.Security.InviteTTL,
		BootstrapAdmins:     cfg.Security.BootstrapAdmins,
		LoginPerMinuteIP:    cfg.Limits.LoginPerMinuteIP,
		InvitePerMinuteUser: cfg.Limits.InvitePerMinuteUser,
		WritesPerMinuteUser: cfg.Limits.WritesPerMinuteUser,
	}, loc, log)

	requests := service.NewRequests(st, stations, limiter, pii, service.RequestsConfig{
		AcceptByUrgent:      cfg.Dispatch.AcceptByUrgent,
		AcceptByNormal:      cfg.Dispatch.AcceptByNormal,
		MaxBounces:          cfg.Dispatch.MaxBounces,
		AutoCloseAfter:      cfg.Dispatch.AutoCloseAfter,
		EscalationEvery:     cfg.Dispatch.EscalationEvery,
		SweepEvery:          cfg.Dispatch.SweepEvery,
		SubmitPerMinuteUser: cfg.Limits.SubmitPerMinuteUser,
		WritesPerMinuteUser: cfg.Limits.WritesPerMinuteUser,
		SubmitBatchMax:      cfg.Dispatch.SubmitBatchMax,
	}, loc, log)
	registerSubmitBatchMetrics(reg, requests)

	activities := service.NewActivities(st, stations, auth, limiter, pii, service.ActivitiesConfig{
		CheckinRadiusM:       cfg.Activities.CheckinRadiusM,
		CheckinOpensBefore:   cfg.Activities.CheckinOpensBefore,
		CodeRotation:         cfg.Activities.CodeRotation,
		CodeGrace:            cfg.Activities.CodeGrace,
		CheckoutGrace:        cfg.Activities.CheckoutGrace,
		NearbyRadiusM:        cfg.Activities.NearbyRadiusM,
		MaxCapacity:          cfg.Activities.MaxCapacity,
		MaxCreditedHours:     cfg.Activities.MaxCreditedHours,
		MaxDuration:          cfg.Activities.MaxDuration,
		CheckinPerMinuteUser: cfg.Activities.CheckinPerMinuteUser,
	}, loc, log)

	bookings := service.NewBookings(st, stations, pii, service.BookingsConfig{
		CloseBefore:   cfg.Bookings.CloseBefore,
		CancelBefore:  cfg.Bookings.CancelBefore,
		RemindBefore:  cfg.Bookings.RemindBefore,
		NoShowLimit:   cfg.Bookings.NoShowLimit,
		NoShowWindow:  cfg.Bookings.NoShowWindow,
		ReminderEvery: cfg.Bookings.ReminderEvery,
	}, loc, log)

	notify, err := service.NewNotifications(st, wx, service.NotificationsConfig{
		Templates:        notifyTemplates(cfg.WeChat.Templates),
		MiniProgramState: cfg.WeChat.MiniProgramState,
		Every:            cfg.Notify.Every,
		MaxAttempts:      cfg.Notify.MaxAttempts,
		BaseBackoff:      cfg.Notify.BaseBackoff,
		MaxBackoff:       cfg.Notify.MaxBackoff,
		BatchSize:        cfg.Notify.BatchSize,
		Lease:            cfg.Notify.Lease,
		SendTimeout:      cfg.WeChat.HTTPTimeout,
		IsRefused:        wechat.IsRefused,
		IsRetryable:      wechat.IsRetryable,
	}, reg, loc, log)
	if err != nil {
		return nil, err
	}

	server := api.New(api.Deps{
		Auth:           auth,
		Stations:       stations,
		Activities:     activities,
		Bookings:       bookings,
		Notifications:  notify,
		Requests:       requests,
		Health:         st,
		PII:            pii,
		Log:            log,
		Registry:       reg,
		MaxBodyBytes:   int64(cfg.Limits.MaxRequestBodyBytes),
		TrustedProxies: cfg.HTTP.TrustedProxies,
		RequestTimeout: cfg.HTTP.RequestTimeout,
	})
	purgeIdempotency := func(ctx context.Context) {
		service.RunIdempotencyPurge(ctx, st, time.Duration(cfg.Limits.IdempotencyTTLMinutes)*time.Minute, 10*time.Minute, log)
	}
	notificationRetention := func(ctx context.Context) {
		service.RunNotificationRetention(ctx, st, time.Duration(cfg.Notify.RetentionDays)*24*time.Hour, 10*time.Minute, log)
	}
	sessionInvalidation := func(ctx context.Context) { st.RunSessionInvalidation(ctx, log) }
	return &app{server: server, loops: []func(ctx context.Context){stations.ReconcileLoop, stations.QueueLengthsLoop, notify.Run, bookings.RunReminders,
		requests.RunEscalation, requests.RunMaintenance, requests.RunSubmitBatches, purgeIdempotency, notificationRetention,
		sessionInvalidation}}, nil
}

// notifyTemplates converts the configured subscribe templates.
func notifyTemplates(in map[string]config.TemplateConfig) map[string]service.Template {
	out := make(map[string]service.Template, len(in))
	for kind, t := range in {
		out[kind] = service.Template{ID: t.ID, Page: t.Page, Fields: t.Fields}
	}
	return out
}

// serveGCPercent is the garbage collector's target when GOGC is not set:
// the server's live heap is small (tens of MB), and at Go's default of 100
// the collector took about a tenth of its CPU under submit load; at 400 the
// heap may grow to five times the live data between collections.
const serveGCPercent = 400

// setGCPercent applies serveGCPercent unless the environment sets GOGC, and
// returns the percentage in force.
func setGCPercent() string {
	if v, ok := os.LookupEnv("GOGC"); ok {
		return v
	}
	debug.SetGCPercent(serveGCPercent)
	return strconv.Itoa(serveGCPercent)
}
