package main

import (
	"strings"
	"testing"
	"time"
)

// A target's ratio is to its scenario's baseline measured in the same run;
// without that baseline (-only, or skipped) the report says so instead of
// printing a ratio of 0 as missed.
func TestReportTargetRatioNeedsItsBaseline(t *testing.T) {
	o := options{concurrency: 4, warmup: time.Second, duration: time.Second}
	submit := result{Name: "submit", Baseline: "mysql_write", N: 100, RPS: 600, P99: 10 * time.Millisecond}
	for _, c := range []struct {
		name    string
		results []result
		want    string
	}{
		{"baseline measured", []result{{Name: "mysql_write", N: 100, RPS: 1000}, submit},
			"TARGET submit: submit/mysql_write 0.600 (≥ 0.50), p99 10.00 ms (< 50.00 ms): met"},
		{"baseline too fast", []result{{Name: "mysql_write", N: 100, RPS: 2000}, submit},
			"TARGET submit: submit/mysql_write 0.300 (≥ 0.50), p99 10.00 ms (< 50.00 ms): MISSED"},
		{"just under the target", []result{{Name: "mysql_write", N: 100, RPS: 1202}, submit},
			"TARGET submit: submit/mysql_write 0.499 (≥ 0.50), p99 10.00 ms (< 50.00 ms): MISSED"},
		{"a hair under the target", []result{{Name: "mysql_write", N: 100, RPS: 1200.5}, submit},
			"TARGET submit: submit/mysql_write 0.499 (≥ 0.50), p99 10.00 ms (< 50.00 ms): MISSED"},
		{"baseline not run", []result{submit},
			"TARGET submit: submit/mysql_write not measured (≥ 0.50), p99 10.00 ms (< 50.00 ms): not measured"},
		{"baseline skipped", []result{{Name: "mysql_write", Skipped: "prepare failed"}, submit},
			"TARGET submit: submit/mysql_write not measured (≥ 0.50), p99 10.00 ms (< 50.00 ms): not measured"},
		{"baseline not run, p99 missed", []result{{Name: "submit", Baseline: "mysql_write", N: 100, RPS: 600, P99: time.Second}},
			"TARGET submit: submit/mysql_write not measured (≥ 0.50), p99 1000.00 ms (< 50.00 ms): MISSED"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := buildReport(o, machine{}, &city{}, c.results, time.Second)
			if !strings.Contains(rep.text, c.want+"\n") || !strings.Contains(rep.markdown, "- "+c.want+"\n") {
				t.Errorf("want %q in the report:\n%s\n%s", c.want, rep.text, rep.markdown)
			}
			if strings.Contains(c.want, "not measured") && strings.Contains(rep.text, "RATIO") {
				t.Errorf("a RATIO line without its baseline:\n%s", rep.text)
			}
		})
	}
}
