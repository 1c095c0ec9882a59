package model

import "time"

// Volunteer is a registered volunteer. RealName and Phone are what replies
// show: masked unless the reader is entitled to them; the Enc fields are
// what the store keeps.
type Volunteer struct {
	UserID      int64     `json:"user_id"`
	RealName    string    `json:"real_name"`
	Phone       string    `json:"phone"`
	Skills      []string  `json:"skills"`
	OrgID       int64     `json:"org_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	RealNameEnc []byte    `json:"-"`
	PhoneEnc    []byte    `json:"-"`
	PhoneIndex  []byte    `json:"-"`
}

// VolunteerRegistration is the reply to a registration: the volunteer and,
// because the volunteer role was granted, a fresh session.
type VolunteerRegistration struct {
	Volunteer Volunteer `json:"volunteer"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// ActivityStatus is the state of an activity.
type ActivityStatus string

// The activity states.
const (
	ActivityPublished ActivityStatus = "published"
	ActivityCancelled ActivityStatus = "cancelled"
)

// Activity is a volunteer activity published by a station or an organization.
type Activity struct {
	ID              int64          `json:"id"`
	Title           string         `json:"title"`
	Description     string         `json:"description"`
	Category        string         `json:"category"`
	StationID       int64          `json:"station_id,omitempty"`
	OrgID           int64          `json:"org_id,omitempty"`
	Lat             float64        `json:"lat"`
	Lng             float64        `json:"lng"`
	Address         string         `json:"address"`
	StartsAt        time.Time      `json:"starts_at"`
	EndsAt          time.Time      `json:"ends_at"`
	SignupDeadline  time.Time      `json:"signup_deadline"`
	Capacity        int            `json:"capacity"`
	Confirmed       int            `json:"confirmed"`
	Remaining       int            `json:"remaining"`
	Waitlist        bool           `json:"waitlist"`
	CreditedHours   float64        `json:"credited_hours"`
	CreditedMinutes int            `json:"-"`
	Status          ActivityStatus `json:"status"`
	CancelReason    string         `json:"cancel_reason,omitempty"`
	CreatedBy       int64          `json:"-"`
	CreatedAt       time.Time      `json:"created_at"`
	// DistanceM is set in lists near a location: great-circle metres.
	DistanceM *int `json:"distance_m,omitempty"`
	// MyClaim is the caller's live claim, on the detail.
	MyClaim *Claim `json:"my_claim,omitempty"`
}

// ActivityFilter selects activities for a list. Without Near, the list is by
// start time (After* is the keyset cursor); with Near, the store returns the
// candidates inside the bounding box, at most Limit, by start time.
type ActivityFilter struct {
	Category string
	// EndsAfter keeps activities that have not ended at that instant.
	EndsAfter time.Time
	// StartsFrom, when set, keeps activities starting at or after it.
	StartsFrom time.Time
	// StartsAfter bounds the scan: no listed activity starts before it.
	StartsAfter time.Time
	// Box, when set, is the bounding box [MinLat, MaxLat] × [MinLng, MaxLng].
	Box *BoundingBox
	// AfterStart and AfterID are the keyset cursor of the list by start time.
	AfterStart time.Time
	AfterID    int64
	Limit      int
}

// BoundingBox is a latitude/longitude rectangle.
type BoundingBox struct {
	MinLat, MaxLat, MinLng, MaxLng float64
}

// ClaimStatus is the state of a claim.
type ClaimStatus string

// The claim states.
const (
	ClaimConfirmed  ClaimStatus = "confirmed"
	ClaimWaitlisted ClaimStatus = "waitlisted"
	ClaimCancelled  ClaimStatus = "cancelled"
)

// Claim is a volunteer's claim of a place in an activity.
type Claim struct {
	ID          int64       `json:"id"`
	ActivityID  int64       `json:"activity_id"`
	VolunteerID int64       `json:"volunteer_id"`
	Status      ClaimStatus `json:"status"`
	// WaitlistPosition is 1 for the first in line (waitlisted claims only).
	WaitlistPosition int        `json:"waitlist_position,omitempty"`
	CheckedInAt      *time.Time `json:"checked_in_at,omitempty"`
	CheckinMethod    string     `json:"checkin_method,omitempty"`
	CheckedOutAt     *time.Time `json:"checked_out_at,omitempty"`
	CreditedMinutes  int        `json:"credited_minutes"`
	MinutesCheckedBy int64      `json:"minutes_checked_by,omitempty"`
	MinutesCheckedAt *time.Time `json:"minutes_checked_at,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	// Activity is the claimed activity, in the list of my claims.
	Activity *Activity `json:"activity,omitempty"`
	// Volunteer is the claimant, in the organizer's list.
	Volunteer *Volunteer `json:"volunteer,omitempty"`
}

// CheckinCode is the short code an organizer shows for check-in.
type CheckinCode struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
}

// HoursKind tells what a ledger row records.
type HoursKind string

// The ledger row kinds.
const (
	HoursServed     HoursKind = "served"
	HoursCorrection HoursKind = "correction"
)

// HoursEntry is one row of the hours ledger.
type HoursEntry struct {
	ID          int64     `json:"id"`
	ActivityID  int64     `json:"activity_id"`
	Title       string    `json:"title"`
	VolunteerID int64     `json:"-"`
	ClaimID     int64     `json:"-"`
	Kind        HoursKind `json:"kind"`
	Minutes     int       `json:"minutes"`
	// FromMinutes, ToMinutes, Reason and RecordedBy describe a correction.
	FromMinutes *int      `json:"from_minutes,omitempty"`
	ToMinutes   *int      `json:"to_minutes,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	RecordedBy  int64     `json:"recorded_by"`
	At          time.Time `json:"at"`
}

// Hours is a volunteer's total and one page of ledger rows, newest first.
type Hours struct {
	TotalMinutes int64        `json:"total_minutes"`
	Items        []HoursEntry `json:"items"`
	NextCursor   string       `json:"next_cursor"`
}

// MemberHours is one organization member's minutes in a period.
type MemberHours struct {
	UserID     int64  `json:"user_id"`
	RealName   string `json:"real_name"`
	Minutes    int64  `json:"minutes"`
	Activities int    `json:"activities"`
	// RealNameEnc is what the store reads; RealName is filled from it.
	RealNameEnc []byte `json:"-"`
}
