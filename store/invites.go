package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"jindalai/model"
)

// CreateInvite stores an invite by the SHA-256 of its code, in a transaction
// that first claims idem (nil: no Idempotency-Key) and keeps reply (the
// service's reply, its code sealed) with the key. It returns reply, or on a
// repeat of idem the reply kept by the first call, storing nothing.
// Errors: conflict (hash collision; the key was used for another request),
// unavailable, internal.
func (s *Store) CreateInvite(ctx context.Context, idem *model.Idempotency, codeHash []byte, r model.Role, createdBy int64,
	expiresAt time.Time, reply json.RawMessage) (json.RawMessage, error) {
	out, _, err := InIdempotentTx(ctx, s, idem, func(tx *sql.Tx) (json.RawMessage, error) {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO invites (code_hash, role, station_id, org_id, created_by, expires_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			codeHash, r.Role, r.StationID, r.OrgID, createdBy, expiresAt.UTC(), now())
		if err != nil {
			return nil, translate(err, "")
		}
		return reply, nil
	})
	return out, err
}

// RedeemInvite marks the invite used by userID and grants its role, in one
// transaction. The conditional UPDATE decides a race: of concurrent
// redemptions exactly one wins. A user who already holds the role gets
// conflict and the invite stays unused (the unique role index decides).
// Errors: invalid_argument (unknown or expired code, field invite_code),
// conflict (already used; role already held), unavailable, internal.
func (s *Store) RedeemInvite(ctx context.Context, codeHash []byte, userID int64) (model.Role, error) {
	var role model.Role
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		t := now()
		res, err := tx.ExecContext(ctx, `
			UPDATE invites SET used_by = ?, used_at = ?
			WHERE code_hash = ? AND used_by IS NULL AND expires_at > ?`, userID, t, codeHash, t)
		if err != nil {
			return translate(err, "")
		}
		if n, err := res.RowsAffected(); err != nil {
			return translate(err, "")
		} else if n == 0 {
			return s.explainInvite(ctx, tx, codeHash)
		}
		if err := tx.QueryRowContext(ctx, `
			SELECT role, station_id, org_id FROM invites WHERE code_hash = ?`, codeHash).
			Scan(&role.Role, &role.StationID, &role.OrgID); err != nil {
			return translate(err, "邀请码")
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO user_roles (user_id, role, station_id, org_id, created_at)
			VALUES (?, ?, ?, ?, ?)`, userID, role.Role, role.StationID, role.OrgID, t)
		if model.IsCode(translate(err, ""), model.CodeConflict) {
			return &model.Error{Code: model.CodeConflict, Message: "您已拥有该角色", Fields: map[string]string{"invite_code": "您已拥有该邀请码授予的角色"}, Err: err}
		}
		return translate(err, "")
	})
	return role, err
}

// explainInvite says why an invite could not be redeemed.
func (s *Store) explainInvite(ctx context.Context, tx *sql.Tx, codeHash []byte) error {
	var used sql.NullInt64
	var expires time.Time
	err := tx.QueryRowContext(ctx, `SELECT used_by, expires_at FROM invites WHERE code_hash = ?`, codeHash).
		Scan(&used, &expires)
	switch {
	case err == sql.ErrNoRows:
		return model.InvalidField("invite_code", "邀请码无效")
	case err != nil:
		return translate(err, "")
	case used.Valid:
		return &model.Error{Code: model.CodeConflict, Message: "邀请码已被使用", Fields: map[string]string{"invite_code": "已被使用"}}
	default:
		return model.InvalidField("invite_code", "邀请码已过期")
	}
}
