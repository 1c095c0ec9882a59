package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"jindalai/model"
)

const volunteerColumns = `user_id, real_name_enc, phone_enc, phone_index, skills, org_id, created_at`

// CreateVolunteer registers a user as a volunteer and grants the volunteer
// role (scoped to v.OrgID, 0 for none) in one transaction on one connection,
// which first claims idem (nil: no Idempotency-Key). Still in it, reply gets
// the volunteer and the user with the roles read in the transaction (the new
// one included) and builds the reply kept with the key; the transaction then
// commits. A repeat of idem returns the kept reply without calling reply.
// Errors: conflict (already a volunteer; the key was used for another
// request), reply's, unavailable, internal.
func (s *Store) CreateVolunteer(ctx context.Context, idem *model.Idempotency, v model.Volunteer,
	reply func(model.Volunteer, model.User) (json.RawMessage, error)) (json.RawMessage, error) {
	skills, err := json.Marshal(nonNilStrings(v.Skills))
	if err != nil {
		return nil, model.Wrap(model.CodeInternal, err, "")
	}
	t := now()
	out, _, err := InIdempotentTx(ctx, s, idem, func(tx *sql.Tx) (json.RawMessage, error) {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO volunteers (`+volunteerColumns+`, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			v.UserID, v.RealNameEnc, v.PhoneEnc, v.PhoneIndex, skills, v.OrgID, t, t)
		if isDuplicate(err) {
			return nil, &model.Error{Code: model.CodeConflict, Message: "你已经注册为志愿者", Err: err}
		}
		if err != nil {
			return nil, translate(err, "")
		}
		if err := grantRole(ctx, tx, v.UserID, model.Role{Role: model.RoleVolunteer, OrgID: v.OrgID}); err != nil {
			return nil, translate(err, "")
		}
		vol, err := s.readVolunteer(ctx, tx, v.UserID)
		if err != nil {
			return nil, err
		}
		user, err := s.readUser(ctx, tx, v.UserID)
		if err != nil {
			return nil, err
		}
		return reply(vol, user)
	})
	return out, err
}

// GetVolunteer returns the volunteer record of a user.
// Errors: not_found, unavailable, internal.
func (s *Store) GetVolunteer(ctx context.Context, userID int64) (model.Volunteer, error) {
	return s.readVolunteer(ctx, s.DB, userID)
}

// readVolunteer is GetVolunteer's read on db (the pool or a transaction).
func (s *Store) readVolunteer(ctx context.Context, db rowQueryer, userID int64) (model.Volunteer, error) {
	return s.scanVolunteer(db.QueryRowContext(ctx, `SELECT `+volunteerColumns+` FROM volunteers WHERE user_id = ?`, userID))
}

// UpdateVolunteer changes the volunteer record of v.UserID: empty encrypted
// fields and nil Skills stay as they are. Errors: not_found, unavailable, internal.
func (s *Store) UpdateVolunteer(ctx context.Context, v model.Volunteer) error {
	var skills any
	if v.Skills != nil {
		raw, err := json.Marshal(v.Skills)
		if err != nil {
			return model.Wrap(model.CodeInternal, err, "")
		}
		skills = raw
	}
	res, err := s.DB.ExecContext(ctx, `
		UPDATE volunteers SET real_name_enc = COALESCE(?, real_name_enc), phone_enc = COALESCE(?, phone_enc),
			phone_index = COALESCE(?, phone_index), skills = COALESCE(?, skills), updated_at = ?
		WHERE user_id = ?`, nullIfEmpty(v.RealNameEnc), nullIfEmpty(v.PhoneEnc), nullIfEmpty(v.PhoneIndex), skills, now(), v.UserID)
	if err != nil {
		return translate(err, "")
	}
	return mustAffect(res, "志愿者")
}

// ListOrgMembers returns the volunteers of an organization by user id, after
// afterUserID, at most limit. Errors: unavailable, internal.
func (s *Store) ListOrgMembers(ctx context.Context, orgID, afterUserID int64, limit int) ([]model.Volunteer, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT `+volunteerColumns+` FROM volunteers WHERE org_id = ? AND user_id > ?
		ORDER BY user_id LIMIT ?`, orgID, afterUserID, limit)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	out := []model.Volunteer{}
	for rows.Next() {
		v, err := s.scanVolunteer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, translate(rows.Err(), "")
}

// OrgMemberHours returns, per volunteer of an organization (by user id, after
// afterUserID, at most limit), the minutes credited for activities starting
// in [from, to) and how many such activities. Members without hours are
// listed with 0. Errors: unavailable, internal.
func (s *Store) OrgMemberHours(ctx context.Context, orgID int64, from, to time.Time, afterUserID int64, limit int) ([]model.MemberHours, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT v.user_id, v.real_name_enc,
			COALESCE(SUM(CASE WHEN a.id IS NULL THEN 0 ELSE h.minutes END), 0),
			COUNT(DISTINCT a.id)
		FROM volunteers v
		LEFT JOIN volunteer_hours h ON h.volunteer_id = v.user_id
		LEFT JOIN activities a ON a.id = h.activity_id AND a.starts_at >= ? AND a.starts_at < ?
		WHERE v.org_id = ? AND v.user_id > ?
		GROUP BY v.user_id, v.real_name_enc
		ORDER BY v.user_id LIMIT ?`, from.UTC(), to.UTC(), orgID, afterUserID, limit)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	out := []model.MemberHours{}
	for rows.Next() {
		var m model.MemberHours
		if err := rows.Scan(&m.UserID, &m.RealNameEnc, &m.Minutes, &m.Activities); err != nil {
			return nil, translate(err, "")
		}
		out = append(out, m)
	}
	return out, translate(rows.Err(), "")
}

func (s *Store) scanVolunteer(row scanner) (model.Volunteer, error) {
	var v model.Volunteer
	var skills []byte
	if err := row.Scan(&v.UserID, &v.RealNameEnc, &v.PhoneEnc, &v.PhoneIndex, &skills, &v.OrgID, &v.CreatedAt); err != nil {
		return model.Volunteer{}, translate(err, "志愿者")
	}
	v.Skills = decodeSkills(skills)
	v.CreatedAt = v.CreatedAt.In(s.Loc)
	return v, nil
}

// decodeSkills reads the JSON list of skills; a damaged value reads as none.
func decodeSkills(raw []byte) []string {
	var skills []string
	_ = json.Unmarshal(raw, &skills)
	return nonNilStrings(skills)
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// nullIfEmpty makes an empty slice a SQL NULL (so COALESCE keeps the column).
func nullIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
