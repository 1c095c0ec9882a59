package service

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"jindalai/model"
)

// VolunteerInput is a registration.
type VolunteerInput struct {
	RealName string
	Phone    string
	Skills   []string
	// OrgID 0: no organization.
	OrgID int64
	// Idem is the Idempotency-Key of the registration (nil: none).
	Idem *model.Idempotency
}

// VolunteerPatch changes the caller's volunteer record; nil fields stay.
type VolunteerPatch struct {
	RealName *string
	Phone    *string
	Skills   *[]string
}

var mobilePattern = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// maxPeriod caps the period of an hours report.
const maxPeriod = 366 * 24 * time.Hour

// registrationTokenField binds a session token sealed in a kept reply.
const registrationTokenField = "idempotency_keys.reply.token"

// sealedRegistration is a registration as kept with its Idempotency-Key: the
// session token only encrypted.
type sealedRegistration struct {
	Volunteer model.Volunteer `json:"volunteer"`
	TokenEnc  []byte          `json:"token_enc"`
	ExpiresAt time.Time       `json:"expires_at"`
	User      model.User      `json:"user"`
}

// RegisterVolunteer registers the caller as a volunteer (real name and phone
// encrypted, with a blind index on the phone), optionally a member of an
// organization, and grants the volunteer role, in one transaction that first
// claims in.Idem. The role change replaces the caller's sessions: the reply
// carries a fresh token, whose session is minted inside that transaction from
// the roles read in it. Old sessions are revoked there too, so if the
// transaction then fails the caller only has to log in again; the fresh
// session is ended (best effort) and a retry with the key runs anew. Once it
// commits, the caller's other sessions are ended: a login in between minted
// one from the roles before the change. A
// repeat of in.Idem returns the first reply (its token sealed with the key)
// and mints and revokes nothing; the key keeps its fingerprint only keyed.
// Errors: invalid_argument (real_name, phone, skills, org_id), conflict
// (already a volunteer; Idempotency-Key used for another request),
// unavailable, internal.
func (s *Activities) RegisterVolunteer(ctx context.Context, p model.Principal, in VolunteerInput) (model.VolunteerRegistration, error) {
	fe := model.FieldErrors{}
	name, phone := checkRealName(fe, in.RealName), checkPhone(fe, in.Phone)
	skills := checkSkills(fe, in.Skills)
	if in.OrgID < 0 {
		fe.Add("org_id", "必须是正整数")
	}
	if err := fe.Err(); err != nil {
		return model.VolunteerRegistration{}, err
	}
	if in.OrgID > 0 {
		if err := checkScope(ctx, s.dir, 0, in.OrgID); err != nil {
			return model.VolunteerRegistration{}, err
		}
	}
	var minted model.Login
	raw, err := s.store.CreateVolunteer(ctx, in.Idem, model.Volunteer{
		UserID:      p.UserID,
		RealNameEnc: s.pii.Encrypt("volunteers.real_name", name),
		PhoneEnc:    s.pii.Encrypt("volunteers.phone", phone),
		PhoneIndex:  s.pii.Index("phone", phone),
		Skills:      skills,
		OrgID:       in.OrgID,
	}, func(v model.Volunteer, u model.User) (json.RawMessage, error) {
		login, err := s.sessions.ReplaceSessions(ctx, u)
		if err != nil {
			return nil, err
		}
		minted = login
		return json.Marshal(sealedRegistration{Volunteer: s.presentVolunteer(v, false),
			TokenEnc: s.pii.Encrypt(registrationTokenField, login.Token), ExpiresAt: login.ExpiresAt, User: login.User})
	})
	if err != nil {
		if minted.Token != "" {
			// The session carries a role the rollback took back.
			if endErr := s.sessions.EndSession(context.WithoutCancel(ctx), p.UserID, minted.Token); endErr != nil {
				s.log.Error("session of a failed registration not ended", "user_id", p.UserID, "err", endErr)
			}
		}
		return model.VolunteerRegistration{}, err
	}
	if minted.Token != "" {
		// A login between the revocation and the commit minted a session
		// from the roles before it; end it. Failing leaves a session with
		// fewer rights than the user has, which a new login mends.
		if err := s.sessions.EndOtherSessions(context.WithoutCancel(ctx), p.UserID, minted.Token); err != nil {
			s.log.Warn("sessions minted during a registration not ended", "user_id", p.UserID, "err", err)
		}
	}
	return s.openRegistration(raw)
}

// openRegistration reads a kept registration reply (a fresh one too, so a
// replay is byte for byte the first reply). Errors: internal.
func (s *Activities) openRegistration(raw json.RawMessage) (model.VolunteerRegistration, error) {
	var sealed sealedRegistration
	if err := json.Unmarshal(raw, &sealed); err != nil {
		return model.VolunteerRegistration{}, model.Wrap(model.CodeInternal, err, "")
	}
	token, err := s.pii.Decrypt(registrationTokenField, sealed.TokenEnc)
	if err != nil {
		return model.VolunteerRegistration{}, model.Wrap(model.CodeInternal, err, "")
	}
	return model.VolunteerRegistration{Volunteer: sealed.Volunteer, Token: token, ExpiresAt: sealed.ExpiresAt, User: sealed.User}, nil
}

// MyVolunteer returns the caller's volunteer record (name and phone masked).
// Errors: not_found (not a volunteer), unavailable, internal.
func (s *Activities) MyVolunteer(ctx context.Context, p model.Principal) (model.Volunteer, error) {
	v, err := s.store.GetVolunteer(ctx, p.UserID)
	if err != nil {
		return model.Volunteer{}, err
	}
	return s.presentVolunteer(v, false), nil
}

// UpdateMyVolunteer changes the caller's real name, phone or skills.
// Errors: invalid_argument (the fields), not_found, unavailable, internal.
func (s *Activities) UpdateMyVolunteer(ctx context.Context, p model.Principal, patch VolunteerPatch) (model.Volunteer, error) {
	if patch.RealName == nil && patch.Phone == nil && patch.Skills == nil {
		return model.Volunteer{}, model.InvalidField("body", "至少提供 real_name、phone 或 skills 之一")
	}
	fe := model.FieldErrors{}
	v := model.Volunteer{UserID: p.UserID}
	if patch.RealName != nil {
		v.RealNameEnc = s.pii.Encrypt("volunteers.real_name", checkRealName(fe, *patch.RealName))
	}
	if patch.Phone != nil {
		phone := checkPhone(fe, *patch.Phone)
		v.PhoneEnc, v.PhoneIndex = s.pii.Encrypt("volunteers.phone", phone), s.pii.Index("phone", phone)
	}
	if patch.Skills != nil {
		v.Skills = checkSkills(fe, *patch.Skills)
	}
	if err := fe.Err(); err != nil {
		return model.Volunteer{}, err
	}
	if err := s.store.UpdateVolunteer(ctx, v); err != nil {
		return model.Volunteer{}, err
	}
	return s.MyVolunteer(ctx, p)
}

// requireOrgAdmin lets an organization's admins through, and city admins
// when the organization exists. Errors: permission_denied (with refusal as
// its message), not_found, unavailable, internal.
func (s *Activities) requireOrgAdmin(ctx context.Context, p model.Principal, orgID int64, refusal string) error {
	if p.HasOrgRole(orgID, model.RoleOrgAdmin) {
		return nil
	}
	if !p.IsCityAdmin() {
		return model.Errorf(model.CodePermissionDenied, "%s", refusal)
	}
	if s.dir == nil {
		return nil
	}
	return requireExists(ctx, s.dir.OrgExists, orgID, "组织")
}

// OrgMembers lists an organization's volunteers with their names and phones,
// for that organization's admins and city admins.
// Errors: invalid_argument (cursor), permission_denied, not_found (no such
// organization), unavailable, internal.
func (s *Activities) OrgMembers(ctx context.Context, p model.Principal, orgID int64, page model.Page) (model.List[model.Volunteer], error) {
	if err := s.requireOrgAdmin(ctx, p, orgID, "只能查看本组织的成员"); err != nil {
		return model.List[model.Volunteer]{}, err
	}
	after, err := model.DecodeCursor(page.Cursor)
	if err != nil {
		return model.List[model.Volunteer]{}, err
	}
	items, err := s.store.ListOrgMembers(ctx, orgID, after, page.Limit+1)
	if err != nil {
		return model.List[model.Volunteer]{}, err
	}
	for i := range items {
		items[i] = s.presentVolunteer(items[i], true)
	}
	return model.CutPage(items, page.Limit, func(v model.Volunteer) int64 { return v.UserID }), nil
}

// OrgHours lists, per member of an organization, the minutes credited for
// activities starting in [from, to) (default: the last 30 days), for that
// organization's admins and city admins.
// Errors: invalid_argument (from, to, cursor), permission_denied, not_found
// (no such organization), unavailable, internal.
func (s *Activities) OrgHours(ctx context.Context, p model.Principal, orgID int64, from, to time.Time, page model.Page) (model.List[model.MemberHours], error) {
	if err := s.requireOrgAdmin(ctx, p, orgID, "只能查看本组织成员的服务时长"); err != nil {
		return model.List[model.MemberHours]{}, err
	}
	if to.IsZero() {
		to = s.now()
	}
	if from.IsZero() {
		from = to.Add(-30 * 24 * time.Hour)
	}
	if !from.Before(to) || to.Sub(from) > maxPeriod {
		return model.List[model.MemberHours]{}, model.InvalidField("from", "必须早于 to，且时间段不超过 366 天")
	}
	after, err := model.DecodeCursor(page.Cursor)
	if err != nil {
		return model.List[model.MemberHours]{}, err
	}
	items, err := s.store.OrgMemberHours(ctx, orgID, from, to, after, page.Limit+1)
	if err != nil {
		return model.List[model.MemberHours]{}, err
	}
	for i := range items {
		name, err := s.pii.Decrypt("volunteers.real_name", items[i].RealNameEnc)
		if err != nil {
			s.log.Error("real name does not decrypt", "user_id", items[i].UserID, "err", err)
		}
		items[i].RealName = name
	}
	return model.CutPage(items, page.Limit, func(m model.MemberHours) int64 { return m.UserID }), nil
}

// MyHours returns the caller's total credited minutes and the ledger rows,
// newest first. Errors: invalid_argument (cursor), unavailable, internal.
func (s *Activities) MyHours(ctx context.Context, p model.Principal, page model.Page) (model.Hours, error) {
	before, err := model.DecodeCursor(page.Cursor)
	if err != nil {
		return model.Hours{}, err
	}
	total, items, err := s.store.VolunteerHours(ctx, p.UserID, before, page.Limit+1)
	if err != nil {
		return model.Hours{}, err
	}
	l := model.CutPage(items, page.Limit, func(e model.HoursEntry) int64 { return e.ID })
	return model.Hours{TotalMinutes: total, Items: l.Items, NextCursor: l.NextCursor}, nil
}

// presentVolunteer decrypts the name and phone, masked unless full.
func (s *Activities) presentVolunteer(v model.Volunteer, full bool) model.Volunteer {
	name, err := s.pii.Decrypt("volunteers.real_name", v.RealNameEnc)
	if err != nil {
		s.log.Error("real name does not decrypt", "user_id", v.UserID, "err", err)
	}
	phone, err := s.pii.Decrypt("volunteers.phone", v.PhoneEnc)
	if err != nil {
		s.log.Error("phone does not decrypt", "user_id", v.UserID, "err", err)
	}
	if !full {
		name, phone = MaskName(name), MaskPhone(phone)
	}
	v.RealName, v.Phone = name, phone
	if v.Skills == nil {
		v.Skills = []string{}
	}
	return v
}

func checkRealName(fe model.FieldErrors, name string) string {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > 32 || hasControl(name) {
		fe.Add("real_name", "必须是 1–32 个字符")
	}
	return name
}

func checkPhone(fe model.FieldErrors, phone string) string {
	phone = strings.TrimSpace(phone)
	if !mobilePattern.MatchString(phone) {
		fe.Add("phone", "必须是 11 位手机号")
	}
	return phone
}

// checkSkills trims and de-duplicates skills: at most 20, each 1–32 characters.
func checkSkills(fe model.FieldErrors, skills []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, sk := range skills {
		sk = strings.TrimSpace(sk)
		if n := utf8.RuneCountInString(sk); n < 1 || n > 32 || hasControl(sk) {
			fe.Add("skills", "每项必须是 1–32 个字符")
			continue
		}
		if !seen[sk] {
			seen[sk] = true
			out = append(out, sk)
		}
	}
	if len(out) > 20 {
		fe.Add("skills", "最多 20 项")
	}
	return out
}
