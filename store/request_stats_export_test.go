package store

// RequestStatsSQL is the query of RequestStatRows for a list of stations
// ids (0: all stations), for tests that EXPLAIN it.
func RequestStatsSQL(stations int) string { return requestStatsSQL(stations) }
