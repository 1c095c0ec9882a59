package store

// PurgeNotificationsSQL is the purge's DELETE, for tests that EXPLAIN it.
const PurgeNotificationsSQL = purgeNotificationsSQL
