package store

// PurgeNotificationsSQL is the purge's DELETE, for tests that EXPLAIN it.
const PurgeNotificationsSQL = purgeNotificationsSQL

// PurgeNotificationsCutoff is the DELETE's time argument for a cutoff.
var PurgeNotificationsCutoff = purgeCutoff
