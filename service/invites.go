package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"

	"jindalai/model"
)

// inviteAlphabet has no look-alike characters (0/O, 1/I/L).
const inviteAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// inviteCodeLen gives 31^12 ≈ 2^59 codes: not guessable under the rate limit.
const inviteCodeLen = 12

// inviteCodeField binds an invite code sealed in a kept reply.
const inviteCodeField = "idempotency_keys.reply.invite_code"

// sealedInvite is an invite reply as kept with its Idempotency-Key: the code
// only encrypted (the invites table has only its hash).
type sealedInvite struct {
	CodeEnc   []byte    `json:"code_enc"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateInvite creates a single-use invite code for a staff role. City admins
// may invite to any station or organization; station admins only social
// workers and station admins of their own station. A repeat of idem (nil:
// no Idempotency-Key) returns the first reply, the same code, and creates
// nothing; the code is kept with the key only encrypted.
// Errors: invalid_argument (role, station_id, org_id), permission_denied,
// conflict (Idempotency-Key used for another request), unavailable, internal.
func (a *Auth) CreateInvite(ctx context.Context, p model.Principal, idem *model.Idempotency, r model.Role) (model.Invite, error) {
	switch r.Role {
	case model.RoleSocialWorker, model.RoleStationAdmin:
		if r.StationID <= 0 {
			return model.Invite{}, model.InvalidField("station_id", "必填")
		}
		if r.OrgID != 0 {
			return model.Invite{}, model.InvalidField("org_id", "该角色不属于社会组织")
		}
		if !p.IsCityAdmin() && !p.HasStationRole(r.StationID, model.RoleStationAdmin) {
			return model.Invite{}, model.Errorf(model.CodePermissionDenied, "只能为本站点邀请工作人员")
		}
		if err := checkScope(ctx, a.scopes, r.StationID, 0); err != nil {
			return model.Invite{}, err
		}
	case model.RoleOrgAdmin:
		if r.OrgID <= 0 {
			return model.Invite{}, model.InvalidField("org_id", "必填")
		}
		if r.StationID != 0 {
			return model.Invite{}, model.InvalidField("station_id", "该角色不属于站点")
		}
		if !p.IsCityAdmin() {
			return model.Invite{}, model.Errorf(model.CodePermissionDenied, "只有民政局管理员可以邀请社会组织管理员")
		}
		if err := checkScope(ctx, a.scopes, 0, r.OrgID); err != nil {
			return model.Invite{}, err
		}
	default:
		return model.Invite{}, model.InvalidField("role", "必须是 social_worker、station_admin 或 org_admin")
	}
	code := randomCode(inviteCodeLen)
	expires := time.Now().Add(a.cfg.InviteTTL).Truncate(time.Millisecond)
	sealed, err := json.Marshal(sealedInvite{CodeEnc: a.pii.Encrypt(inviteCodeField, code), ExpiresAt: expires.In(a.loc)})
	if err != nil {
		return model.Invite{}, model.Wrap(model.CodeInternal, err, "")
	}
	raw, err := a.store.CreateInvite(ctx, idem, hashInvite(code), r, p.UserID, expires, sealed)
	if err != nil {
		return model.Invite{}, err
	}
	var kept sealedInvite
	if err := json.Unmarshal(raw, &kept); err != nil {
		return model.Invite{}, model.Wrap(model.CodeInternal, err, "")
	}
	if code, err = a.pii.Decrypt(inviteCodeField, kept.CodeEnc); err != nil {
		return model.Invite{}, model.Wrap(model.CodeInternal, err, "")
	}
	return model.Invite{Code: code, Role: r, ExpiresAt: kept.ExpiresAt}, nil
}

// checkScope requires the station (stationID > 0) or else the organization
// orgID to exist; a nil checker accepts any. Errors: invalid_argument
// (station_id or org_id), the checker's.
func checkScope(ctx context.Context, sc ScopeChecker, stationID, orgID int64) error {
	if sc == nil {
		return nil
	}
	field, exists, id := "station_id", sc.StationExists, stationID
	if stationID <= 0 {
		field, exists, id = "org_id", sc.OrgExists, orgID
	}
	ok, err := exists(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return model.InvalidField(field, "不存在")
	}
	return nil
}

// requireExists returns not_found naming what unless exists finds id: for
// an object named in the path, where checkScope's names a body field.
// Errors: not_found, exists's.
func requireExists(ctx context.Context, exists func(context.Context, int64) (bool, error), id int64, what string) error {
	ok, err := exists(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return model.NotFound(what)
	}
	return nil
}

// RedeemInvite grants the caller the invite's role. The role change revokes
// every session of the caller, so the reply carries a fresh token.
// Errors: invalid_argument (invite_code unknown or expired), conflict (already
// used; the caller already holds the role, and the code stays unused), too_many_requests, unavailable, internal.
func (a *Auth) RedeemInvite(ctx context.Context, p model.Principal, code string) (model.Login, error) {
	if err := allowLimit(ctx, a.limit, "invite", formatID(p.UserID), a.cfg.InvitePerMinuteUser); err != nil {
		return model.Login{}, err
	}
	code = strings.ToUpper(strings.TrimSpace(code))
	if len(code) != inviteCodeLen {
		return model.Login{}, model.InvalidField("invite_code", "邀请码无效")
	}
	if _, err := a.store.RedeemInvite(ctx, hashInvite(code), p.UserID); err != nil {
		return model.Login{}, err
	}
	return a.ReissueAfterRoleChange(ctx, p.UserID)
}

// ReplaceSessions revokes every session of user.ID and returns a fresh one
// carrying user.Roles as given: the caller read them in the transaction that
// changes them, before it commits. Errors: unavailable, internal.
func (a *Auth) ReplaceSessions(ctx context.Context, user model.User) (model.Login, error) {
	if err := a.store.RevokeUserSessions(ctx, user.ID); err != nil {
		return model.Login{}, err
	}
	return a.newSession(ctx, user)
}

// EndSession ends the session of a token of userID, such as one minted for a
// role change that did not commit. Errors: unavailable.
func (a *Auth) EndSession(ctx context.Context, userID int64, token string) error {
	return a.store.DeleteSession(ctx, userID, hashToken(token))
}

// EndOtherSessions ends every session of userID but token's: the ones that
// logins minted from the old roles while a change that had already minted
// token was committing. Errors: unavailable.
func (a *Auth) EndOtherSessions(ctx context.Context, userID int64, token string) error {
	return a.store.RevokeOtherSessions(ctx, userID, hashToken(token))
}

// ReissueAfterRoleChange revokes every session of a user whose roles changed
// and returns a fresh session carrying the new roles.
// Errors: not_found, unavailable, internal.
func (a *Auth) ReissueAfterRoleChange(ctx context.Context, userID int64) (model.Login, error) {
	if err := a.store.RevokeUserSessions(ctx, userID); err != nil {
		return model.Login{}, err
	}
	user, err := a.store.GetUser(ctx, userID)
	if err != nil {
		return model.Login{}, err
	}
	return a.newSession(ctx, user)
}

func hashInvite(code string) []byte {
	sum := sha256.Sum256([]byte("invite:" + code))
	return sum[:]
}

// randomCode returns n characters drawn uniformly from inviteAlphabet.
func randomCode(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, 1)
	limit := 256 - 256%len(inviteAlphabet)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			panic("invite: no randomness: " + err.Error())
		}
		if int(buf[0]) < limit {
			out = append(out, inviteAlphabet[int(buf[0])%len(inviteAlphabet)])
		}
	}
	return string(out)
}
