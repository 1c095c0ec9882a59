package store

import (
	"context"
	"database/sql"

	"jindalai/model"
)

// UpsertUserByOpenID returns the user of openid, creating it on first login.
// Concurrent first logins create exactly one row (unique openid). The unionid
// is recorded when WeChat gives one. Errors: unavailable, internal.
func (s *Store) UpsertUserByOpenID(ctx context.Context, openID, unionID string) (model.User, error) {
	t := now()
	var union any
	if unionID != "" {
		union = unionID
	}
	res, err := s.DB.ExecContext(ctx, `
		INSERT INTO users (openid, unionid, nickname, avatar_url, created_at, updated_at)
		VALUES (?, ?, '', '', ?, ?)
		ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), unionid = COALESCE(VALUES(unionid), unionid)`,
		openID, union, t, t)
	if err != nil {
		return model.User{}, translate(err, "")
	}
	id, err := res.LastInsertId()
	if err != nil {
		return model.User{}, translate(err, "")
	}
	return s.GetUser(ctx, id)
}

// GetUser returns a user with its roles. Errors: not_found, unavailable, internal.
func (s *Store) GetUser(ctx context.Context, id int64) (model.User, error) {
	return s.readUser(ctx, s.DB, id)
}

// GetProfile returns a user without roles (Roles is nil), read from MySQL:
// what a caller whose roles are known (from the session) needs.
// Errors: not_found, unavailable, internal.
func (s *Store) GetProfile(ctx context.Context, id int64) (model.User, error) {
	return s.readProfile(ctx, s.DB, id)
}

// rowQueryer is the pool or a transaction, for reads that run on either.
type rowQueryer interface {
	queryer
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readUser is GetUser's reads on db (the pool or a transaction).
func (s *Store) readUser(ctx context.Context, db rowQueryer, id int64) (model.User, error) {
	u, err := s.readProfile(ctx, db, id)
	if err != nil {
		return model.User{}, err
	}
	if u.Roles, err = readRoles(ctx, db, id); err != nil {
		return model.User{}, err
	}
	return u, nil
}

func (s *Store) readProfile(ctx context.Context, db rowQueryer, id int64) (model.User, error) {
	var u model.User
	var union sql.NullString
	err := db.QueryRowContext(ctx, `
		SELECT id, openid, unionid, nickname, avatar_url, phone_enc, created_at
		FROM users WHERE id = ?`, id).
		Scan(&u.ID, &u.OpenID, &union, &u.Nickname, &u.AvatarURL, &u.PhoneEnc, &u.CreatedAt)
	if err != nil {
		return model.User{}, translate(err, "用户")
	}
	u.UnionID = union.String
	u.CreatedAt = u.CreatedAt.In(s.Loc)
	return u, nil
}

// UserRoles returns the roles held by a user (resident is implicit and not
// stored). Errors: unavailable, internal.
func (s *Store) UserRoles(ctx context.Context, userID int64) ([]model.Role, error) {
	return readRoles(ctx, s.DB, userID)
}

func readRoles(ctx context.Context, db queryer, userID int64) ([]model.Role, error) {
	rows, err := db.QueryContext(ctx, `
		SELECT role, station_id, org_id FROM user_roles WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var roles []model.Role
	for rows.Next() {
		var r model.Role
		if err := rows.Scan(&r.Role, &r.StationID, &r.OrgID); err != nil {
			return nil, translate(err, "")
		}
		roles = append(roles, r)
	}
	return roles, translate(rows.Err(), "")
}

// GrantRole gives a user a role; granting a role already held does nothing.
// Errors: unavailable, internal.
func (s *Store) GrantRole(ctx context.Context, userID int64, r model.Role) error {
	return translate(grantRole(ctx, s.DB, userID, r), "")
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func grantRole(ctx context.Context, db execer, userID int64, r model.Role) error {
	_, err := db.ExecContext(ctx, `
		INSERT INTO user_roles (user_id, role, station_id, org_id, created_at)
		VALUES (?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE id = id`, userID, r.Role, r.StationID, r.OrgID, now())
	return err
}

// UpdateProfile sets the nickname and/or avatar (nil leaves a field alone).
// Errors: not_found, unavailable, internal.
func (s *Store) UpdateProfile(ctx context.Context, userID int64, nickname, avatarURL *string) error {
	res, err := s.DB.ExecContext(ctx, `
		UPDATE users SET nickname = COALESCE(?, nickname), avatar_url = COALESCE(?, avatar_url), updated_at = ?
		WHERE id = ?`, nickname, avatarURL, now(), userID)
	if err != nil {
		return translate(err, "")
	}
	if err := mustAffect(res, "用户"); err != nil {
		return err
	}
	return s.forgetProfiles(ctx, userID)
}

// SetPhone stores a user's encrypted phone number and its blind index.
// Errors: not_found, unavailable, internal.
func (s *Store) SetPhone(ctx context.Context, userID int64, enc, index []byte) error {
	res, err := s.DB.ExecContext(ctx, `
		UPDATE users SET phone_enc = ?, phone_index = ?, updated_at = ? WHERE id = ?`,
		enc, index, now(), userID)
	if err != nil {
		return translate(err, "")
	}
	if err := mustAffect(res, "用户"); err != nil {
		return err
	}
	return s.forgetProfiles(ctx, userID)
}

// mustAffect returns not_found when an UPDATE matched no row. MySQL counts
// changed rows, so every UPDATE using it also sets a changing column.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return translate(err, "")
	}
	if n == 0 {
		return model.NotFound(what)
	}
	return nil
}

// StationAdmins returns the admins of a station, in user order (each holds
// the role there once: the unique index). Errors: unavailable, internal.
func (s *Store) StationAdmins(ctx context.Context, stationID int64) ([]int64, error) {
	return queryIDs(ctx, s.DB, `SELECT user_id FROM user_roles WHERE station_id = ? AND role = ? ORDER BY user_id`,
		stationID, string(model.RoleStationAdmin))
}
