// Command claimstorm measures the claim storm: many volunteers claiming the
// places of one activity at the same instant. It builds the API in-process
// (the real auth and activities services over a private MySQL database and
// Redis prefix on the local stack), serves it on a loopback port, registers
// the volunteers, releases all claims at once over HTTP (or straight into the
// service with -mode service), then checks the invariant and prints one line:
//
//	BENCH name=claim_storm mode=http claims=1000 places=100 settle_ms=... claims_per_s=... p50_ms=... p99_ms=... invariant=ok
//
// Usage (with the local stack's environment, deploy/stack.sh env):
//
//	go run ./cmd/claimstorm -claims 1000 -places 100
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"jindalai/api"
	"jindalai/cmd/internal/benchkit"
	"jindalai/model"
	"jindalai/service"
	"jindalai/store"
)

type options struct {
	claims, places, conns int
	waitlist              bool
	mode                  string
	mysqlDSN, redisAddr   string
	keep                  bool
}

func main() {
	var o options
	flag.IntVar(&o.claims, "claims", 1000, "concurrent claims (one volunteer each)")
	flag.IntVar(&o.places, "places", 100, "places of the activity")
	flag.BoolVar(&o.waitlist, "waitlist", true, "the activity has a waitlist (else the late claims get 409)")
	flag.StringVar(&o.mode, "mode", "http", "http: claims over HTTP to the in-process API; service: straight into the service")
	flag.IntVar(&o.conns, "mysql-conns", 40, "MySQL pool size (production default 40)")
	flag.StringVar(&o.mysqlDSN, "mysql", os.Getenv("JINDALAI_TEST_MYSQL_DSN"), "MySQL DSN of a user that may create databases")
	flag.StringVar(&o.redisAddr, "redis", os.Getenv("JINDALAI_TEST_REDIS_ADDR"), "Redis address")
	flag.BoolVar(&o.keep, "keep", false, "keep the database afterwards")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "claimstorm:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.mysqlDSN == "" || o.redisAddr == "" {
		return errors.New("set -mysql and -redis (or eval \"$(deploy/stack.sh env)\")")
	}
	if o.mode != "http" && o.mode != "service" {
		return fmt.Errorf("unknown -mode %q", o.mode)
	}
	st, cleanup, err := openPrivateStore(ctx, o)
	if err != nil {
		return err
	}
	defer cleanup()

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pii, err := service.NewPII([]byte("claimstorm-only-pii-key-32-bytes"))
	if err != nil {
		return err
	}
	limiter := st.NewRateLimiter()
	auth := service.NewAuth(st, nil, codeLogin{}, limiter, pii, service.AuthConfig{
		SessionTTL: time.Hour, SessionMaxAge: 24 * time.Hour, InviteTTL: time.Hour,
		BootstrapAdmins: []string{"storm_admin"}, LoginPerMinuteIP: 1 << 30, InvitePerMinuteUser: 1 << 30,
	}, st.Loc, log)
	acts := service.NewActivities(st, nil, auth, limiter, pii, service.ActivitiesConfig{
		CheckinRadiusM: 500, CheckinOpensBefore: 30 * time.Minute, CodeRotation: time.Minute, CodeGrace: 10 * time.Second,
		CheckoutGrace: 2 * time.Hour, NearbyRadiusM: 20000, MaxCapacity: 100000, MaxCreditedHours: 24,
		MaxDuration: 72 * time.Hour, CheckinPerMinuteUser: 10,
	}, st.Loc, log)

	admin, err := auth.Login(ctx, "127.0.0.1", "admin")
	if err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	adminP, err := auth.Authenticate(ctx, admin.Token)
	if err != nil {
		return err
	}
	start := time.Now().Add(time.Hour)
	activity, err := acts.CreateActivity(ctx, adminP, nil, service.ActivityInput{
		Title: "抢报名压测", Category: "elder_care", StationID: 1, Lat: 42.906, Lng: 129.497, Address: "进学街道",
		StartsAt: start, EndsAt: start.Add(2 * time.Hour), Capacity: o.places, CreditedHours: 2, Waitlist: o.waitlist,
	})
	if err != nil {
		return fmt.Errorf("create activity: %w", err)
	}

	setupStart := time.Now()
	vols, err := registerVolunteers(ctx, auth, acts, o.claims)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "claimstorm: %d volunteers registered in %v\n", len(vols), time.Since(setupStart).Round(time.Millisecond))

	var claim func(ctx context.Context, v volunteer) (int, error)
	switch o.mode {
	case "http":
		base, stop, err := serve(auth, acts, pii, st)
		if err != nil {
			return err
		}
		defer stop()
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.claims, MaxConnsPerHost: 0}, Timeout: time.Minute}
		url := fmt.Sprintf("%s/api/v1/activities/%d/claims", base, activity.ID)
		warmUp(ctx, client, base, vols)
		claim = func(ctx context.Context, v volunteer) (int, error) { return postClaim(ctx, client, url, v.token) }
	case "service":
		claim = func(ctx context.Context, v volunteer) (int, error) {
			_, err := acts.Claim(ctx, v.principal, nil, activity.ID)
			return statusOf(err), nil
		}
	}

	res := storm(ctx, vols, claim)
	inv, err := checkInvariant(ctx, st.DB, activity.ID, o)
	if err != nil {
		return err
	}
	fmt.Printf("BENCH name=claim_storm mode=%s claims=%d places=%d waitlist=%v mysql_conns=%d settle_ms=%.1f claims_per_s=%.0f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f created=%d conflicts=%d errors=%d %s\n",
		o.mode, o.claims, o.places, o.waitlist, o.conns, ms(res.settle), float64(o.claims)/res.settle.Seconds(),
		ms(res.percentile(50)), ms(res.percentile(99)), ms(res.percentile(100)), res.status[http.StatusCreated],
		res.status[http.StatusConflict], res.errors, inv)
	if !strings.HasSuffix(inv, "invariant=ok") {
		return errors.New("invariant violated")
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// openPrivateStore creates and migrates a database of its own and picks a
// Redis prefix of its own; cleanup drops both.
func openPrivateStore(ctx context.Context, o options) (*store.Store, func(), error) {
	suffix := make([]byte, 5)
	_, _ = rand.Read(suffix)
	name := "jdl_storm_" + hex.EncodeToString(suffix)
	dsn, err := benchkit.FreshDatabase(ctx, o.mysqlDSN, name)
	if err != nil {
		return nil, nil, fmt.Errorf("create database: %w", err)
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	st, err := store.Open(store.Options{
		DSN: dsn, MaxOpenConns: o.conns, MaxIdleConns: o.conns, ConnMaxLifetime: 5 * time.Minute,
		RedisAddr: o.redisAddr, RedisPoolSize: 64, KeyPrefix: name + ":", Loc: loc,
	})
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := st.Keys.DeleteAll(ctx, st.Redis); err != nil {
			fmt.Fprintln(os.Stderr, "claimstorm: delete keys:", err)
		}
		_ = st.Close()
		if !o.keep {
			if err := benchkit.DropDatabase(ctx, o.mysqlDSN, name); err != nil {
				fmt.Fprintln(os.Stderr, "claimstorm: drop database:", err)
			}
		}
	}
	if err := store.Migrate(ctx, st.DB, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		cleanup()
		return nil, nil, err
	}
	return st, cleanup, nil
}

// codeLogin is a WeChat stand-in: login code C is openid storm_C.
type codeLogin struct{}

func (codeLogin) Code2Session(_ context.Context, code string) (model.WeChatSession, error) {
	return model.WeChatSession{OpenID: "storm_" + code}, nil
}

func (codeLogin) PhoneNumber(context.Context, string) (string, error) {
	return "", model.Errorf(model.CodeUnavailable, "not in the storm")
}

type volunteer struct {
	token     string
	principal model.Principal
}

// registerVolunteers logs n users in and registers each as a volunteer.
func registerVolunteers(ctx context.Context, auth *service.Auth, acts *service.Activities, n int) ([]volunteer, error) {
	vols := make([]volunteer, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			login, err := auth.Login(ctx, "127.0.0.1", fmt.Sprintf("v%05d", i))
			if err != nil {
				errs <- err
				return
			}
			p, err := auth.Authenticate(ctx, login.Token)
			if err != nil {
				errs <- err
				return
			}
			reg, err := acts.RegisterVolunteer(ctx, p, service.VolunteerInput{RealName: "志愿者", Phone: fmt.Sprintf("138%08d", i)})
			if err != nil {
				errs <- err
				return
			}
			if p, err = auth.Authenticate(ctx, reg.Token); err != nil {
				errs <- err
				return
			}
			vols[i] = volunteer{token: reg.Token, principal: p}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("register volunteers: %w", err)
	}
	return vols, nil
}

// serve runs the API on a spare loopback port.
func serve(auth *service.Auth, acts *service.Activities, pii *service.PII, st *store.Store) (string, func(), error) {
	srv := api.New(api.Deps{
		Auth: auth, Activities: acts, PII: pii, Health: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry: prometheus.NewRegistry(), MaxBodyBytes: 1 << 20,
	})
	h, err := srv.Handler()
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = hs.Close() }, nil
}

// warmUp opens one keep-alive connection per volunteer (GET /healthz), so
// the storm measures claims, not TCP handshakes.
func warmUp(ctx context.Context, client *http.Client, base string, vols []volunteer) {
	var wg sync.WaitGroup
	for range vols {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
			if resp, err := client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
}

func postClaim(ctx context.Context, client *http.Client, url, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// statusOf maps a service error to the HTTP status the API would give.
func statusOf(err error) int {
	switch model.ErrorCode(err) {
	case "":
		return http.StatusCreated
	case model.CodeConflict, model.CodeFailedPrecondition:
		return http.StatusConflict
	case model.CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

type stormResult struct {
	settle    time.Duration
	latencies []time.Duration
	status    map[int]int
	errors    int
}

func (r stormResult) percentile(p float64) time.Duration { return benchkit.Percentile(r.latencies, p) }

// storm releases every claim at once and waits for all replies.
func storm(ctx context.Context, vols []volunteer, claim func(context.Context, volunteer) (int, error)) stormResult {
	lat := make([]time.Duration, len(vols))
	codes := make([]int, len(vols))
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for i, v := range vols {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			t := time.Now()
			code, err := claim(ctx, v)
			lat[i] = time.Since(t)
			if err != nil {
				code = -1
			}
			codes[i] = code
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(gate)
	done.Wait()
	res := stormResult{settle: time.Since(t0), latencies: lat, status: map[int]int{}}
	for _, c := range codes {
		res.status[c]++
		if c != http.StatusCreated && c != http.StatusConflict {
			res.errors++
		}
	}
	sort.Slice(res.latencies, func(i, j int) bool { return res.latencies[i] < res.latencies[j] })
	return res
}

// checkInvariant reads the truth back from MySQL: confirmed = places, no
// volunteer twice, the counter equal to the rows, the waitlist complete.
func checkInvariant(ctx context.Context, db *sql.DB, activityID int64, o options) (string, error) {
	var counter, confirmed, waitlisted, rows, distinct int
	if err := db.QueryRowContext(ctx, `SELECT confirmed FROM activities WHERE id = ?`, activityID).Scan(&counter); err != nil {
		return "", err
	}
	if err := db.QueryRowContext(ctx, `
		SELECT COALESCE(SUM(status = 'confirmed'), 0), COALESCE(SUM(status = 'waitlisted'), 0), COUNT(*), COUNT(DISTINCT volunteer_id)
		FROM activity_claims WHERE activity_id = ?`, activityID).Scan(&confirmed, &waitlisted, &rows, &distinct); err != nil {
		return "", err
	}
	wantWaitlisted := 0
	if o.waitlist {
		wantWaitlisted = o.claims - o.places
	}
	ok := counter == o.places && confirmed == o.places && rows == distinct && waitlisted == wantWaitlisted
	verdict := "ok"
	if !ok {
		verdict = "VIOLATED"
	}
	return fmt.Sprintf("confirmed=%d counter=%d waitlisted=%d claim_rows=%d distinct_volunteers=%d invariant=%s",
		confirmed, counter, waitlisted, rows, distinct, verdict), nil
}
