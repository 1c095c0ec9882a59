package service

import "jindalai/model"

// SetSubmitBatchFailure makes every submit batch fail with f's error (nil:
// write it) before it is written.
func SetSubmitBatchFailure(s *Requests, f func([]model.PreparedRequest) error) {
	s.batch.failBatch = f
}

// SubmitBatchIdle reports whether no submit is queued and no batch runs.
func SubmitBatchIdle(s *Requests) bool {
	g := s.batch.group
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pending) == 0 && g.running == 0 && g.live == 0 && g.coming == 0
}

// SubmitBatchQueued returns how many submits wait in the queue.
func SubmitBatchQueued(s *Requests) int {
	g := s.batch.group
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pending)
}
