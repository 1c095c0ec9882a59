package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"jindalai/model"
)

// InIdempotentTx runs fn in a transaction that first claims the idempotency
// key, stores fn's result as the reply and commits it with fn's writes. A
// concurrent call with the same key blocks on the key row until the first
// commits, then gets the stored reply (replayed = true) without running fn.
// When fn fails nothing is kept, so a retry runs again. With idem nil it is a
// plain transaction. Errors: fn's; conflict (the key was used for another
// request); unavailable; internal.
func InIdempotentTx[T any](ctx context.Context, s *Store, idem *model.Idempotency, fn func(tx *sql.Tx) (T, error)) (result T, replayed bool, err error) {
	if idem == nil {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			result, err = fn(tx)
			return err
		})
		return result, false, err
	}
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return result, false, translate(err, "")
	}
	defer rollbackOnPanic(tx)
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	_, err = tx.ExecContext(ctx, `
		INSERT INTO idempotency_keys (user_id, idem_key, scope, fingerprint, reply, created_at)
		VALUES (?, ?, ?, ?, NULL, ?)`, idem.UserID, idem.Key, idem.Scope, idem.Fingerprint[:], now())
	if isDuplicate(err) {
		_ = tx.Rollback()
		result, err = replayIdempotent[T](ctx, s, idem)
		return result, err == nil, err
	}
	if err != nil {
		return result, false, translate(err, "")
	}
	if result, err = fn(tx); err != nil {
		return result, false, err
	}
	reply, err := json.Marshal(result)
	if err != nil {
		return result, false, model.Wrap(model.CodeInternal, err, "")
	}
	if _, err = tx.ExecContext(ctx, `UPDATE idempotency_keys SET reply = ? WHERE user_id = ? AND idem_key = ?`,
		reply, idem.UserID, idem.Key); err != nil {
		return result, false, translate(err, "")
	}
	if err = tx.Commit(); err != nil {
		return result, false, translate(err, "")
	}
	return result, false, nil
}

// replayIdempotent returns the stored reply of a committed idempotent create.
func replayIdempotent[T any](ctx context.Context, s *Store, idem *model.Idempotency) (T, error) {
	result, found, err := lookupIdempotent[T](ctx, s, idem)
	if err == nil && !found {
		// Gone between the duplicate insert and this read: only a purge of a
		// very old key can do that; a conflict, which the client may retry.
		return result, model.Errorf(model.CodeConflict, "请求冲突，请重试")
	}
	return result, err
}

// lookupIdempotent returns the stored reply of idem's key, if the key is
// stored; a key stored for another request is a conflict naming it.
func lookupIdempotent[T any](ctx context.Context, s *Store, idem *model.Idempotency) (T, bool, error) {
	var result T
	var scope string
	var fingerprint, reply []byte
	err := s.DB.QueryRowContext(ctx, `
		SELECT scope, fingerprint, reply FROM idempotency_keys WHERE user_id = ? AND idem_key = ?`,
		idem.UserID, idem.Key).Scan(&scope, &fingerprint, &reply)
	if errors.Is(err, sql.ErrNoRows) {
		return result, false, nil
	}
	if err != nil {
		return result, false, translate(err, "")
	}
	if scope != idem.Scope || string(fingerprint) != string(idem.Fingerprint[:]) || reply == nil {
		return result, false, &model.Error{Code: model.CodeConflict, Message: "Idempotency-Key 已用于另一个请求",
			Fields: map[string]string{"Idempotency-Key": "已用于另一个请求"}}
	}
	if err := json.Unmarshal(reply, &result); err != nil {
		return result, false, model.Wrap(model.CodeInternal, err, "")
	}
	return result, true, nil
}

// KeptRequest returns what a committed submit's Idempotency-Key keeps (see
// CreateRequest), found false when the key is not stored — for a retry
// refused by the rate limit, which must still get its first reply.
// Errors: conflict (the key was used for another request), unavailable, internal.
func (s *Store) KeptRequest(ctx context.Context, idem *model.Idempotency) (kept model.Request, found bool, err error) {
	return lookupIdempotent[model.Request](ctx, s, idem)
}

// PurgeIdempotencyKeys deletes at most 1,000 keys older than before (the
// idempotency purge loop calls it until a batch comes back short).
// Errors: unavailable, internal.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.DB.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < ? LIMIT 1000`, before.UTC())
	if err != nil {
		return 0, translate(err, "")
	}
	n, err := res.RowsAffected()
	return n, translate(err, "")
}
