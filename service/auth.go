package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"jindalai/model"
)

// AccountStore is what accounts, sessions and invites need from storage.
type AccountStore interface {
	UpsertUserByOpenID(ctx context.Context, openID, unionID string) (model.User, error)
	GetUser(ctx context.Context, id int64) (model.User, error)
	GetProfile(ctx context.Context, id int64) (model.User, error)
	GrantRole(ctx context.Context, userID int64, r model.Role) error
	UpdateProfile(ctx context.Context, userID int64, nickname, avatarURL *string) error
	SetPhone(ctx context.Context, userID int64, enc, index []byte) error
	CreateInvite(ctx context.Context, idem *model.Idempotency, codeHash []byte, r model.Role, createdBy int64,
		expiresAt time.Time, reply json.RawMessage) (json.RawMessage, error)
	RedeemInvite(ctx context.Context, codeHash []byte, userID int64) (model.Role, error)
	CreateSession(ctx context.Context, tokenHash string, p model.Principal, created time.Time, ttl, maxAge time.Duration) error
	TouchSession(ctx context.Context, tokenHash string, ttl time.Duration) (model.Principal, time.Time, error)
	TouchSessionProfile(ctx context.Context, tokenHash string, ttl time.Duration) (model.Principal, time.Time, model.User, error)
	DeleteSession(ctx context.Context, userID int64, tokenHash string) error
	RevokeUserSessions(ctx context.Context, userID int64) error
	RevokeOtherSessions(ctx context.Context, userID int64, keepHash string) error
}

// ScopeChecker tells whether a station or organization exists (used to
// validate invites). The stations service implements it.
type ScopeChecker interface {
	StationExists(ctx context.Context, id int64) (bool, error)
	OrgExists(ctx context.Context, id int64) (bool, error)
}

// WeChatAuth is the part of WeChat that logs users in.
type WeChatAuth interface {
	Code2Session(ctx context.Context, code string) (model.WeChatSession, error)
	PhoneNumber(ctx context.Context, code string) (string, error)
}

// RateLimiter allows perMinute calls a minute per subject of a named limit.
type RateLimiter interface {
	Allow(ctx context.Context, name, subject string, perMinute int) (bool, time.Duration, error)
}

// AuthConfig holds the account rules from config.
type AuthConfig struct {
	SessionTTL          time.Duration
	SessionMaxAge       time.Duration
	InviteTTL           time.Duration
	BootstrapAdmins     []string
	LoginPerMinuteIP    int
	InvitePerMinuteUser int
	// WritesPerMinuteUser caps every authenticated write (POST, PATCH, PUT, DELETE) per user.
	WritesPerMinuteUser int
}

// Auth logs users in, keeps their sessions and grants roles.
type Auth struct {
	store  AccountStore
	scopes ScopeChecker
	wechat WeChatAuth
	limit  RateLimiter
	pii    *PII
	cfg    AuthConfig
	loc    *time.Location
	log    *slog.Logger
	admins map[string]bool
	// writes takes the write-limit tokens of concurrent writes in one round
	// trip (nil when the limiter cannot batch).
	writes *group[string, error]
}

// NewAuth returns the account service. scopes may be nil until stations exist.
func NewAuth(store AccountStore, scopes ScopeChecker, wx WeChatAuth, limit RateLimiter, pii *PII, cfg AuthConfig, loc *time.Location, log *slog.Logger) *Auth {
	admins := make(map[string]bool, len(cfg.BootstrapAdmins))
	for _, id := range cfg.BootstrapAdmins {
		admins[id] = true
	}
	a := &Auth{store: store, scopes: scopes, wechat: wx, limit: limit, pii: pii, cfg: cfg, loc: loc, log: log, admins: admins}
	if bl, ok := limit.(BatchRateLimiter); ok && cfg.WritesPerMinuteUser > 0 {
		a.writes = newGroup(256, 1, 0, func(ctx context.Context, users []string) []error {
			return allowEach(ctx, bl, users, []model.RateLimit{{Name: WriteLimit, PerMinute: cfg.WritesPerMinuteUser}})
		}, groupError)
	}
	return a
}

// Login exchanges a wx.login code for a session: the user is created on first
// login and bootstrap admins get city_admin. clientIP is rate limited.
// Errors: invalid_argument (bad code), too_many_requests, unavailable, internal.
func (a *Auth) Login(ctx context.Context, clientIP, code string) (model.Login, error) {
	if err := allowLimit(ctx, a.limit, "login", clientIP, a.cfg.LoginPerMinuteIP); err != nil {
		return model.Login{}, err
	}
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 128 {
		return model.Login{}, model.InvalidField("code", "必须是 1–128 个字符的 wx.login 凭证")
	}
	sess, err := a.wechat.Code2Session(ctx, code)
	if err != nil {
		return model.Login{}, err
	}
	if sess.OpenID == "" {
		return model.Login{}, model.Errorf(model.CodeUnavailable, "微信登录暂不可用")
	}
	user, err := a.store.UpsertUserByOpenID(ctx, sess.OpenID, sess.UnionID)
	if err != nil {
		return model.Login{}, err
	}
	if a.admins[sess.OpenID] && !(model.Principal{Roles: user.Roles}).IsCityAdmin() {
		if err := a.store.GrantRole(ctx, user.ID, model.Role{Role: model.RoleCityAdmin}); err != nil {
			return model.Login{}, err
		}
		a.log.Info("bootstrap city admin granted", "user_id", user.ID)
		if user, err = a.store.GetUser(ctx, user.ID); err != nil {
			return model.Login{}, err
		}
	}
	return a.newSession(ctx, user)
}

// newSession issues a fresh random token for user and returns the login reply.
func (a *Auth) newSession(ctx context.Context, user model.User) (model.Login, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return model.Login{}, model.Wrap(model.CodeInternal, err, "")
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	created := time.Now()
	p := model.Principal{UserID: user.ID, Roles: user.Roles}
	if err := a.store.CreateSession(ctx, hashToken(token), p, created, a.cfg.SessionTTL, a.cfg.SessionMaxAge); err != nil {
		return model.Login{}, err
	}
	return model.Login{
		Token:     token,
		ExpiresAt: created.Add(a.cfg.SessionTTL).In(a.loc).Truncate(time.Second),
		User:      a.present(user),
	}, nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormedToken reports whether token has the shape newSession gives: 43
// characters of unpadded base64url (every authenticated call checks it).
func wellFormedToken(token string) bool {
	if len(token) != 43 {
		return false
	}
	for i := 0; i < len(token); i++ {
		switch c := token[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// Authenticate returns the principal of a bearer token and slides its
// session. Errors: unauthenticated, unavailable.
func (a *Auth) Authenticate(ctx context.Context, token string) (model.Principal, error) {
	if !wellFormedToken(token) {
		return model.Principal{}, errBadToken()
	}
	p, created, err := a.store.TouchSession(ctx, hashToken(token), a.cfg.SessionTTL)
	if err != nil {
		return model.Principal{}, err
	}
	if err := a.checkMaxAge(ctx, p, created); err != nil {
		return model.Principal{}, err
	}
	return p, nil
}

// MeByToken authenticates a bearer token like Authenticate and returns the
// caller's profile too: GET /me in one Redis round trip when the session's
// profile copy is cached. Errors: unauthenticated, not_found, unavailable,
// internal.
func (a *Auth) MeByToken(ctx context.Context, token string) (model.Principal, model.User, error) {
	if !wellFormedToken(token) {
		return model.Principal{}, model.User{}, errBadToken()
	}
	p, created, u, err := a.store.TouchSessionProfile(ctx, hashToken(token), a.cfg.SessionTTL)
	if err != nil {
		return model.Principal{}, model.User{}, err
	}
	if err := a.checkMaxAge(ctx, p, created); err != nil {
		return model.Principal{}, model.User{}, err
	}
	u.Roles = p.Roles
	return p, a.present(u), nil
}

func errBadToken() error {
	return model.Errorf(model.CodeUnauthenticated, "登录已失效，请重新登录")
}

// checkMaxAge ends a session older than SessionMaxAge.
func (a *Auth) checkMaxAge(ctx context.Context, p model.Principal, created time.Time) error {
	if time.Since(created) > a.cfg.SessionMaxAge {
		_ = a.store.DeleteSession(ctx, p.UserID, p.TokenHash)
		return model.Errorf(model.CodeUnauthenticated, "登录已过期，请重新登录")
	}
	return nil
}

// WriteLimit names every user's write budget (writes_per_minute_user),
// taken once by every call that changes something: by AllowWrite, or for a
// submit by Requests.Submit together with the submit limit.
const WriteLimit = "write"

// AllowWrite takes one token of the caller's write budget; concurrent
// writes share one Redis round trip. Errors: too_many_requests, unavailable.
func (a *Auth) AllowWrite(ctx context.Context, p model.Principal) error {
	if a.cfg.WritesPerMinuteUser <= 0 {
		return nil
	}
	if a.writes != nil {
		return a.writes.do(ctx, formatID(p.UserID), nil)
	}
	return allowLimit(ctx, a.limit, WriteLimit, formatID(p.UserID), a.cfg.WritesPerMinuteUser)
}

// Logout ends the caller's session at once. Errors: unavailable.
func (a *Auth) Logout(ctx context.Context, p model.Principal) error {
	return a.store.DeleteSession(ctx, p.UserID, p.TokenHash)
}

// Me returns the caller's profile. The roles are the session's: every role
// change revokes the user's sessions, so they are current.
// Errors: not_found, unavailable, internal.
func (a *Auth) Me(ctx context.Context, p model.Principal) (model.User, error) {
	u, err := a.store.GetProfile(ctx, p.UserID)
	if err != nil {
		return model.User{}, err
	}
	u.Roles = p.Roles
	return a.present(u), nil
}

// ProfileUpdate is a PATCH of the caller's profile; nil fields stay.
type ProfileUpdate struct {
	Nickname  *string
	AvatarURL *string
}

// UpdateMe changes the caller's nickname and/or avatar.
// Errors: invalid_argument (nickname, avatar_url), not_found, unavailable, internal.
func (a *Auth) UpdateMe(ctx context.Context, p model.Principal, u ProfileUpdate) (model.User, error) {
	fe := model.FieldErrors{}
	if u.Nickname != nil {
		n := strings.TrimSpace(*u.Nickname)
		if n == "" || utf8.RuneCountInString(n) > 32 || !utf8.ValidString(n) || hasControl(n) {
			fe.Add("nickname", "必须是 1–32 个字符")
		}
		u.Nickname = &n
	}
	if u.AvatarURL != nil {
		if v := *u.AvatarURL; v != "" && (len(v) > 512 || !strings.HasPrefix(v, "https://")) {
			fe.Add("avatar_url", "必须是 https 地址，最长 512 个字符")
		}
	}
	if err := fe.Err(); err != nil {
		return model.User{}, err
	}
	if u.Nickname == nil && u.AvatarURL == nil {
		return model.User{}, model.InvalidField("nickname", "至少提供 nickname 或 avatar_url")
	}
	if err := a.store.UpdateProfile(ctx, p.UserID, u.Nickname, u.AvatarURL); err != nil {
		return model.User{}, err
	}
	return a.Me(ctx, p)
}

// BindPhone binds the phone number behind a getPhoneNumber code; it is stored
// encrypted with a blind index. Errors: invalid_argument (code), unavailable, internal.
func (a *Auth) BindPhone(ctx context.Context, p model.Principal, code string) (model.User, error) {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 128 {
		return model.User{}, model.InvalidField("code", "必须是 1–128 个字符的手机号凭证")
	}
	phone, err := a.wechat.PhoneNumber(ctx, code)
	if err != nil {
		return model.User{}, err
	}
	if err := a.store.SetPhone(ctx, p.UserID, a.pii.Encrypt("users.phone", phone), a.pii.Index("phone", phone)); err != nil {
		return model.User{}, err
	}
	return a.Me(ctx, p)
}

// present fills the masked phone of a user read from the store.
func (a *Auth) present(u model.User) model.User {
	if len(u.PhoneEnc) > 0 {
		phone, err := a.pii.Decrypt("users.phone", u.PhoneEnc)
		if err != nil {
			a.log.Error("phone does not decrypt", "user_id", u.ID, "err", err)
		}
		u.PhoneMasked = MaskPhone(phone)
	}
	u.Roles = append([]model.Role{{Role: model.RoleResident}}, u.Roles...)
	return u
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
