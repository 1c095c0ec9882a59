package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"jindalai/cmd/internal/benchkit"
	"jindalai/model"
	"jindalai/service"
	"jindalai/store"
)

// Measurement: rates, latency percentiles, CPU per operation and phase timers.

// rounds is how many alternating rounds of raw, single and batched submits run.
var rounds = 4

type result struct {
	n          int
	elapsed    time.Duration
	rate       float64
	p50, p99   time.Duration
	p90, worst time.Duration
	lat        []time.Duration
	// CPU time spent during the run by this process, the MySQL server and
	// the Redis server (when their pids are given).
	cpuSelf, cpuMySQL, cpuRedis time.Duration
}

// merge combines rounds: total operations over total time, percentiles
// over every latency.
func merge(rs []result) result {
	var out result
	for _, r := range rs {
		out.n += r.n
		out.elapsed += r.elapsed
		out.cpuSelf += r.cpuSelf
		out.cpuMySQL += r.cpuMySQL
		out.cpuRedis += r.cpuRedis
		out.lat = append(out.lat, r.lat...)
	}
	out.rate = float64(out.n) / out.elapsed.Seconds()
	sort.Slice(out.lat, func(i, j int) bool { return out.lat[i] < out.lat[j] })
	out.p50, out.p90, out.p99 = benchkit.Percentile(out.lat, 50), benchkit.Percentile(out.lat, 90), benchkit.Percentile(out.lat, 99)
	out.worst = out.lat[out.n-1]
	return out
}

func (r result) print(name string, concurrency int, extra string) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(r.n) }
	fmt.Printf("BENCH name=%s n=%d concurrency=%d rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f"+
		" cpu_us_per_op_client=%.0f cpu_us_per_op_mysql=%.0f cpu_us_per_op_redis=%.0f %s\n",
		name, r.n, concurrency, r.rate, ms(r.p50), ms(r.p90), ms(r.p99), ms(r.worst), us(r.cpuSelf), us(r.cpuMySQL), us(r.cpuRedis), extra)
}

// measure runs fn(0..n-1) on concurrency goroutines and returns the rate
// and latency percentiles; the first error stops it.
func measure(n, concurrency int, fn func(ctx context.Context, i int) error) (result, error) {
	ctx := context.Background()
	before := cpuNow()
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || first.Load() != nil {
					return
				}
				t0 := time.Now()
				if err := fn(ctx, i); err != nil {
					first.CompareAndSwap(nil, err)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	after := cpuNow()
	if e := first.Load(); e != nil {
		return result{}, e.(error)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration { return benchkit.Percentile(lat, p) }
	return result{n: n, elapsed: elapsed, rate: float64(n) / elapsed.Seconds(), p50: q(50), p90: q(90), p99: q(99), worst: lat[n-1], lat: lat,
		cpuSelf: after[0] - before[0], cpuMySQL: after[1] - before[1], cpuRedis: after[2] - before[2]}, nil
}

// Phase timers (cumulative nanoseconds) to see where a submit spends its time.
var phaseMatch, phaseCreate, phasePlace, phaseCount atomic.Int64

// Batch timers: wall time inside CreateRequests and PlaceNewRequests, and
// the batches and requests they wrote.
var batchTx, batchPlace, batchCount, batchRequests atomic.Int64

func (t timedStore) CreateRequests(ctx context.Context, batch []model.PreparedRequest, commitIf func() error) ([]model.Request, error) {
	t0 := time.Now()
	defer func() { batchTx.Add(int64(time.Since(t0))); batchCount.Add(1); batchRequests.Add(int64(len(batch))) }()
	return t.Store.CreateRequests(ctx, batch, commitIf)
}

func (t timedStore) PlaceNewRequests(ctx context.Context, rs []model.Request) error {
	t0 := time.Now()
	defer func() { batchPlace.Add(int64(time.Since(t0))) }()
	return t.Store.PlaceNewRequests(ctx, rs)
}

type timedStore struct{ *store.Store }

func (t timedStore) CreateRequest(ctx context.Context, idem *model.Idempotency, r model.Request, events []model.RequestEvent, notices []model.RequestNotice) (model.Request, bool, error) {
	t0 := time.Now()
	defer func() { phaseCreate.Add(int64(time.Since(t0))); phaseCount.Add(1) }()
	return t.Store.CreateRequest(ctx, idem, r, events, notices)
}

func (t timedStore) PlaceRequest(ctx context.Context, before *model.Request, after model.Request) error {
	t0 := time.Now()
	defer func() { phasePlace.Add(int64(time.Since(t0))) }()
	return t.Store.PlaceRequest(ctx, before, after)
}

type timedDirectory struct{ *service.Stations }

func (t timedDirectory) Match(ctx context.Context, p model.Point, category string) (model.MatchResult, error) {
	t0 := time.Now()
	defer func() { phaseMatch.Add(int64(time.Since(t0))) }()
	return t.Stations.Match(ctx, p, category)
}

func printPhases() {
	n := float64(max(1, phaseCount.Load())) * 1e6
	fmt.Printf("PHASES submits=%d match_ms=%.2f tx_ms=%.2f redis_place_ms=%.2f (mean per submit)\n", phaseCount.Load(),
		float64(phaseMatch.Load())/n, float64(phaseCreate.Load())/n, float64(phasePlace.Load())/n)
	if b := batchCount.Load(); b > 0 {
		fmt.Printf("BATCHES batches=%d requests=%d tx_ms=%.2f place_ms=%.2f (mean per batch)\n", b, batchRequests.Load(),
			float64(batchTx.Load())/float64(b)/1e6, float64(batchPlace.Load())/float64(b)/1e6)
	}
	batchTx.Store(0)
	batchPlace.Store(0)
	batchCount.Store(0)
	batchRequests.Store(0)
	phaseMatch.Store(0)
	phaseCreate.Store(0)
	phasePlace.Store(0)
	phaseCount.Store(0)
}

// cpuNow returns the CPU time used so far by this process, the MySQL server
// and the Redis server (0 for a pid not given).
func cpuNow() [3]time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return [3]time.Duration{self, benchkit.ProcCPU(mysqlPID), benchkit.ProcCPU(redisPID)}
}
