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

// measurement is what one measured stretch of a scenario recorded.
type measurement struct {
	lats        []time.Duration
	errors      int
	elapsed     time.Duration
	firstErrors []string
	// cpu is the CPU time each process spent while it was measured.
	cpu cpuSnap
}

// run drives fn with p.Concurrency workers and returns the figures of the
// operations started after the warm-up. Latencies are exact percentiles of
// the recorded samples.
func run(ctx context.Context, name string, p plan, fn op, meter procs) result {
	return summarize(name, p.Concurrency, measure(ctx, p, fn, meter))
}

// measure drives fn as run does and returns what it recorded after the
// warm-up.
func measure(ctx context.Context, p plan, fn op, meter procs) measurement {
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
	var m measurement
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
					if len(m.firstErrors) < 5 {
						m.firstErrors = append(m.firstErrors, err.Error())
					}
					errMu.Unlock()
				}
			}
			samples[w] = own
		}()
	}
	wg.Wait()
	cpuTo := meter.snap()
	if countOnly {
		measureFrom = begin
	}
	last := measureFrom
	for _, own := range samples {
		for _, s := range own {
			if s.start.Before(measureFrom) {
				continue
			}
			m.lats = append(m.lats, s.dur)
			if s.err {
				m.errors++
			}
			if end := s.start.Add(s.dur); end.After(last) {
				last = end
			}
		}
	}
	m.elapsed = last.Sub(measureFrom)
	from := <-cpuFrom
	for i := range m.cpu {
		m.cpu[i] = cpuTo[i] - from[i]
	}
	return m
}

// summarize adds up measurements of one scenario: its rate is every
// operation over the time they were measured in.
func summarize(name string, concurrency int, ms ...measurement) result {
	res := result{Name: name, Concurrency: concurrency}
	var lats []time.Duration
	var cpu cpuSnap
	for _, m := range ms {
		lats = append(lats, m.lats...)
		res.Errors += m.errors
		res.Elapsed += m.elapsed
		for i := range cpu {
			cpu[i] += m.cpu[i]
		}
		if n := 5 - len(res.FirstErrors); n > 0 {
			res.FirstErrors = append(res.FirstErrors, m.firstErrors[:min(n, len(m.firstErrors))]...)
		}
	}
	res.N = len(lats)
	res.CPU = perOp(cpu, res.N)
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

// pairedSlices is how many stretches each side of a paired measurement
// gets (even, so that the ABBA order balances a steady drift), and
// pairedRewarm the warm-up of a side's every stretch after its first, and
// pairedLength how many times the plan's duration each side measures in
// all: 8 stretches of a quarter of it, so that the machine's swings of a
// few seconds average out over many short stretches.
const (
	pairedSlices = 8
	pairedRewarm = 250 * time.Millisecond
	pairedLength = 2
)

// pairedStretch is the length of one stretch of a paired measurement of p.
func pairedStretch(p plan) time.Duration { return pairedLength * p.Duration / pairedSlices }

// stretch is one measured stretch of a paired measurement.
type stretch struct {
	baseline bool // the baseline's stretch, else the scenario's
	warmup   time.Duration
}

// pairedStretches is the order of a paired measurement's stretches, each
// pairedStretch(p) long: ABBA, the baseline first (baseline,
// scenario, scenario, baseline, …). Each side's first stretch warms up for
// p.Warmup, its later ones for pairedRewarm (at most p.Warmup).
func pairedStretches(p plan) []stretch {
	var out []stretch
	for k := 0; k < pairedSlices; k++ {
		w := p.Warmup // each side's first stretch is in the first pair
		if k > 0 {
			w = min(p.Warmup, pairedRewarm)
		}
		out = append(out, stretch{baseline: k%2 == 0, warmup: w}, stretch{baseline: k%2 != 0, warmup: w})
	}
	return out
}

// runPaired measures a scenario and its baseline in alternation
// (pairedStretches), so that a machine whose speed drifts during the run
// weighs on both alike: on this shared 2-core machine the raw write's rate
// moves by a fifth within a minute, so a ratio to a baseline taken a minute
// earlier says as much about the drift as about the scenario. Both sides
// run for pairedSlices stretches of pairedStretch(p), each at its own
// concurrency; p must have a Duration and no Count, and bp's timing is not
// used.
func runPaired(ctx context.Context, name string, p plan, fn op, baseName string, bp plan, base op, meter procs) (result, result) {
	var mine, theirs []measurement
	for _, st := range pairedStretches(p) {
		sp := plan{Concurrency: p.Concurrency, Warmup: st.warmup, Duration: pairedStretch(p)}
		if st.baseline {
			sp.Concurrency = bp.Concurrency
			theirs = append(theirs, measure(ctx, sp, base, meter))
		} else {
			mine = append(mine, measure(ctx, sp, fn, meter))
		}
	}
	return summarize(name, p.Concurrency, mine...), summarize(baseName, bp.Concurrency, theirs...)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
