package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"jindalai/cmd/internal/benchkit"
)

// op is one operation of a scenario, run by worker w as its i-th call. It
// returns nil when the outcome is the expected one.
type op func(ctx context.Context, w, i int) error

// plan says how long a scenario runs: for Duration after Warmup (at most
// Count operations when Count > 0), or, without a Duration, exactly Count
// operations (no warm-up: every operation is measured).
type plan struct {
	Concurrency int
	Warmup      time.Duration
	Duration    time.Duration
	Count       int
}

// result is the measured part of one run.
type result struct {
	Name        string
	Baseline    string
	Concurrency int
	N           int
	Errors      int
	Elapsed     time.Duration
	RPS         float64
	P50, P90    time.Duration
	P99, Max    time.Duration
	FirstErrors []string
	Note        string
	Skipped     string
	// CPU is the CPU microseconds per operation of api/db/redis/client.
	CPU string
}

type sample struct {
	start time.Time
	dur   time.Duration
	err   bool
}

// run drives fn with p.Concurrency workers and returns the figures of the
// operations started after the warm-up. Latencies are exact percentiles of
// the recorded samples.
func run(ctx context.Context, name string, p plan, fn op, meter procs) result {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	begin := time.Now()
	measureFrom := begin.Add(p.Warmup)
	stopAt := measureFrom.Add(p.Duration)
	countOnly := p.Count > 0 && p.Duration == 0
	cpuFrom := make(chan cpuSnap, 1)
	if countOnly {
		cpuFrom <- meter.snap()
	} else {
		time.AfterFunc(p.Warmup, func() { cpuFrom <- meter.snap() })
	}
	var next atomic.Int64
	samples := make([][]sample, p.Concurrency)
	var errMu sync.Mutex
	var firstErrors []string
	var wg sync.WaitGroup
	for w := 0; w < p.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := make([]sample, 0, 4096)
			for i := 0; ; i++ {
				if p.Count > 0 && next.Add(1) > int64(p.Count) {
					break
				}
				if !countOnly && time.Now().After(stopAt) || ctx.Err() != nil {
					break
				}
				t0 := time.Now()
				err := fn(ctx, w, i)
				d := time.Since(t0)
				own = append(own, sample{start: t0, dur: d, err: err != nil})
				if err != nil {
					errMu.Lock()
					if len(firstErrors) < 5 {
						firstErrors = append(firstErrors, err.Error())
					}
					errMu.Unlock()
				}
			}
			samples[w] = own
		}()
	}
	wg.Wait()
	cpuTo := meter.snap()

	res := result{Name: name, Concurrency: p.Concurrency, FirstErrors: firstErrors}
	if countOnly {
		measureFrom = begin
	}
	var lats []time.Duration
	last := measureFrom
	for _, own := range samples {
		for _, s := range own {
			if s.start.Before(measureFrom) {
				continue
			}
			lats = append(lats, s.dur)
			if s.err {
				res.Errors++
			}
			if end := s.start.Add(s.dur); end.After(last) {
				last = end
			}
		}
	}
	res.N = len(lats)
	res.CPU = perOp(<-cpuFrom, cpuTo, res.N)
	res.Elapsed = last.Sub(measureFrom)
	if res.N == 0 || res.Elapsed <= 0 {
		return res
	}
	res.RPS = float64(res.N) / res.Elapsed.Seconds()
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	res.P50 = benchkit.Percentile(lats, 50)
	res.P90 = benchkit.Percentile(lats, 90)
	res.P99 = benchkit.Percentile(lats, 99)
	res.Max = lats[len(lats)-1]
	return res
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
