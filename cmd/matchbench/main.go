// Command matchbench measures the matcher (service.Stations.Match) against
// real MySQL and Redis: it creates the database jdl_matchbench and uses the
// Redis key prefix "mb:" on the servers named by JINDALAI_TEST_MYSQL_DSN and
// JINDALAI_TEST_REDIS_ADDR, loads synthetic stations and organizations
// around Yanji, runs matches at random points with the given concurrency and
// prints one line:
//
//	BENCH name=match stations=… orgs=… n=… concurrency=… p50_ms=… p99_ms=… rps=…
//
// It then drops the database and deletes its keys (unless -keep).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/cmd/internal/benchkit"
	"jindalai/model"
	"jindalai/service"
	"jindalai/store"
)

const (
	dbName    = "jdl_matchbench"
	keyPrefix = "mb:"
	centerLat = 42.905
	centerLng = 129.509
)

func main() {
	stations := flag.Int("stations", 10000, "synthetic stations (one city station, 2% streets, the rest points)")
	orgs := flag.Int("orgs", 5000, "synthetic organizations")
	n := flag.Int("n", 20000, "matches to run")
	concurrency := flag.Int("concurrency", 2, "concurrent matchers")
	spreadKM := flag.Float64("spread_km", 30, "stations, organizations and requests lie within this distance of the centre")
	keep := flag.Bool("keep", false, "keep the database and keys afterwards")
	flag.Parse()
	if err := run(*stations, *orgs, *n, *concurrency, *spreadKM, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "matchbench:", err)
		os.Exit(1)
	}
}

func run(nStations, nOrgs, n, concurrency int, spreadKM float64, keep bool) error {
	dsn, addr := os.Getenv("JINDALAI_TEST_MYSQL_DSN"), os.Getenv("JINDALAI_TEST_REDIS_ADDR")
	if dsn == "" || addr == "" {
		return fmt.Errorf("set JINDALAI_TEST_MYSQL_DSN and JINDALAI_TEST_REDIS_ADDR (eval \"$(deploy/stack.sh env)\")")
	}
	if nStations < 2 || n < 1 || concurrency < 1 {
		return fmt.Errorf("need -stations ≥ 2, -n ≥ 1, -concurrency ≥ 1")
	}
	ctx := context.Background()
	dbDSN, err := benchkit.FreshDatabase(ctx, dsn, dbName)
	if err != nil {
		return err
	}
	st, err := store.Open(store.Options{DSN: dbDSN, MaxOpenConns: 32, MaxIdleConns: 32, ConnMaxLifetime: time.Minute,
		RedisAddr: addr, RedisPoolSize: 64, KeyPrefix: keyPrefix, Loc: time.UTC})
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

	began := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	codes, err := loadCatalogue(ctx, st)
	if err != nil {
		return err
	}
	if err := loadStations(ctx, st, rng, codes, nStations, spreadKM); err != nil {
		return err
	}
	if err := loadOrgs(ctx, st, rng, codes, nOrgs, spreadKM); err != nil {
		return err
	}
	svc := service.NewStations(st, st, benchkit.MatchConfig(), time.UTC, log)
	if err := svc.Reconcile(ctx); err != nil {
		return err
	}
	// The queue lengths come from the loop, as in the server.
	loops, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	go svc.QueueLengthsLoop(loops)
	fmt.Fprintf(os.Stderr, "matchbench: loaded %d stations and %d organizations in %v\n", nStations, nOrgs, time.Since(began).Round(time.Millisecond))

	point := func(r *rand.Rand) model.Point { return randomPoint(r, spreadKM*0.8) }
	for i := 0; i < 500; i++ { // warm the pools and the in-process copy
		if _, err := svc.Match(ctx, point(rng), codes[rng.IntN(len(codes))]); err != nil {
			return err
		}
	}

	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w)+10, 7))
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				p, code := point(r), codes[r.IntN(len(codes))]
				t0 := time.Now()
				res, err := svc.Match(ctx, p, code)
				lat[i] = time.Since(t0)
				if err == nil && len(res.Stations) == 0 {
					err = fmt.Errorf("empty match at %+v", p)
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if e := firstErr.Load(); e != nil {
		return e.(error)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	ms := func(p float64) float64 { return float64(benchkit.Percentile(lat, p).Microseconds()) / 1000 }
	fmt.Printf("BENCH name=match stations=%d orgs=%d n=%d concurrency=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f rps=%.0f\n",
		nStations, nOrgs, n, concurrency, ms(50), ms(90), ms(99), float64(lat[n-1].Microseconds())/1000,
		float64(n)/elapsed.Seconds())
	return nil
}

// randomPoint is uniform over a disc of radius km around the centre.
func randomPoint(r *rand.Rand, km float64) model.Point {
	d := km * math.Sqrt(r.Float64())
	a := 2 * math.Pi * r.Float64()
	return model.Point{
		Lat: centerLat + d*math.Cos(a)/111.2,
		Lng: centerLng + d*math.Sin(a)/(111.2*math.Cos(centerLat*math.Pi/180)),
	}
}

func loadCatalogue(ctx context.Context, st *store.Store) ([]string, error) {
	areas := []string{model.AreaSocialAssistance, model.AreaElderCare, model.AreaChildWelfare, model.AreaCommunityGovernance, model.AreaSocialAffairs}
	var codes []string
	for i := 0; i < 15; i++ {
		code := "svc_" + strconv.Itoa(i)
		if _, err := st.CreateCategory(ctx, nil, model.Category{Code: code, Name: "服务" + strconv.Itoa(i), Area: areas[i%5], Active: true}); err != nil {
			return nil, err
		}
		codes = append(codes, code)
	}
	return codes, nil
}

func pick(r *rand.Rand, codes []string, k int) []string {
	perm := r.Perm(len(codes))
	out := make([]string, k)
	for i := range out {
		out[i] = codes[perm[i]]
	}
	return out
}

// loadStations creates one city station, 2% street stations and points
// under them, in parallel; 5% of the points are closed and 20% have a queue.
func loadStations(ctx context.Context, st *store.Store, rng *rand.Rand, codes []string, n int, spreadKM float64) error {
	city, err := st.CreateStation(ctx, nil, model.Station{Name: "总站", Level: model.LevelCity, Lat: centerLat, Lng: centerLng,
		RadiusM: 100000, Categories: codes})
	if err != nil {
		return err
	}
	streets := max(1, (n-1)/50)
	var parents []int64
	for i := 0; i < streets; i++ {
		p := randomPoint(rng, spreadKM)
		s, err := st.CreateStation(ctx, nil, model.Station{Name: "街道" + strconv.Itoa(i), Level: model.LevelStreet, ParentID: &city.ID,
			Lat: p.Lat, Lng: p.Lng, RadiusM: 8000, Categories: pick(rng, codes, 10)})
		if err != nil {
			return err
		}
		parents = append(parents, s.ID)
	}
	points := n - 1 - streets
	specs := make([]model.Station, points)
	for i := range specs {
		p := randomPoint(rng, spreadKM)
		parent := parents[rng.IntN(len(parents))]
		specs[i] = model.Station{Name: "社工点" + strconv.Itoa(i), Level: model.LevelVillage, ParentID: &parent, Lat: p.Lat, Lng: p.Lng,
			RadiusM: 2500, Categories: pick(rng, codes, 4), Closed: rng.IntN(20) == 0}
	}
	ids := make([]int64, points)
	if err := parallel(points, func(i int) error {
		s, err := st.CreateStation(ctx, nil, specs[i])
		ids[i] = s.ID
		return err
	}); err != nil {
		return err
	}
	pipe := st.Redis.Pipeline()
	for _, id := range ids {
		if rng.IntN(5) == 0 {
			for j := 0; j <= rng.IntN(5); j++ {
				pipe.ZAdd(ctx, st.Keys.StationQueue(id), redis.Z{Score: float64(j), Member: strconv.Itoa(j)})
			}
		}
	}
	_, err = pipe.Exec(ctx)
	return err
}

func loadOrgs(ctx context.Context, st *store.Store, rng *rand.Rand, codes []string, n int, spreadKM float64) error {
	specs := make([]model.Organization, n)
	for i := range specs {
		p := randomPoint(rng, spreadKM)
		specs[i] = model.Organization{Name: "组织" + strconv.Itoa(i), Lat: p.Lat, Lng: p.Lng, Active: rng.IntN(10) != 0,
			Categories: pick(rng, codes, 3)}
	}
	return parallel(n, func(i int) error {
		_, err := st.CreateOrganization(ctx, nil, specs[i])
		return err
	})
}

// parallel runs fn(0..n-1) on 16 goroutines and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || first.Load() != nil {
					return
				}
				if err := fn(i); err != nil {
					first.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if e := first.Load(); e != nil {
		return e.(error)
	}
	return nil
}

func cleanup(adminDSN string, st *store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.Keys.DeleteAll(ctx, st.Redis); err != nil {
		fmt.Fprintln(os.Stderr, "matchbench: delete keys:", err)
	}
	if err := benchkit.DropDatabase(ctx, adminDSN, dbName); err != nil {
		fmt.Fprintln(os.Stderr, "matchbench: drop database:", err)
	}
}
