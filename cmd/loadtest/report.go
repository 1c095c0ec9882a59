package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"jindalai/store"
)

// machine describes where the figures were taken.
type machine struct {
	CPUs    int
	CPU     string
	Memory  string
	Go      string
	MariaDB string
	Redis   string
}

func describeMachine(ctx context.Context, st *store.Store) machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), CPU: "?", Memory: "?", MariaDB: "?", Redis: "?"}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.CPU = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		var kb int64
		if _, err := fmt.Sscanf(v, "%d", &kb); err == nil {
			m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	_ = st.DB.QueryRowContext(ctx, "SELECT VERSION()").Scan(&m.MariaDB)
	if info, err := st.Redis.Info(ctx, "server").Result(); err == nil {
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
				m.Redis = v
			}
		}
	}
	return m
}

// procField returns the value of the first "name : value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// target is a figure the project aims at on this machine.
type target struct {
	scenario string
	minRatio float64       // of the scenario's baseline rate (0: none)
	maxP99   time.Duration // 0: none
}

var targets = []target{
	{scenario: "submit", minRatio: 0.5, maxP99: 50 * time.Millisecond},
	{scenario: "me", minRatio: 0.5},
}

type report struct{ text, markdown string }

func ratioOf(r result, byName map[string]result) (float64, bool) {
	base, ok := byName[r.Baseline]
	if r.Baseline == "" || !ok || base.RPS == 0 || r.Skipped != "" {
		return 0, false
	}
	return r.RPS / base.RPS, true
}

// ratioText is a ratio to three decimals, cut rather than rounded, so that
// one just under a target never reads as meeting it.
func ratioText(v float64) string {
	return fmt.Sprintf("%.3f", math.Floor(v*1000)/1000)
}

func buildReport(o options, m machine, c *city, results []result, took time.Duration) report {
	byName := map[string]result{}
	for _, r := range results {
		byName[r.Name] = r
	}
	var t, md strings.Builder
	fmt.Fprintf(&t, "\nJindalai bench: %d simulated users (concurrency) per scenario, %v warm-up excluded, %v measured; claim storm: %d claims by %d at once\n",
		o.concurrency, o.warmup, o.duration, o.claims, min(o.claims, o.stormConcurrency))
	fmt.Fprintf(&t, "machine: %d CPUs (%s), %s, %s, MariaDB %s, Redis %s\n", m.CPUs, m.CPU, m.Memory, m.Go, m.MariaDB, m.Redis)
	t.WriteString("cpu_us/op: CPU microseconds per operation spent by the API server / MariaDB / Redis / this load tool\n\n")
	width := len("scenario")
	for _, r := range results {
		width = max(width, len(r.Name), len(r.Baseline))
	}
	fmt.Fprintf(&t, "%-*s %5s %8s %6s %9s %8s %8s %8s %8s  %-*s %6s  %-18s %s\n",
		width, "scenario", "conc", "n", "errors", "req/s", "p50_ms", "p90_ms", "p99_ms", "max_ms", width, "baseline", "ratio", "cpu_us/op", "note")
	var bench []string
	for _, r := range results {
		if r.Skipped != "" {
			fmt.Fprintf(&t, "%-*s %s\n", width, r.Name, "SKIPPED: "+r.Skipped)
			continue
		}
		ratio := "-"
		if v, ok := ratioOf(r, byName); ok {
			ratio = ratioText(v)
		}
		fmt.Fprintf(&t, "%-*s %5d %8d %6d %9.0f %8s %8s %8s %8s  %-*s %6s  %-18s %s\n",
			width, r.Name, r.Concurrency, r.N, r.Errors, r.RPS, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max), width, r.Baseline, ratio, r.CPU, r.Note)
		bench = append(bench, fmt.Sprintf("BENCH name=%s rps=%.0f p50_ms=%s p99_ms=%s n=%d errors=%d concurrency=%d",
			r.Name, r.RPS, ms(r.P50), ms(r.P99), r.N, r.Errors, r.Concurrency))
	}
	t.WriteString("\n")
	for _, line := range bench {
		t.WriteString(line + "\n")
	}
	var ratios []string
	for _, r := range results {
		if v, ok := ratioOf(r, byName); ok {
			ratios = append(ratios, fmt.Sprintf("RATIO %s/%s=%s", r.Name, r.Baseline, ratioText(v)))
		}
	}
	for _, line := range ratios {
		t.WriteString(line + "\n")
	}
	var checks []string
	for _, tg := range targets {
		r, ok := byName[tg.scenario]
		if !ok || r.Skipped != "" {
			continue
		}
		var parts []string
		met, measured := true, true
		if tg.minRatio > 0 {
			if v, ok := ratioOf(r, byName); ok {
				parts = append(parts, fmt.Sprintf("%s/%s %s (≥ %.2f)", r.Name, r.Baseline, ratioText(v), tg.minRatio))
				met = met && v >= tg.minRatio
			} else {
				// The baseline did not run (-only) or was skipped.
				parts = append(parts, fmt.Sprintf("%s/%s not measured (≥ %.2f)", r.Name, r.Baseline, tg.minRatio))
				measured = false
			}
		}
		if tg.maxP99 > 0 {
			parts = append(parts, fmt.Sprintf("p99 %s ms (< %s ms)", ms(r.P99), ms(tg.maxP99)))
			met = met && r.P99 < tg.maxP99
		}
		verdict := "met"
		switch {
		case !met:
			verdict = "MISSED"
		case !measured:
			verdict = "not measured"
		}
		checks = append(checks, fmt.Sprintf("TARGET %s: %s: %s", r.Name, strings.Join(parts, ", "), verdict))
	}
	for _, line := range checks {
		t.WriteString(line + "\n")
	}
	fmt.Fprintf(&t, "took %v\n", took.Round(time.Second))

	fmt.Fprintf(&md, "\n## %s\n\n", time.Now().Format("2006-01-02 15:04:05 -07:00"))
	fmt.Fprintf(&md, "- machine: %d CPUs (%s), %s memory, %s, MariaDB %s, Redis %s\n", m.CPUs, m.CPU, m.Memory, m.Go, m.MariaDB, m.Redis)
	fmt.Fprintf(&md, "- command: `make bench` (loadtest -concurrency %d -warmup %v -duration %v -claims %d -places %d -storm-concurrency %d)\n",
		o.concurrency, o.warmup, o.duration, o.claims, o.places, o.stormConcurrency)
	fmt.Fprintf(&md, "- concurrency: %d simulated users per scenario (client, server, MariaDB and Redis share the machine)\n", o.concurrency)
	fmt.Fprintf(&md, "- city: %s\n", strings.Join(c.Seeded, ", "))
	fmt.Fprintf(&md, "- run took %v\n\n", took.Round(time.Second))
	md.WriteString("| scenario | n | errors | req/s | p50 ms | p90 ms | p99 ms | max ms | baseline | ratio | cpu µs/op api/db/redis/client | note |\n")
	md.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|\n")
	for _, r := range results {
		if r.Skipped != "" {
			fmt.Fprintf(&md, "| %s | | | | | | | | %s | | | skipped: %s |\n", r.Name, r.Baseline, r.Skipped)
			continue
		}
		ratio := ""
		if v, ok := ratioOf(r, byName); ok {
			ratio = ratioText(v)
		}
		fmt.Fprintf(&md, "| %s | %d | %d | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Name, r.N, r.Errors, r.RPS, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max), r.Baseline, ratio, r.CPU, r.Note)
	}
	if len(checks) > 0 {
		md.WriteString("\n")
		for _, line := range checks {
			md.WriteString("- " + line + "\n")
		}
	}
	return report{text: t.String(), markdown: md.String()}
}

const resultsHeader = `# Benchmark results

Appended by ` + "`make bench`" + ` (cmd/loadtest), one section per run, so runs can be
compared. Each scenario's rate is also given as a ratio to its raw baseline
measured in the same run against the same servers (healthz: the API process
doing no work; mysql_write: one durable one-row INSERT transaction;
redis_get / redis_evalsha: one Redis round trip). Latencies are exact
percentiles of every operation started after the warm-up.
`

func appendResults(path, section string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if os.IsNotExist(statErr) {
		if _, err := f.WriteString(resultsHeader); err != nil {
			return err
		}
	}
	_, err = f.WriteString(section)
	return err
}
