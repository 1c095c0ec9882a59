// Command loadtest is `make bench`: it seeds a large synthetic city into a
// fresh database, starts `jindalai serve` as a separate process against it,
// drives it over HTTP with many concurrent simulated users, measures the raw
// MySQL and Redis baselines in the same run, prints one table, BENCH lines
// and ratios, and appends the figures to bench/RESULTS.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"jindalai/cmd/internal/benchkit"
	"jindalai/config"
	"jindalai/internal/testbed"
	"jindalai/store"
)

// options are the command-line flags.
type options struct {
	config           string
	bin              string
	db               string
	prefix           string
	addr             string
	fakeAddr         string
	results          string
	serverLog        string
	only             string
	concurrency      int
	warmup           time.Duration
	duration         time.Duration
	claims           int
	places           int
	stormConcurrency int
	city             city
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.config, "config", "deploy/config.dev.yaml", "config of the server under test (DSN and Redis address come from it and JINDALAI_* variables)")
	flag.StringVar(&o.bin, "bin", "bin/jindalai", "the server binary (make build)")
	flag.StringVar(&o.db, "db", "jindalai_bench", "database dropped and recreated for the run")
	flag.StringVar(&o.prefix, "prefix", "bench:", "Redis key prefix of the run (its keys are deleted at start and end)")
	flag.StringVar(&o.addr, "addr", "127.0.0.1:18080", "HTTP address of the server under test")
	flag.StringVar(&o.fakeAddr, "fake-addr", "127.0.0.1:19443", "address of the server's fake WeChat")
	flag.StringVar(&o.results, "results", "bench/RESULTS.md", "file the figures are appended to (empty: none)")
	flag.StringVar(&o.serverLog, "server-log", "bench/server.log.tmp", "file the server's output goes to")
	flag.StringVar(&o.only, "only", "", "comma-separated scenarios to run (default: all)")
	flag.IntVar(&o.concurrency, "concurrency", 32, "simulated users (workers) per scenario")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "warm-up per scenario, excluded from the figures")
	flag.DurationVar(&o.duration, "duration", 8*time.Second, "measured time per scenario")
	flag.IntVar(&o.claims, "claims", 1000, "claims in the claim storm (one per volunteer)")
	flag.IntVar(&o.places, "places", 100, "places of the claim storm's activity (no waitlist)")
	flag.IntVar(&o.stormConcurrency, "storm-concurrency", 200, "volunteers claiming at the same moment in the claim storm")
	flag.IntVar(&o.city.Stations, "stations", 200, "stations in the synthetic city")
	flag.IntVar(&o.city.Orgs, "orgs", 2000, "organizations")
	flag.IntVar(&o.city.Residents, "residents", 10000, "residents")
	flag.IntVar(&o.city.Workers, "workers", 500, "social workers")
	flag.IntVar(&o.city.Volunteers, "volunteers", 2000, "volunteers")
	flag.Parse()
	return o
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadtest: "+format+"\n", args...)
}

func main() {
	o := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := runBench(ctx, o); err != nil {
		logf("FAILED: %v", err)
		os.Exit(1)
	}
}

// bench is the state shared by the scenarios of one run.
type bench struct {
	opts   options
	cfg    config.Config
	st     *store.Store
	http   *client
	city   *city
	routes map[string]bool
	procs  procs

	mu       sync.Mutex
	logins   map[string][]string
	storm    *stormState
	requests requestState
	booked   atomic.Int64
	// queueStation is the station whose queue queue_list reads.
	queueStation int64
}

// plan is the default duration-based plan of the run.
func (b *bench) plan() plan {
	return plan{Concurrency: b.opts.concurrency, Warmup: b.opts.warmup, Duration: b.opts.duration}
}

func runBench(ctx context.Context, o options) error {
	began := time.Now()
	cfg, err := config.Load(o.config, os.Environ())
	if err != nil {
		return err
	}
	if _, err := os.Stat(o.bin); err != nil {
		return fmt.Errorf("%s: %w (run make build)", o.bin, err)
	}
	for _, a := range []string{o.addr, o.fakeAddr} {
		if err := portFree(a); err != nil {
			return err
		}
	}
	logf("concurrency %d, warm-up %v + %v measured per scenario; server %s, database %s, Redis prefix %q",
		o.concurrency, o.warmup, o.duration, o.addr, o.db, o.prefix)

	dsn, err := benchkit.FreshDatabase(ctx, cfg.MySQL.DSN, o.db)
	if err != nil {
		return err
	}
	st, err := store.Open(store.Options{
		DSN: dsn, MaxOpenConns: o.concurrency + 8, MaxIdleConns: o.concurrency + 8, ConnMaxLifetime: time.Hour,
		RedisAddr: cfg.Redis.Addr, RedisPassword: cfg.Redis.Password, RedisDB: cfg.Redis.DB,
		RedisPoolSize: o.concurrency + 8, KeyPrefix: o.prefix, Loc: cfg.Location(),
	})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Keys.DeleteAll(ctx, st.Redis); err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := st.Keys.DeleteAll(cctx, st.Redis); err != nil {
			logf("cleaning Redis prefix %q: %v", o.prefix, err)
		}
	}()
	if err := store.Migrate(ctx, st.DB, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return err
	}
	c := o.city
	if err := seedCity(ctx, st.DB, &c); err != nil {
		return err
	}

	srv, err := startServer(o, cfg, dsn)
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Stop(15 * time.Second); err != nil {
			logf("%v", err)
		}
	}()
	if err := srv.WaitReady("/readyz", 60*time.Second); err != nil {
		return fmt.Errorf("%w (server log: %s)", err, o.serverLog)
	}
	b := &bench{opts: o, cfg: cfg, st: st, http: newClient(srv.URL(), max(o.concurrency, o.stormConcurrency)), city: &c, logins: map[string][]string{}}
	if b.routes, err = serverRoutes(ctx, b.http); err != nil {
		return err
	}
	b.procs = findProcs(ctx, st, srv.PID())

	results, failures := runScenarios(ctx, b)
	m := describeMachine(ctx, st)
	report := buildReport(o, m, &c, results, time.Since(began))
	fmt.Print(report.text)
	if o.results != "" {
		if err := appendResults(o.results, report.markdown); err != nil {
			return err
		}
		logf("figures appended to %s", o.results)
	}
	logf("done in %v", time.Since(began).Round(time.Second))
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	return nil
}

// runScenarios runs every selected scenario in order. A scenario whose
// routes the server lacks is reported as skipped; errors and failed
// verifications are returned as failures.
func runScenarios(ctx context.Context, b *bench) ([]result, []string) {
	only := map[string]bool{}
	for _, n := range strings.Split(b.opts.only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			only[n] = true
		}
	}
	var results []result
	var failures []string
	for _, sc := range scenarios() {
		if len(only) > 0 && !only[sc.name] {
			continue
		}
		if ctx.Err() != nil {
			failures = append(failures, "interrupted")
			break
		}
		if missing := b.missingRoutes(sc.needs); len(missing) > 0 {
			results = append(results, result{Name: sc.name, Baseline: sc.baseline, Skipped: "server lacks " + strings.Join(missing, ", ")})
			logf("%-*s skipped: server lacks %s", nameWidth, sc.name, strings.Join(missing, ", "))
			continue
		}
		fn, p, err := sc.prepare(ctx, b)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: prepare: %v", sc.name, err))
			results = append(results, result{Name: sc.name, Baseline: sc.baseline, Skipped: "prepare failed: " + err.Error()})
			logf("%-*s prepare failed: %v", nameWidth, sc.name, err)
			continue
		}
		var r result
		if sc.paired {
			mine, paired, err := runPairedBaseline(ctx, b, sc, p, fn)
			if err != nil {
				failures = append(failures, fmt.Sprintf("%s: paired %s: %v", sc.name, sc.baseline, err))
				results = append(results, result{Name: sc.name, Baseline: sc.baseline, Skipped: "paired " + sc.baseline + " failed: " + err.Error()})
				logf("%-*s paired %s failed: %v", nameWidth, sc.name, sc.baseline, err)
				continue
			}
			if paired.Errors > 0 {
				failures = append(failures, fmt.Sprintf("%s: %d errors (first: %s)", paired.Name, paired.Errors, strings.Join(paired.FirstErrors, " | ")))
			}
			results = append(results, paired)
			logResult(paired)
			r = mine
		} else {
			r = run(ctx, sc.name, p, fn, b.procs)
			r.Baseline = sc.baseline
		}
		if sc.verify != nil {
			note, err := sc.verify(ctx, b, r)
			r.Note = note
			if err != nil {
				failures = append(failures, fmt.Sprintf("%s: %v", sc.name, err))
				r.Note = "FAILED: " + err.Error()
			}
		}
		if r.Errors > 0 {
			failures = append(failures, fmt.Sprintf("%s: %d errors (first: %s)", sc.name, r.Errors, strings.Join(r.FirstErrors, " | ")))
		}
		logResult(r)
		results = append(results, r)
	}
	return results, failures
}

// nameWidth is the width of the scenario names in the log lines (the
// longest, mysql_write_with_submit).
const nameWidth = 23

func logResult(r result) {
	logf("%-*s %8.0f req/s  p50 %s ms  p99 %s ms  n=%d errors=%d cpu_us/op(api/db/redis/client)=%s %s",
		nameWidth, r.Name, r.RPS, ms(r.P50), ms(r.P99), r.N, r.Errors, r.CPU, r.Note)
}

// runPairedBaseline prepares sc's baseline and measures the two in
// alternation (runPaired); mine's ratio is to paired. Both must be timed
// plans (a Duration, no Count); the baseline needs no route and has no
// check of its own (TestPairedScenariosHaveUsableBaselines).
func runPairedBaseline(ctx context.Context, b *bench, sc scenario, p plan, fn op) (mine, paired result, err error) {
	bs, ok := scenarioNamed(sc.baseline)
	if !ok {
		return mine, paired, fmt.Errorf("no scenario %q", sc.baseline)
	}
	bfn, bp, err := bs.prepare(ctx, b)
	if err != nil {
		return mine, paired, err
	}
	for _, c := range []struct {
		name string
		p    plan
	}{{sc.name, p}, {sc.baseline, bp}} {
		if c.p.Duration <= 0 || c.p.Count > 0 {
			return mine, paired, fmt.Errorf("%s is not a timed plan: it cannot be measured paired", c.name)
		}
	}
	mine, paired = runPaired(ctx, sc.name, p, fn, pairedName(sc.baseline, sc.name), bp, bfn, b.procs)
	paired.Note = fmt.Sprintf("%s measured in alternation with %s: %d stretches of %v each, ordered ABBA", sc.baseline, sc.name, pairedSlices, pairedStretch(p))
	mine.Baseline = paired.Name
	return mine, paired, nil
}

// startServer runs `jindalai serve` on the bench database and prefix with
// loose rate limits and warn-level logs.
func startServer(o options, cfg config.Config, dsn string) (*testbed.Server, error) {
	if err := os.MkdirAll(filepath.Dir(o.serverLog), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.Create(o.serverLog)
	if err != nil {
		return nil, err
	}
	loose := strconv.Itoa(1 << 30)
	return testbed.StartServer(testbed.ServerOptions{
		Bin:    o.bin,
		Config: o.config,
		Log:    logFile,
		Env: map[string]string{
			"JINDALAI_ENV":                           "development",
			"JINDALAI_MYSQL_DSN":                     dsn,
			"JINDALAI_MYSQL_MIGRATE_ON_START":        "false",
			"JINDALAI_REDIS_ADDR":                    cfg.Redis.Addr,
			"JINDALAI_REDIS_KEY_PREFIX":              o.prefix,
			"JINDALAI_HTTP_ADDR":                     o.addr,
			"JINDALAI_WECHAT_FAKE":                   "true",
			"JINDALAI_WECHAT_FAKE_ADDR":              o.fakeAddr,
			"JINDALAI_LOG_LEVEL":                     "warn",
			"JINDALAI_LIMITS_LOGIN_PER_MINUTE_IP":    loose,
			"JINDALAI_LIMITS_INVITE_PER_MINUTE_USER": loose,
			"JINDALAI_LIMITS_SUBMIT_PER_MINUTE_USER": loose,
			"JINDALAI_LIMITS_WRITES_PER_MINUTE_USER": loose,
		},
	})
}

// portFree fails when something already listens on addr (a stale server
// would otherwise be measured).
func portFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s is in use (a server from an earlier run?): %w", addr, err)
	}
	return l.Close()
}

// serverRoutes reads "METHOD /path" of every operation in the server's own
// /openapi.yaml.
func serverRoutes(ctx context.Context, c *client) (map[string]bool, error) {
	r, err := c.expect(ctx, call{method: "GET", path: "/openapi.yaml"}, 200)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(r.body, &doc); err != nil {
		return nil, fmt.Errorf("server openapi.yaml: %w", err)
	}
	out := map[string]bool{}
	for path, ops := range doc.Paths {
		for m := range ops {
			out[strings.ToUpper(m)+" "+path] = true
		}
	}
	return out, nil
}

func (b *bench) missingRoutes(needs []string) []string {
	var missing []string
	for _, n := range needs {
		if !b.routes[n] {
			missing = append(missing, n)
		}
	}
	return missing
}

// login logs in (unmeasured) with a fake wx.login code and returns the token.
func (b *bench) login(ctx context.Context, code string) (string, error) {
	var l struct {
		Token string `json:"token"`
	}
	r, err := b.http.expect(ctx, call{method: "POST", path: "/api/v1/auth/wechat/login", body: map[string]string{"code": code}}, 200)
	if err == nil {
		err = r.decode(&l)
	}
	return l.Token, err
}

// tokens logs in (unmeasured) the first n seeded users of a login-code
// prefix and returns their tokens, in order; results are cached.
func (b *bench) tokens(ctx context.Context, prefix string, n int) ([]string, error) {
	b.mu.Lock()
	have := b.logins[prefix]
	b.mu.Unlock()
	if len(have) >= n {
		return have[:n], nil
	}
	out := make([]string, n)
	copy(out, have)
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < b.opts.concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				tok, err := b.login(ctx, prefix+strconv.Itoa(i))
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					continue
				}
				out[i] = tok
			}
		}()
	}
	for i := len(have); i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("log in %s*: %w", prefix, firstErr)
	}
	b.mu.Lock()
	b.logins[prefix] = out
	b.mu.Unlock()
	return out, nil
}
