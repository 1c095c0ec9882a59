// Command dispatchbench measures submit, accept and the queue read of the
// requests service in-process over real MySQL and Redis (the servers named
// by JINDALAI_TEST_MYSQL_DSN and JINDALAI_TEST_REDIS_ADDR). It creates the
// database jdl_dispatchbench and uses the Redis key prefix "dpb:", loads a
// small city with staff, then prints BENCH lines:
//
//	raw      one transaction inserting one row (the minimal durable write)
//	submit_single  Requests.Submit with an Idempotency-Key, batching off
//	         (rate limit, match, one transaction, one pipelined Redis round
//	         trip per submit)
//	submit_batch   the same with group commit on (concurrent submits share
//	         one transaction and one Redis pipeline; -batch_* flags)
//	queue    Requests.Queue, first page of 20, with -open requests in one
//	         station (Redis ids + one MySQL IN query), and the MySQL path
//	accept   Requests.Accept draining those open requests
//
// raw and both submits run with the same concurrency against the same
// server, in alternating rounds so all see the same background load; the
// ratios are of their totals. With -mysql_pid and -redis_pid it also reports the CPU time
// per operation of this process and of both servers (a load-independent
// view of the cost), e.g.
//
//	eval "$(deploy/stack.sh env)"
//	go run ./cmd/dispatchbench -mysql_pid "$(pgrep -x mariadbd)" -redis_pid "$(pgrep -f 'redis-server 127.0.0.1:16379')"
//
// It drops the database and deletes its keys at the end (unless -keep).
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"jindalai/cmd/internal/benchkit"
	"jindalai/model"
	"jindalai/service"
	"jindalai/store"
)

const (
	centerLat = 42.905
	centerLng = 129.509
)

var (
	dbName    = "jdl_dispatchbench"
	keyPrefix = "dpb:"
	batchCfg  service.RequestsConfig
)

func main() {
	n := flag.Int("n", 4000, "operations per raw and submit phase")
	concurrency := flag.Int("concurrency", 32, "concurrent residents (and raw writers)")
	open := flag.Int("open", 1000, "open requests in the queue station")
	conns := flag.Int("conns", 40, "MySQL connection pool size (the config default)")
	keep := flag.Bool("keep", false, "keep the database and keys afterwards")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the submit phase to this file")
	flag.IntVar(&mysqlPID, "mysql_pid", 0, "pid of the MySQL server, to report its CPU time per operation")
	flag.IntVar(&redisPID, "redis_pid", 0, "pid of the Redis server, to report its CPU time per operation")
	flag.StringVar(&dbName, "db", dbName, "database to create (and drop) for the run")
	flag.StringVar(&keyPrefix, "prefix", keyPrefix, "Redis key prefix of the run")
	flag.IntVar(&batchCfg.SubmitBatchMax, "batch_max", 64, "largest submit batch (group commit)")
	flag.IntVar(&batchCfg.SubmitBatchesInFlight, "batch_inflight", 1, "batch transactions running at once")
	flag.IntVar(&rounds, "rounds", rounds, "alternating rounds of raw, single and batched submits (n is split among them)")
	flag.DurationVar(&batchCfg.SubmitBatchWindow, "batch_window", 0, "longest a batch waits for submits under way")
	flag.Parse()
	profile = *cpuprofile
	if err := run(*n, *concurrency, *open, *conns, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "dispatchbench:", err)
		os.Exit(1)
	}
}

type bench struct {
	st       *store.Store
	svc      *service.Requests
	batched  *service.Requests
	stations *service.Stations
	codes    []string
	queueSt  int64
	parentSt int64
}

func run(n, concurrency, open, conns int, keep bool) error {
	dsn, addr := os.Getenv("JINDALAI_TEST_MYSQL_DSN"), os.Getenv("JINDALAI_TEST_REDIS_ADDR")
	if dsn == "" || addr == "" {
		return fmt.Errorf("set JINDALAI_TEST_MYSQL_DSN and JINDALAI_TEST_REDIS_ADDR (eval \"$(deploy/stack.sh env)\")")
	}
	ctx := context.Background()
	dbDSN, err := benchkit.FreshDatabase(ctx, dsn, dbName)
	if err != nil {
		return err
	}
	st, err := store.Open(store.Options{DSN: dbDSN, MaxOpenConns: conns, MaxIdleConns: conns,
		ConnMaxLifetime: 5 * time.Minute, RedisAddr: addr, RedisPoolSize: 64, KeyPrefix: keyPrefix, Loc: time.UTC})
	if err != nil {
		return err
	}
	defer st.Close()
	if !keep {
		defer cleanup(dsn, st)
	}
	if err := st.Keys.DeleteAll(ctx, st.Redis); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := store.Migrate(ctx, st.DB, log); err != nil {
		return err
	}
	if _, err := st.DB.ExecContext(ctx, `CREATE TABLE bench_raw (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
		user_id BIGINT UNSIGNED NOT NULL, note VARCHAR(200) NOT NULL, created_at DATETIME(3) NOT NULL, PRIMARY KEY (id))
		ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`); err != nil {
		return err
	}
	b := &bench{st: st}
	if err := b.loadCity(ctx, log); err != nil {
		return err
	}
	pii, err := service.NewPII([]byte("dispatchbench-only-pii-key-32byt"))
	if err != nil {
		return err
	}
	rcfg := service.RequestsConfig{AcceptByUrgent: 30 * time.Minute, AcceptByNormal: 4 * time.Hour, MaxBounces: 3,
		AutoCloseAfter: 7 * 24 * time.Hour, SubmitPerMinuteUser: 1000000, SubmitBatchMax: 1}
	b.svc = service.NewRequests(timedStore{st}, timedDirectory{b.stations}, st.NewRateLimiter(), pii, rcfg, time.UTC, log)
	rcfg.SubmitBatchMax, rcfg.SubmitBatchesInFlight, rcfg.SubmitBatchWindow = batchCfg.SubmitBatchMax, batchCfg.SubmitBatchesInFlight, batchCfg.SubmitBatchWindow
	b.batched = service.NewRequests(timedStore{st}, timedDirectory{b.stations}, st.NewRateLimiter(), pii, rcfg, time.UTC, log)
	if _, err := b.svc.Reconcile(ctx); err != nil {
		return err
	}
	// The queue lengths matching weighs, read as the server reads them
	// (benchkit.MatchConfig).
	loops, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	go b.stations.QueueLengthsLoop(loops)
	fmt.Fprintf(os.Stderr, "dispatchbench: GOMAXPROCS-visible CPUs shared by client and servers; n=%d concurrency=%d\n", n, concurrency)

	single := func(ctx context.Context, i int) error { return b.submit(ctx, b.svc, i) }
	batched := func(ctx context.Context, i int) error { return b.submit(ctx, b.batched, i) }
	// Warm pools, the matcher's in-process copy and the statement paths.
	for _, fn := range []func(context.Context, int) error{b.raw, single, batched} {
		if _, err := measure(200, concurrency, fn); err != nil {
			return err
		}
	}
	printPhases()
	// Alternate the rounds so all three see the same neighbours' load.
	var raw, sub, bat []result
	for round := 0; round < rounds; round++ {
		r, err := measure(n/rounds, concurrency, b.raw)
		if err != nil {
			return err
		}
		raw = append(raw, r)
		if r, err = measure(n/rounds, concurrency, single); err != nil {
			return err
		}
		sub = append(sub, r)
		if profile != "" && round == 0 {
			f, err := os.Create(profile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
		}
		r, err = measure(n/rounds, concurrency, batched)
		if profile != "" && round == 0 {
			pprof.StopCPUProfile()
		}
		if err != nil {
			return err
		}
		bat = append(bat, r)
	}
	printPhases()
	rawAll, subAll, batAll := merge(raw), merge(sub), merge(bat)
	rawAll.print("raw_insert_tx", concurrency, fmt.Sprintf("rounds=%d", rounds))
	subAll.print("submit_single", concurrency, fmt.Sprintf("rounds=%d with_idempotency_key", rounds))
	bs := b.batched.SubmitBatchStats()
	batAll.print("submit_batch", concurrency, fmt.Sprintf("rounds=%d with_idempotency_key batch_max=%d inflight=%d window=%s mean_batch=%.1f largest=%d fallbacks=%d",
		rounds, batchCfg.SubmitBatchMax, batchCfg.SubmitBatchesInFlight, batchCfg.SubmitBatchWindow,
		float64(bs.Submits)/float64(max(1, bs.Batches)), bs.Largest, bs.Fallbacks))
	for i := range raw {
		fmt.Printf("ROUND %d raw_rps=%.0f single_rps=%.0f batch_rps=%.0f ratio_single=%.2f ratio_batch=%.2f\n", i+1,
			raw[i].rate, sub[i].rate, bat[i].rate, sub[i].rate/raw[i].rate, bat[i].rate/raw[i].rate)
	}
	ratios := make([]float64, len(raw))
	for i := range raw {
		ratios[i] = bat[i].rate / raw[i].rate
	}
	sort.Float64s(ratios)
	fmt.Printf("BENCH name=submit_batch_vs_raw_rounds median_ratio=%.2f min_ratio=%.2f max_ratio=%.2f\n",
		ratios[len(ratios)/2], ratios[0], ratios[len(ratios)-1])
	fmt.Printf("BENCH name=submit_vs_raw ratio_single=%.2f ratio_batch=%.2f single_rps=%.0f batch_rps=%.0f raw_rps=%.0f batch_p50_ms=%.2f batch_p99_ms=%.2f\n",
		subAll.rate/rawAll.rate, batAll.rate/rawAll.rate, subAll.rate, batAll.rate, rawAll.rate,
		float64(batAll.p50.Microseconds())/1000, float64(batAll.p99.Microseconds())/1000)
	if total := func(r result) time.Duration { return r.cpuSelf + r.cpuMySQL + r.cpuRedis }; mysqlPID != 0 && total(subAll) > 0 && total(batAll) > 0 {
		perOp := func(r result) float64 { return float64(total(r)) / float64(r.n) }
		fmt.Printf("BENCH name=submit_vs_raw_cpu ratio_single=%.2f ratio_batch=%.2f (CPU per raw op / CPU per submit, client+mysql+redis: what the rates would be on a dedicated CPU-bound machine)\n",
			perOp(rawAll)/perOp(subAll), perOp(rawAll)/perOp(batAll))
	}

	ids, err := b.fillQueue(ctx, open, concurrency)
	if err != nil {
		return err
	}
	worker := model.Principal{UserID: 1, Roles: []model.Role{{Role: model.RoleSocialWorker, StationID: b.queueSt}}}
	parentAdmin := model.Principal{UserID: 2, Roles: []model.Role{{Role: model.RoleStationAdmin, StationID: b.parentSt}}}
	for _, c := range []struct {
		name string
		p    model.Principal
	}{{"queue_redis", worker}, {"queue_mysql_subtree", parentAdmin}} {
		res, err := measure(2000, 8, func(ctx context.Context, i int) error {
			q, err := b.svc.Queue(ctx, c.p, model.Page{Limit: 20})
			if err == nil && len(q.Items) != 20 {
				err = fmt.Errorf("%s: %d items", c.name, len(q.Items))
			}
			return err
		})
		if err != nil {
			return err
		}
		res.print(c.name, 8, fmt.Sprintf("open=%d limit=20", len(ids)))
	}
	acc, err := measure(len(ids), concurrency, func(ctx context.Context, i int) error {
		w := model.Principal{UserID: int64(1000 + i%concurrency), Roles: worker.Roles}
		_, err := b.svc.Accept(ctx, w, ids[i])
		return err
	})
	if err != nil {
		return err
	}
	acc.print("accept", concurrency, fmt.Sprintf("open=%d", len(ids)))
	return nil
}

var (
	seq                atomic.Int64
	profile            string
	mysqlPID, redisPID int
)

func (b *bench) raw(ctx context.Context, i int) error {
	tx, err := b.st.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO bench_raw (user_id, note, created_at) VALUES (?, ?, ?)`,
		i%32+1, "家中老人独居，希望社工上门探访", time.Now().UTC()); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (b *bench) submit(ctx context.Context, svc *service.Requests, i int) error {
	r := rand.New(rand.NewPCG(uint64(i), 99))
	d := 8 * math.Sqrt(r.Float64())
	a := 2 * math.Pi * r.Float64()
	lat := centerLat + d*math.Cos(a)/111.2
	lng := centerLng + d*math.Sin(a)/(111.2*math.Cos(centerLat*math.Pi/180))
	user := int64(100 + i%32)
	key := "k" + strconv.FormatInt(seq.Add(1), 10)
	idem := &model.Idempotency{UserID: user, Key: key, Scope: "requests.create", Fingerprint: sha256.Sum256([]byte(key))}
	_, err := svc.Submit(ctx, model.Principal{UserID: user}, service.SubmitInput{
		Category: b.codes[r.IntN(len(b.codes))], Description: "家中老人独居，行动不便，希望社工上门探访", Address: "延吉市",
		Lat: &lat, Lng: &lng, ContactPhone: "13812345678"}, idem)
	return err
}

// fillQueue submits open requests at the isolated queue station.
func (b *bench) fillQueue(ctx context.Context, open, concurrency int) ([]int64, error) {
	ids := make([]int64, open)
	_, err := measure(open, concurrency, func(ctx context.Context, i int) error {
		lat, lng := centerLat+0.5, centerLng+0.5
		u := model.UrgencyNormal
		if i%10 == 0 {
			u = model.UrgencyUrgent
		}
		r, err := b.svc.Submit(ctx, model.Principal{UserID: int64(5000 + i)}, service.SubmitInput{Category: b.codes[0],
			Description: "排队压测", Lat: &lat, Lng: &lng, Urgency: u}, nil)
		if err == nil && r.Station.ID != b.queueSt {
			err = fmt.Errorf("queue request went to station %d", r.Station.ID)
		}
		ids[i] = r.ID
		return err
	})
	return ids, err
}

// loadCity creates a city station, 6 street stations with 4 points each,
// an isolated street+point pair far out for the queue benchmark, and three
// staff (two workers, one admin) per station so dispatch notifications fan out.
func (b *bench) loadCity(ctx context.Context, log *slog.Logger) error {
	areas := []string{model.AreaSocialAssistance, model.AreaElderCare, model.AreaChildWelfare, model.AreaCommunityGovernance, model.AreaSocialAffairs}
	for i := 0; i < 5; i++ {
		code := "svc_" + strconv.Itoa(i)
		if _, err := b.st.CreateCategory(ctx, nil, model.Category{Code: code, Name: "服务" + strconv.Itoa(i), Area: areas[i], Active: true}); err != nil {
			return err
		}
		b.codes = append(b.codes, code)
	}
	mk := func(name string, level int, parent int64, lat, lng float64, radius int) (int64, error) {
		s := model.Station{Name: name, Level: level, Lat: lat, Lng: lng, RadiusM: radius, Categories: b.codes}
		if parent != 0 {
			s.ParentID = &parent
		}
		out, err := b.st.CreateStation(ctx, nil, s)
		return out.ID, err
	}
	city, err := mk("总站", model.LevelCity, 0, centerLat, centerLng, 100000)
	if err != nil {
		return err
	}
	all := []int64{city}
	for i := 0; i < 6; i++ {
		a := float64(i) * math.Pi / 3
		lat, lng := centerLat+0.03*math.Cos(a), centerLng+0.04*math.Sin(a)
		street, err := mk("街道"+strconv.Itoa(i), model.LevelStreet, city, lat, lng, 6000)
		if err != nil {
			return err
		}
		all = append(all, street)
		for j := 0; j < 4; j++ {
			pt, err := mk(fmt.Sprintf("社工点%d-%d", i, j), model.LevelVillage, street, lat+0.01*float64(j-2), lng+0.01, 2500)
			if err != nil {
				return err
			}
			all = append(all, pt)
		}
	}
	if b.parentSt, err = mk("远郊镇", model.LevelStreet, city, centerLat+0.45, centerLng+0.45, 3000); err != nil {
		return err
	}
	if b.queueSt, err = mk("远郊村", model.LevelVillage, b.parentSt, centerLat+0.5, centerLng+0.5, 3000); err != nil {
		return err
	}
	all = append(all, b.parentSt, b.queueSt)
	for i, id := range all {
		for k, role := range []model.RoleName{model.RoleSocialWorker, model.RoleSocialWorker, model.RoleStationAdmin} {
			u, err := b.st.UpsertUserByOpenID(ctx, fmt.Sprintf("staff_%d_%d", i, k), "")
			if err != nil {
				return err
			}
			if err := b.st.GrantRole(ctx, u.ID, model.Role{Role: role, StationID: id}); err != nil {
				return err
			}
		}
	}
	for i := 0; i < 5; i++ {
		if _, err := b.st.CreateOrganization(ctx, nil, model.Organization{Name: "组织" + strconv.Itoa(i), Active: true,
			Lat: centerLat + 0.01*float64(i), Lng: centerLng, Categories: b.codes}); err != nil {
			return err
		}
	}
	b.stations = service.NewStations(b.st, b.st, benchkit.MatchConfig(), time.UTC, log)
	return b.stations.Reconcile(ctx)
}

func cleanup(adminDSN string, st *store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.Keys.DeleteAll(ctx, st.Redis); err != nil {
		fmt.Fprintln(os.Stderr, "dispatchbench: delete keys:", err)
	}
	if err := benchkit.DropDatabase(ctx, adminDSN, dbName); err != nil {
		fmt.Fprintln(os.Stderr, "dispatchbench: drop database:", err)
	}
}
