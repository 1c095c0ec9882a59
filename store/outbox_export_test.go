package store

import (
	"context"
	"database/sql"
	"errors"

	"jindalai/model"
)

// ErrTestRollback is what ChangeRoleAndNotify returns when asked to fail.
var ErrTestRollback = errors.New("test: roll back")

// ChangeRoleAndNotify is a stand-in for a real flow in tests: it grants a
// role and inserts the notifications it implies in one transaction, and
// with fail rolls both back after writing them.
func (s *Store) ChangeRoleAndNotify(ctx context.Context, userID int64, r model.Role, fail bool, ns ...model.Notification) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := grantRole(ctx, tx, userID, r); err != nil {
			return err
		}
		if err := s.insertNotifications(ctx, tx, ns...); err != nil {
			return err
		}
		if fail {
			return ErrTestRollback
		}
		return nil
	})
}

// SetPushKinds sets the kinds Options.PushKinds would (none given: every kind).
func (s *Store) SetPushKinds(kinds ...string) { s.pushKinds = kindSet(kinds) }

// SessionCacheLive tells whether the session near cache serves entries.
func (s *Store) SessionCacheLive() bool {
	if s.sessions == nil {
		return false
	}
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	return s.sessions.live
}
