package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"jindalai/model"
)

// insertNotifications adds notifications to the outbox inside the caller's
// transaction, so they exist exactly when the change they report commits.
// Every store operation that implies a notification calls it with its tx.
func insertNotifications(ctx context.Context, tx *sql.Tx, ns ...model.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	t := now()
	var sb strings.Builder
	sb.WriteString(`INSERT INTO notifications
		(user_id, kind, title, body, data, page, ref_type, ref_id, push_state, next_attempt_at, created_at) VALUES `)
	args := make([]any, 0, len(ns)*11)
	for i, n := range ns {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)")
		data, err := json.Marshal(n.Data)
		if err != nil {
			return model.Wrap(model.CodeInternal, err, "")
		}
		args = append(args, n.UserID, n.Kind, truncateRunes(n.Title, 128), truncateRunes(n.Body, 1024), data,
			n.Page, n.RefType, n.RefID, t, t)
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
