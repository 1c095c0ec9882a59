package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"jindalai/model"
)

// ClaimNotifications claims up to c.Limit due pending notifications for
// c.Token in one transaction: a conditional UPDATE moves them to 'sending'
// with a lease, so each row is claimed by exactly one of any number of
// concurrent senders. In the same transaction every claimed row reserves one
// subscribe grant of its kind's template (a conditional UPDATE on the grant
// counter), unless it already holds one from an earlier attempt; rows whose
// kind has no template, whose user has no openid or who holds no grant become
// 'skipped' (in-app only). Errors: unavailable, internal.
func (s *Store) ClaimNotifications(ctx context.Context, c model.OutboxClaim) (model.ClaimedBatch, error) {
	out := model.ClaimedBatch{Skipped: map[string]int{}}
	fail := func(err error) (model.ClaimedBatch, error) {
		return model.ClaimedBatch{Skipped: map[string]int{}}, translate(err, "")
	}
	if c.Token == "" || c.Limit < 1 {
		return fail(model.Errorf(model.CodeInternal, "claim needs a token and a positive limit"))
	}
	// READ COMMITTED: the claim locks only the rows it takes (no gap locks
	// that would hold up the flows inserting new notifications), and a
	// concurrent claimer skips rows whose committed state no longer matches.
	tx, err := s.DB.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fail(err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `
		UPDATE notifications SET push_state = 'sending', claim_token = ?, claimed_until = ?
		WHERE push_state = 'pending' AND next_attempt_at <= ?
		ORDER BY next_attempt_at, id LIMIT ?`,
		c.Token, c.LeaseUntil.UTC(), c.Now.UTC(), c.Limit)
	if err != nil {
		return fail(err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return fail(err)
		}
		return out, nil
	}
	claimed, err := s.claimedRows(ctx, tx, c.Token)
	if err != nil {
		return fail(err)
	}
	templateOf := func(it claimedRow) string {
		if it.held {
			return it.TemplateID
		}
		return c.Templates[it.Kind]
	}
	// One lock order on grant rows (user, template) for every transaction
	// that touches several of them, so they cannot deadlock each other.
	slices.SortFunc(claimed, func(a, b claimedRow) int {
		if a.UserID != b.UserID {
			return cmp.Compare(a.UserID, b.UserID)
		}
		if ta, tb := templateOf(a), templateOf(b); ta != tb {
			return strings.Compare(ta, tb)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	skip := map[string][]int64{}
	reserved := map[string][]int64{} // template id → rows that took a grant of it
	t := now()
	for _, it := range claimed {
		tpl, ok := c.Templates[it.Kind]
		switch {
		case it.held && it.TemplateID != "":
			out.Send = append(out.Send, it.OutboxItem)
			continue
		case !ok:
			skip[model.SkipNoTemplate] = append(skip[model.SkipNoTemplate], it.ID)
			continue
		case it.OpenID == "":
			skip[model.SkipNoOpenID] = append(skip[model.SkipNoOpenID], it.ID)
			continue
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE subscribe_grants SET remaining = remaining - 1, updated_at = ?
			WHERE user_id = ? AND template_id = ? AND remaining > 0`, t, it.UserID, tpl)
		if err != nil {
			return fail(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fail(err)
		} else if n == 0 {
			skip[model.SkipNoGrant] = append(skip[model.SkipNoGrant], it.ID)
			continue
		}
		reserved[tpl] = append(reserved[tpl], it.ID)
		it.TemplateID = tpl
		out.Send = append(out.Send, it.OutboxItem)
	}
	for tpl, ids := range reserved {
		if _, err := tx.ExecContext(ctx, `
			UPDATE notifications SET template_id = ?, grant_held = 1
			WHERE id IN (`+inList(len(ids))+`)`, append([]any{tpl}, idArgs(ids)...)...); err != nil {
			return fail(err)
		}
	}
	for reason, ids := range skip {
		if _, err := tx.ExecContext(ctx, `
			UPDATE notifications SET push_state = 'skipped', skip_reason = ?, claim_token = NULL, claimed_until = NULL
			WHERE id IN (`+inList(len(ids))+`)`, append([]any{reason}, idArgs(ids)...)...); err != nil {
			return fail(err)
		}
		out.Skipped[reason] = len(ids)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	slices.SortFunc(out.Send, func(a, b model.OutboxItem) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// claimedRow is a claimed notification and whether it already holds a grant.
type claimedRow struct {
	model.OutboxItem
	held bool
}

func (s *Store) claimedRows(ctx context.Context, tx *sql.Tx, token string) ([]claimedRow, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT n.id, n.user_id, COALESCE(u.openid, ''), n.kind, n.title, n.body, n.data, n.page,
		       n.template_id, n.grant_held, n.attempts, n.created_at
		FROM notifications n LEFT JOIN users u ON u.id = n.user_id
		WHERE n.push_state = 'sending' AND n.claim_token = ?`, token)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var out []claimedRow
	for rows.Next() {
		var r claimedRow
		var data []byte
		if err := rows.Scan(&r.ID, &r.UserID, &r.OpenID, &r.Kind, &r.Title, &r.Body, &data, &r.Page,
			&r.TemplateID, &r.held, &r.Attempts, &r.CreatedAt); err != nil {
			return nil, translate(err, "")
		}
		r.Data = decodeNotificationData(data)
		r.CreatedAt = r.CreatedAt.In(s.Loc)
		out = append(out, r)
	}
	return out, translate(rows.Err(), "")
}

// FinishNotification records the outcome of one attempt on a notification
// claimed by token, counting the attempt. It returns false when the row is
// no longer this claimer's (its lease ran out and it was swept): then nothing
// changes. With o.ReturnGrant the grant the row held goes back to the user in
// the same transaction. Errors: unavailable, internal.
func (s *Store) FinishNotification(ctx context.Context, id int64, token string, o model.PushOutcome) (bool, error) {
	var sentAt, next any
	if o.State == model.PushSent {
		sentAt = o.At.UTC()
	}
	if o.State == model.PushPending {
		next = o.NextAttemptAt.UTC()
	}
	update := func(db execer) (bool, error) {
		res, err := db.ExecContext(ctx, `
			UPDATE notifications
			SET push_state = ?, attempts = attempts + 1, last_error = ?, skip_reason = ?,
			    sent_at = COALESCE(?, sent_at), next_attempt_at = COALESCE(?, next_attempt_at),
			    grant_held = IF(?, 0, grant_held), claim_token = NULL, claimed_until = NULL
			WHERE id = ? AND claim_token = ? AND push_state = 'sending'`,
			o.State, truncateRunes(o.Error, 512), o.SkipReason, sentAt, next, o.ReturnGrant, id, token)
		if err != nil {
			return false, translate(err, "")
		}
		n, err := res.RowsAffected()
		return n == 1, translate(err, "")
	}
	if !o.ReturnGrant {
		return update(s.DB)
	}
	var ours bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var userID int64
		var templateID string
		var held bool
		err := tx.QueryRowContext(ctx, `
			SELECT user_id, template_id, grant_held FROM notifications
			WHERE id = ? AND claim_token = ? AND push_state = 'sending' FOR UPDATE`, id, token).
			Scan(&userID, &templateID, &held)
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return translate(err, "")
		}
		if ours, err = update(tx); err != nil || !ours || !held || templateID == "" {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO subscribe_grants (user_id, template_id, remaining, updated_at) VALUES (?, ?, 1, ?)
			ON DUPLICATE KEY UPDATE remaining = remaining + 1, updated_at = VALUES(updated_at)`,
			userID, templateID, now())
		return translate(err, "")
	})
	return ours && err == nil, err
}

// ReleaseNotifications hands the rows still claimed by token back to the
// queue, due at once, keeping the grants they hold and their attempt count
// (used at shutdown and when a lease runs short). Errors: unavailable, internal.
func (s *Store) ReleaseNotifications(ctx context.Context, token string) (int64, error) {
	ids, err := queryIDs(ctx, s.DB, `SELECT id FROM notifications WHERE push_state = 'sending' AND claim_token = ?`, token)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	args := append([]any{token}, idArgs(ids)...)
	res, err := s.DB.ExecContext(ctx, `
		UPDATE notifications SET push_state = 'pending', claim_token = NULL, claimed_until = NULL
		WHERE claim_token = ? AND push_state = 'sending' AND id IN (`+inList(len(ids))+`)`, args...)
	if err != nil {
		return 0, translate(err, "")
	}
	n, err := res.RowsAffected()
	return n, translate(err, "")
}

// ReclaimExpiredNotifications puts rows whose lease ran out before at (their
// sender died between claim and finish) back in the queue, due at once,
// counting the lost attempt. The message may already have reached WeChat:
// this is the at-least-once window. Every sender calls it before each
// claim, so it finds the candidates with a plain read (nothing to do
// usually) and then updates them by primary key, re-checking the lease: a
// locking scan of every 'sending' row would deadlock with the senders
// recording their outcomes. Errors: unavailable, internal.
func (s *Store) ReclaimExpiredNotifications(ctx context.Context, at time.Time) (int64, error) {
	ids, err := queryIDs(ctx, s.DB, `
		SELECT id FROM notifications WHERE push_state = 'sending' AND claimed_until <= ? LIMIT 500`, at.UTC())
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	args := append([]any{at.UTC(), at.UTC()}, idArgs(ids)...)
	res, err := s.DB.ExecContext(ctx, `
		UPDATE notifications
		SET push_state = 'pending', attempts = attempts + 1, next_attempt_at = ?,
		    last_error = 'lease expired: the sender stopped during delivery',
		    claim_token = NULL, claimed_until = NULL
		WHERE push_state = 'sending' AND claimed_until <= ? AND id IN (`+inList(len(ids))+`)`, args...)
	if err != nil {
		return 0, translate(err, "")
	}
	n, err := res.RowsAffected()
	return n, translate(err, "")
}

// CountPendingNotifications returns how many notifications wait for the
// sender (the queue depth). Errors: unavailable, internal.
func (s *Store) CountPendingNotifications(ctx context.Context) (int64, error) {
	var n int64
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE push_state = 'pending'`).Scan(&n)
	return n, translate(err, "")
}

// NotificationPush returns the delivery record of a notification (for
// operators and tests). Errors: not_found, unavailable, internal.
func (s *Store) NotificationPush(ctx context.Context, id int64) (model.PushStatus, error) {
	var p model.PushStatus
	var sent sql.NullTime
	err := s.DB.QueryRowContext(ctx, `
		SELECT push_state, skip_reason, attempts, template_id, grant_held, last_error, next_attempt_at, sent_at
		FROM notifications WHERE id = ?`, id).
		Scan(&p.State, &p.SkipReason, &p.Attempts, &p.TemplateID, &p.GrantHeld, &p.LastError, &p.NextAttemptAt, &sent)
	if err != nil {
		return p, translate(err, "消息")
	}
	p.NextAttemptAt = p.NextAttemptAt.In(s.Loc)
	if sent.Valid {
		t := sent.Time.In(s.Loc)
		p.SentAt = &t
	}
	return p, nil
}

// decodeNotificationData reads the data column; a broken value reads as empty.
func decodeNotificationData(raw []byte) map[string]string {
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return map[string]string{}
	}
	return m
}
