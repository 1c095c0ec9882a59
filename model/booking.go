package model

import "time"

// Offering is a bookable service of a station (心理咨询, 政策咨询, 上门服务…).
type Offering struct {
	ID          int64     `json:"id"`
	StationID   int64     `json:"station_id"`
	Name        string    `json:"name"`
	Category    string    `json:"category"`
	Description string    `json:"description"`
	DurationMin int       `json:"duration_min"`
	Active      bool      `json:"active"`
	CreatedAt   time.Time `json:"created_at"`
}

// The states of a slot.
const (
	SlotOpen      = "open"
	SlotCancelled = "cancelled"
)

// Slot is a bookable time of an offering with a number of places.
type Slot struct {
	ID        int64     `json:"id"`
	ServiceID int64     `json:"service_id"`
	StationID int64     `json:"station_id"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	Capacity  int       `json:"capacity"`
	Remaining int       `json:"remaining"`
	Status    string    `json:"status"`
}

// BookingStatus is the state of a booking.
type BookingStatus string

// The states of a booking: booked → cancelled | attended | no_show (staff may
// correct attended ↔ no_show).
const (
	BookingBooked    BookingStatus = "booked"
	BookingCancelled BookingStatus = "cancelled"
	BookingAttended  BookingStatus = "attended"
	BookingNoShow    BookingStatus = "no_show"
)

// Who cancelled a booking.
const (
	CancelledByResident = "resident"
	CancelledByStation  = "station"
)

// Booking is a resident's place in a slot. Resident is filled only in staff
// views (a station's bookings of a day).
type Booking struct {
	ID          int64            `json:"id"`
	SlotID      int64            `json:"slot_id"`
	ServiceID   int64            `json:"service_id"`
	ServiceName string           `json:"service_name"`
	StationID   int64            `json:"station_id"`
	UserID      int64            `json:"user_id"`
	Status      BookingStatus    `json:"status"`
	Note        string           `json:"note"`
	StartsAt    time.Time        `json:"starts_at"`
	EndsAt      time.Time        `json:"ends_at"`
	CancelledBy string           `json:"cancelled_by,omitempty"`
	CancelNote  string           `json:"cancel_note,omitempty"`
	CancelledAt *time.Time       `json:"cancelled_at,omitempty"`
	MarkedAt    *time.Time       `json:"marked_at,omitempty"`
	CreatedAt   time.Time        `json:"created_at"`
	Resident    *BookingResident `json:"resident,omitempty"`
}

// BookingResident is who booked, as staff in scope see it. PhoneEnc is the
// stored ciphertext; Phone is what the reply shows.
type BookingResident struct {
	UserID   int64  `json:"user_id"`
	Nickname string `json:"nickname"`
	Phone    string `json:"phone"`
	PhoneEnc []byte `json:"-"`
}

// ClosedDate is a day a station is closed (no slots).
type ClosedDate struct {
	StationID int64  `json:"station_id"`
	Date      string `json:"date"`
	Reason    string `json:"reason"`
}

// OfferingPatch changes an offering; nil fields stay.
type OfferingPatch struct {
	Name        *string
	Category    *string
	Description *string
	DurationMin *int
	Active      *bool
}

// NewSlot is a slot to create.
type NewSlot struct {
	StartsAt time.Time
	EndsAt   time.Time
	Capacity int
}

// SkippedSlot is a time a weekly pattern did not create a slot for, and why:
// closed (the station is closed that day), skip_date (asked to skip), past
// (already begun) or exists (an open slot starts then).
type SkippedSlot struct {
	Date   string `json:"date"`
	Start  string `json:"start,omitempty"`
	Reason string `json:"reason"`
	Note   string `json:"note,omitempty"`
}

// SlotBatch is the reply to a slot create: the slots made, and what a weekly
// pattern skipped.
type SlotBatch struct {
	Items   []Slot        `json:"items"`
	Skipped []SkippedSlot `json:"skipped"`
}

// BookingAttempt is a resident's request for a place in a slot at time At;
// the slot must start after Cutoff (booking closes then). The resident's
// no-shows at slots started since NoShowSince are counted (zero: not counted).
type BookingAttempt struct {
	SlotID      int64
	UserID      int64
	Note        string
	At          time.Time
	Cutoff      time.Time
	NoShowSince time.Time
}

// DueReminder is a booking whose reminder is due, and its station.
type DueReminder struct {
	BookingID int64
	StationID int64
}
