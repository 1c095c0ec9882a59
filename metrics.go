package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"jindalai/service"
)

// registerSubmitBatchMetrics exports the submit group commit's counters:
// how many batch transactions ran, how many submits they wrote, how many
// fell back to single submits, and the time spent in them — the mean batch
// size and transaction time are their ratios.
func registerSubmitBatchMetrics(reg prometheus.Registerer, requests *service.Requests) {
	counter := func(name, help string, v func(service.SubmitBatchStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "jindalai_submit_batch_" + name, Help: help},
			func() float64 { return v(requests.SubmitBatchStats()) })
	}
	reg.MustRegister(
		counter("transactions_total", "Submit batch transactions committed (two or more submits each).",
			func(s service.SubmitBatchStats) float64 { return float64(s.Batches) }),
		counter("submits_total", "Submits written by batch transactions.",
			func(s service.SubmitBatchStats) float64 { return float64(s.Submits) }),
		counter("fallbacks_total", "Batches that failed and whose submits were written one by one.",
			func(s service.SubmitBatchStats) float64 { return float64(s.Fallbacks) }),
		counter("write_seconds_total", "Time spent in batch transactions, from the first statement to the commit's reply.",
			func(s service.SubmitBatchStats) float64 { return s.WriteTime.Seconds() }),
	)
}
