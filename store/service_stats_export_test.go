package store

// ServiceStatsSQL is the query of ServiceStats for a list of stations ids
// (0: the whole city), for tests that EXPLAIN it.
func ServiceStatsSQL(stations int) string { return serviceStatsSQL(stations) }
