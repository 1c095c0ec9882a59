package model

import "time"

// RoleName is one of the roles of API.md.
type RoleName string

// The roles. Every user is a resident; staff roles carry a scope.
const (
	RoleResident     RoleName = "resident"
	RoleSocialWorker RoleName = "social_worker"
	RoleStationAdmin RoleName = "station_admin"
	RoleVolunteer    RoleName = "volunteer"
	RoleOrgAdmin     RoleName = "org_admin"
	RoleCityAdmin    RoleName = "city_admin"
)

// Role is a role with its scope: StationID for social workers and station
// admins, OrgID for organization admins (and a volunteer's organization).
type Role struct {
	Role      RoleName `json:"role"`
	StationID int64    `json:"station_id,omitempty"`
	OrgID     int64    `json:"org_id,omitempty"`
}

// User is an account. Phone holds the plain number only in memory (it is
// encrypted at rest); PhoneMasked is what replies show.
type User struct {
	ID          int64     `json:"id"`
	OpenID      string    `json:"-"`
	UnionID     string    `json:"-"`
	Nickname    string    `json:"nickname"`
	AvatarURL   string    `json:"avatar_url"`
	Phone       string    `json:"-"`
	PhoneEnc    []byte    `json:"-"`
	PhoneMasked string    `json:"phone"`
	Roles       []Role    `json:"roles"`
	CreatedAt   time.Time `json:"-"`
}

// Principal is the authenticated caller of a request: who and with which roles.
type Principal struct {
	UserID int64
	Roles  []Role
	// TokenHash identifies the session (for logout).
	TokenHash string
}

// Has reports whether the principal holds role (any scope).
func (p Principal) Has(role RoleName) bool {
	for _, r := range p.Roles {
		if r.Role == role {
			return true
		}
	}
	return false
}

// IsCityAdmin reports whether the principal is a city admin.
func (p Principal) IsCityAdmin() bool { return p.Has(RoleCityAdmin) }

// StationIDs returns the stations where the principal holds any of roles.
func (p Principal) StationIDs(roles ...RoleName) []int64 {
	var ids []int64
	for _, r := range p.Roles {
		for _, want := range roles {
			if r.Role == want && r.StationID != 0 {
				ids = append(ids, r.StationID)
				break
			}
		}
	}
	return ids
}

// OrgIDs returns the organizations where the principal holds any of roles.
func (p Principal) OrgIDs(roles ...RoleName) []int64 {
	var ids []int64
	for _, r := range p.Roles {
		for _, want := range roles {
			if r.Role == want && r.OrgID != 0 {
				ids = append(ids, r.OrgID)
				break
			}
		}
	}
	return ids
}

// HasStationRole reports whether the principal holds one of roles at station.
func (p Principal) HasStationRole(stationID int64, roles ...RoleName) bool {
	for _, id := range p.StationIDs(roles...) {
		if id == stationID {
			return true
		}
	}
	return false
}

// HasOrgRole reports whether the principal holds one of roles at org.
func (p Principal) HasOrgRole(orgID int64, roles ...RoleName) bool {
	for _, id := range p.OrgIDs(roles...) {
		if id == orgID {
			return true
		}
	}
	return false
}

// Invite is a single-use code that grants a role.
type Invite struct {
	Code      string    `json:"code"`
	Role      Role      `json:"-"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Login is the reply to a login or a role change: a fresh token and the user.
type Login struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// Idempotency identifies a create sent with an Idempotency-Key: the user, the
// key, the operation (scope) and a fingerprint of the request body.
type Idempotency struct {
	UserID      int64
	Key         string
	Scope       string
	Fingerprint [32]byte
}

// RateLimit is a named limit of PerMinute calls a minute per subject (a user
// or an IP), with bursts up to PerMinute.
type RateLimit struct {
	Name      string
	PerMinute int
}
