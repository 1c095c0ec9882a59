package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"strings"
	"time"

	"jindalai/model"
)

// pushState is the push_state and skip_reason a new notification of kind
// starts with: pending for the outbox sender, or skipped when no
// subscribe-message template exists for it (in-app only).
func (s *Store) pushState(kind string) (state, reason string) {
	if s.pushKinds == nil || s.pushKinds[kind] {
		return model.PushPending, ""
	}
	return model.PushSkipped, model.SkipNoTemplate
}

// insertNotifications adds notifications to the outbox inside the caller's
// transaction, so they exist exactly when the change they report commits.
// Every store operation that implies a notification calls it with its tx.
func (s *Store) insertNotifications(ctx context.Context, tx *sql.Tx, ns ...model.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	t := now()
	var sb strings.Builder
	sb.WriteString(`INSERT INTO notifications
		(user_id, kind, title, body, data, page, ref_type, ref_id, push_state, skip_reason, next_attempt_at, created_at) VALUES `)
	args := make([]any, 0, len(ns)*12)
	for i, n := range ns {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		data, err := json.Marshal(n.Data)
		if err != nil {
			return model.Wrap(model.CodeInternal, err, "")
		}
		state, reason := s.pushState(n.Kind)
		args = append(args, n.UserID, n.Kind, truncateRunes(n.Title, 128), truncateRunes(n.Body, 1024), data,
			n.Page, n.RefType, n.RefID, state, reason, t, t)
	}
	_, err := tx.ExecContext(ctx, sb.String(), args...)
	return translate(err, "")
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// EnqueueNotifications adds standalone notifications to the outbox in their
// own transaction, for senders that change no state of their own (e.g. a
// reminder). A flow that changes state uses insertNotifications in its own
// transaction instead. Errors: unavailable, internal.
func (s *Store) EnqueueNotifications(ctx context.Context, ns ...model.Notification) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.insertNotifications(ctx, tx, ns...) })
}

// ListMessages returns up to limit of a user's messages with an id below
// beforeID (0: from the newest), newest first; only unread ones when
// unreadOnly. Errors: unavailable, internal.
func (s *Store) ListMessages(ctx context.Context, userID, beforeID int64, limit int, unreadOnly bool) ([]model.Message, error) {
	if beforeID <= 0 {
		beforeID = math.MaxInt64
	}
	q := `SELECT id, kind, title, body, data, page, ref_type, ref_id, read_at, created_at
		FROM notifications WHERE user_id = ? AND id < ?`
	if unreadOnly {
		q += ` AND read_at IS NULL`
	}
	rows, err := s.DB.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, userID, beforeID, limit)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	out := []model.Message{}
	for rows.Next() {
		m, err := s.scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, translate(rows.Err(), "")
}

// CountUnreadMessages returns how many of a user's messages are unread.
// Errors: unavailable, internal.
func (s *Store) CountUnreadMessages(ctx context.Context, userID int64) (int64, error) {
	var n int64
	err := s.DB.QueryRowContext(ctx, `
		SELECT COUNT(*) FROM notifications WHERE user_id = ? AND read_at IS NULL`, userID).Scan(&n)
	return n, translate(err, "")
}

// MarkMessageRead marks one of the user's messages read at (keeping the
// first read time) and returns it. Errors: not_found (no such message of
// this user), unavailable, internal.
func (s *Store) MarkMessageRead(ctx context.Context, userID, id int64, at time.Time) (model.Message, error) {
	res, err := s.DB.ExecContext(ctx, `
		UPDATE notifications SET read_at = COALESCE(read_at, ?) WHERE id = ? AND user_id = ?`,
		at.UTC().Truncate(time.Millisecond), id, userID)
	if err != nil {
		return model.Message{}, translate(err, "")
	}
	if n, err := res.RowsAffected(); err != nil {
		return model.Message{}, translate(err, "")
	} else if n == 0 {
		return model.Message{}, model.NotFound("消息")
	}
	row := s.DB.QueryRowContext(ctx, `
		SELECT id, kind, title, body, data, page, ref_type, ref_id, read_at, created_at
		FROM notifications WHERE id = ? AND user_id = ?`, id, userID)
	m, err := s.scanMessage(row)
	if err != nil {
		return model.Message{}, translate(err, "消息")
	}
	return m, nil
}

// MarkAllMessagesRead marks every unread message of the user read at and
// returns how many it marked. Errors: unavailable, internal.
func (s *Store) MarkAllMessagesRead(ctx context.Context, userID int64, at time.Time) (int64, error) {
	res, err := s.DB.ExecContext(ctx, `
		UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL`,
		at.UTC().Truncate(time.Millisecond), userID)
	if err != nil {
		return 0, translate(err, "")
	}
	n, err := res.RowsAffected()
	return n, translate(err, "")
}

func (s *Store) scanMessage(row scanner) (model.Message, error) {
	var m model.Message
	var data []byte
	var readAt sql.NullTime
	if err := row.Scan(&m.ID, &m.Kind, &m.Title, &m.Body, &data, &m.Page, &m.RefType, &m.RefID, &readAt, &m.CreatedAt); err != nil {
		return m, translate(err, "消息")
	}
	m.Data = decodeNotificationData(data)
	m.CreatedAt = m.CreatedAt.In(s.Loc)
	if readAt.Valid {
		t := readAt.Time.In(s.Loc)
		m.ReadAt, m.Read = &t, true
	}
	return m, nil
}
