package store

// SetBatchIDPlan makes CreateRequests build its scripts as for a server
// with multi-row ids step apart (multiRow) or one INSERT per row.
func SetBatchIDPlan(s *Store, multiRow bool, step int64) {
	s.idPlan.Store(&idPlan{multiRow: multiRow, step: step})
}
