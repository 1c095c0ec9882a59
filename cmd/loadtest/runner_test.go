package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// A paired measurement alternates the two sides ABBA (B: the baseline, S:
// the scenario), each stretch timed on its own, and adds up each side's
// stretches: its rate is all of its operations over the time they were
// measured in.
func TestRunPairedAlternatesAndAddsUp(t *testing.T) {
	var mu sync.Mutex
	var order []string
	side := func(name string, pause time.Duration) op {
		return func(ctx context.Context, w, i int) error {
			if i == 0 {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
			}
			time.Sleep(pause)
			return nil
		}
	}
	p := plan{Concurrency: 2, Duration: 200 * time.Millisecond}
	mine, theirs := runPaired(context.Background(), "submit", p, side("S", time.Millisecond),
		"mysql_write_with_submit", plan{Concurrency: 2}, side("B", 2*time.Millisecond), procs{})
	// Every stretch starts one operation per worker first (two per side).
	want := strings.Repeat("BBSSSSBB", pairedSlices/2)
	if got := strings.Join(order, ""); got != want {
		t.Fatalf("stretches ran in the order %s, want %s (ABBA)", got, want)
	}
	for _, r := range []result{mine, theirs} {
		if r.Errors != 0 || r.N == 0 {
			t.Fatalf("%s: %d operations, %d errors", r.Name, r.N, r.Errors)
		}
		if want := pairedSlices * pairedStretch(p); r.Elapsed < want || r.Elapsed > 2*want {
			t.Fatalf("%s measured for %v, want about %v (%d stretches)", r.Name, r.Elapsed, want, pairedSlices)
		}
		if got := float64(r.N) / r.Elapsed.Seconds(); got != r.RPS {
			t.Fatalf("%s: rate %.0f, want N/Elapsed %.0f", r.Name, r.RPS, got)
		}
	}
	// The side that takes half as long per operation does about twice as many.
	if ratio := mine.RPS / theirs.RPS; ratio < 1.3 || ratio > 3 {
		t.Fatalf("rates %.0f and %.0f: ratio %.2f, want about 2", mine.RPS, theirs.RPS, ratio)
	}
}

// summarize merges the stretches' latencies before taking percentiles and
// keeps at most five first errors in all.
func TestSummarizeMergesStretches(t *testing.T) {
	ms := []measurement{
		{lats: []time.Duration{1, 2, 3}, elapsed: time.Second, errors: 1, firstErrors: []string{"a", "b", "c"}},
		{lats: []time.Duration{100, 200}, elapsed: time.Second, errors: 2, firstErrors: []string{"d", "e", "f"}},
	}
	r := summarize("x", 4, ms...)
	if r.N != 5 || r.Errors != 3 || r.Elapsed != 2*time.Second || r.RPS != 2.5 {
		t.Fatalf("got N=%d errors=%d elapsed=%v rps=%v, want 5, 3, 2s, 2.5", r.N, r.Errors, r.Elapsed, r.RPS)
	}
	if r.Max != 200 || r.P50 != 3 {
		t.Fatalf("got p50 %v max %v, want 3 and 200", r.P50, r.Max)
	}
	if got := strings.Join(r.FirstErrors, ""); got != "abcde" {
		t.Fatalf("first errors %q, want abcde", got)
	}
}

// Each side's first stretch gets the whole warm-up, its later ones the
// short re-warm-up: the scenario has not run before its first stretch.
func TestPairedStretchesWarmEachSide(t *testing.T) {
	got := pairedStretches(plan{Warmup: time.Second, Duration: 8 * time.Second})
	var order []string
	for i, st := range got {
		side := "S"
		if st.baseline {
			side = "B"
		}
		order = append(order, side)
		want := pairedRewarm
		if i < 2 {
			want = time.Second
		}
		if st.warmup != want {
			t.Errorf("stretch %d (%s): warm-up %v, want %v", i, side, st.warmup, want)
		}
	}
	if got, want := strings.Join(order, ""), strings.Repeat("BSSB", pairedSlices/2); got != want {
		t.Fatalf("order %s, want %s", got, want)
	}
	if short := pairedStretches(plan{Warmup: 100 * time.Millisecond, Duration: time.Second}); short[2].warmup != 100*time.Millisecond {
		t.Fatalf("a re-warm-up longer than the warm-up: %v", short[2].warmup)
	}
}

// A paired scenario's baseline is a scenario of the run that needs no
// route and has no check of its own: runPaired measures it without either.
func TestPairedScenariosHaveUsableBaselines(t *testing.T) {
	paired := 0
	for _, sc := range scenarios() {
		if !sc.paired {
			continue
		}
		paired++
		bs, ok := scenarioNamed(sc.baseline)
		if !ok || len(bs.needs) > 0 || bs.verify != nil || bs.baseline != "" {
			t.Errorf("%s is paired with %q: found %v, needs %v, a check %v, a baseline %q", sc.name, sc.baseline, ok, bs.needs, bs.verify != nil, bs.baseline)
		}
	}
	if paired == 0 {
		t.Fatal("no paired scenario: submit's target is measured paired")
	}
}
