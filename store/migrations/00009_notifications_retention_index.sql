-- +goose Up
-- The retention purge (store/notification_retention.go) deletes finished
-- notifications older than notify.retention_days, 1,000 at a time:
--   DELETE FROM notifications
--   WHERE created_at < ? AND push_state IN ('sent', 'skipped', 'dead')
--   ORDER BY created_at, id LIMIT 1000
-- Without an index on created_at that DELETE walks the primary key (or the
-- whole table) and, at REPEATABLE READ, locks every row it reads: once the
-- old rows are gone each batch would lock the whole table to find nothing.
--
-- (created_at) rather than (push_state, created_at):
-- * One ascending range that already yields rows in the ORDER BY (InnoDB
--   appends the primary key to the index, so it is ordered by created_at,
--   id): the DELETE stops after 1,000 matches with no filesort. On
--   (push_state, created_at) the three finished states are three ranges, so
--   any ORDER BY needs a filesort of every eligible row — on the first run
--   that reads and locks all of them (hundreds of thousands) in one
--   statement; and ORDER BY id needs a filesort on either index.
-- * created_at never changes, so the index is written once per row, at the
--   right-hand end. push_state changes on every delivery step (pending →
--   sending → sent, retries back to pending), and each change would move
--   the row's entry in a (push_state, created_at) index on the sender's
--   hot path.
-- The price: rows older than the retention still in delivery (pending or
-- sending, which a working sender dead-letters within hours) are read and
-- skipped by every batch.
ALTER TABLE notifications ADD KEY ix_notifications_created (created_at);

-- +goose Down
ALTER TABLE notifications DROP KEY ix_notifications_created;
