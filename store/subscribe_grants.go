package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"jindalai/model"
)

// AddSubscribeGrants records that the user accepted one more subscribe
// message of each template in templateIDs (duplicates count once) and
// returns the user's grants afterwards (template id → remaining). With idem
// set, a retry of the same request replays the first reply and adds nothing.
// Errors: conflict (idempotency key reused for another request),
// unavailable, internal.
func (s *Store) AddSubscribeGrants(ctx context.Context, idem *model.Idempotency, userID int64, templateIDs []string) (map[string]int, error) {
	ids := slices.Clone(templateIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	grants, _, err := InIdempotentTx(ctx, s, idem, func(tx *sql.Tx) (map[string]int, error) {
		if len(ids) > 0 {
			t := now()
			args := make([]any, 0, len(ids)*3)
			for _, id := range ids {
				args = append(args, userID, id, t)
			}
			// Sorted ids: every transaction locks a user's grant rows in one order.
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO subscribe_grants (user_id, template_id, remaining, updated_at) VALUES `+
				strings.TrimSuffix(strings.Repeat("(?, ?, 1, ?), ", len(ids)), ", ")+`
				ON DUPLICATE KEY UPDATE remaining = remaining + 1, updated_at = VALUES(updated_at)`, args...); err != nil {
				return nil, translate(err, "")
			}
		}
		return subscribeGrants(ctx, tx, userID)
	})
	return grants, err
}

// SubscribeGrants returns the user's remaining one-time grants by template
// id (templates never granted are absent). Errors: unavailable, internal.
func (s *Store) SubscribeGrants(ctx context.Context, userID int64) (map[string]int, error) {
	return subscribeGrants(ctx, s.DB, userID)
}

func subscribeGrants(ctx context.Context, db queryer, userID int64) (map[string]int, error) {
	rows, err := db.QueryContext(ctx, `
		SELECT template_id, remaining FROM subscribe_grants WHERE user_id = ?`, userID)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, translate(err, "")
		}
		out[id] = n
	}
	return out, translate(rows.Err(), "")
}
