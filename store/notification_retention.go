package store

import (
	"context"
	"time"

	"jindalai/model"
)

// PurgeNotifications deletes at most limit notifications created before
// before whose delivery is finished (push_state sent, skipped or dead),
// oldest first, and returns how many it deleted. Rows still pending or being
// sent are never deleted, however old: the sender owns them. The retention
// loop calls it until a batch comes back short; one bounded DELETE along
// ix_notifications_created keeps its locks short (see migration 00009).
// Errors: unavailable, internal (also for limit < 1).
func (s *Store) PurgeNotifications(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit < 1 {
		return 0, model.Errorf(model.CodeInternal, "purge needs a positive limit")
	}
	res, err := s.DB.ExecContext(ctx, purgeNotificationsSQL, before.UTC(), limit)
	if err != nil {
		return 0, translate(err, "")
	}
	n, err := res.RowsAffected()
	return n, translate(err, "")
}

// purgeNotificationsSQL deletes up to ? finished notifications created
// before ?, oldest first, along ix_notifications_created.
const purgeNotificationsSQL = `
	DELETE FROM notifications
	WHERE created_at < ? AND push_state IN ('sent', 'skipped', 'dead')
	ORDER BY created_at, id LIMIT ?`
