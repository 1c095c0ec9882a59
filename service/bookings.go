package service

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"jindalai/model"
)

// BookingStore is the storage of offerings, slots, closed days and bookings.
type BookingStore interface {
	CreateOffering(ctx context.Context, idem *model.Idempotency, o model.Offering, createdBy int64, at time.Time) (model.Offering, error)
	GetOffering(ctx context.Context, id int64) (model.Offering, error)
	UpdateOffering(ctx context.Context, id int64, p model.OfferingPatch, at time.Time) (model.Offering, error)
	ListOfferings(ctx context.Context, stationID int64, includeInactive bool, page model.Page) (model.List[model.Offering], error)

	AddClosedDate(ctx context.Context, idem *model.Idempotency, d model.ClosedDate, createdBy int64, at time.Time) (model.ClosedDate, error)
	DeleteClosedDate(ctx context.Context, stationID int64, date string) error
	ClosedDates(ctx context.Context, stationID int64, from, to string) ([]model.ClosedDate, error)

	CreateSlots(ctx context.Context, idem *model.Idempotency, offeringID int64, slots []model.NewSlot, skipped []model.SkippedSlot, createdBy int64, at time.Time) (model.SlotBatch, error)
	OpenSlotStarts(ctx context.Context, offeringID int64, from, to time.Time) ([]time.Time, error)
	GetSlot(ctx context.Context, id int64) (model.Slot, error)
	ListSlots(ctx context.Context, offeringID int64, from, to time.Time, page model.Page) (model.List[model.Slot], error)
	DeleteSlot(ctx context.Context, id int64) error
	CancelSlot(ctx context.Context, id int64, note string, at time.Time, notify func(model.Booking) model.Notification) (model.Slot, error)

	Book(ctx context.Context, idem *model.Idempotency, a model.BookingAttempt, prepare func(sl model.Slot, noShows int) (*time.Time, error), notify func(model.Booking) model.Notification) (model.Booking, error)
	GetBooking(ctx context.Context, id int64) (model.Booking, error)
	CancelBooking(ctx context.Context, id int64, by, note string, cutoff, at time.Time, notify func(model.Booking) model.Notification) (model.Booking, error)
	MarkBooking(ctx context.Context, id int64, status model.BookingStatus, by int64, at time.Time) (model.Booking, error)
	ListUserBookings(ctx context.Context, userID int64, status model.BookingStatus, page model.Page) (model.List[model.Booking], error)
	ListStationBookings(ctx context.Context, stationID int64, from, to time.Time, page model.Page) (model.List[model.Booking], error)

	DueReminders(ctx context.Context, at time.Time, limit int) ([]int64, error)
	ClaimReminder(ctx context.Context, id int64, at time.Time, notify func(model.Booking) model.Notification) (bool, error)
}

// StationTree tells which stations exist and which lie at or below a
// station (a station admin also manages the stations below their own). The
// stations service implements it.
type StationTree interface {
	StationExists(ctx context.Context, id int64) (bool, error)
	Subtree(ctx context.Context, stationID int64) ([]int64, error)
}

// BookingsConfig holds the booking rules from config.
type BookingsConfig struct {
	// CloseBefore: bookings close this long before a slot starts.
	CloseBefore time.Duration
	// CancelBefore: a resident may cancel until this long before the start.
	CancelBefore time.Duration
	// RemindBefore: the reminder is due this long before the start (0: none).
	RemindBefore time.Duration
	// NoShowLimit no-shows at slots within NoShowWindow block new bookings (0: never).
	NoShowLimit  int
	NoShowWindow time.Duration
	// ReminderEvery is how often the reminder loop looks for due reminders.
	ReminderEvery time.Duration
	// Now is the clock (nil: time.Now); tests move it instead of sleeping.
	Now func() time.Time
}

// Bookings runs station service offerings, their slots, closed days,
// residents' bookings and booking reminders.
type Bookings struct {
	store    BookingStore
	stations StationTree
	pii      *PII
	cfg      BookingsConfig
	loc      *time.Location
	log      *slog.Logger
	now      func() time.Time
}

// NewBookings returns the bookings service. stations may be nil until the
// stations service exists: every station is then taken to exist, with no
// stations below it.
func NewBookings(store BookingStore, stations StationTree, pii *PII, cfg BookingsConfig, loc *time.Location, log *slog.Logger) *Bookings {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	if cfg.ReminderEvery <= 0 {
		cfg.ReminderEvery = 5 * time.Second
	}
	return &Bookings{store: store, stations: stations, pii: pii, cfg: cfg, loc: loc, log: log, now: now}
}

// canManage reports whether p is staff of stationID: a social worker or
// station admin there, a station admin of a station above it, or a city admin.
func (s *Bookings) canManage(ctx context.Context, p model.Principal, stationID int64) (bool, error) {
	if p.IsCityAdmin() || p.HasStationRole(stationID, model.RoleSocialWorker, model.RoleStationAdmin) {
		return true, nil
	}
	if s.stations == nil {
		return false, nil
	}
	for _, top := range p.StationIDs(model.RoleStationAdmin) {
		below, err := s.stations.Subtree(ctx, top)
		if err != nil {
			return false, err
		}
		if slices.Contains(below, stationID) {
			return true, nil
		}
	}
	return false, nil
}

// requireStaff returns permission_denied unless p is staff of stationID.
func (s *Bookings) requireStaff(ctx context.Context, p model.Principal, stationID int64) error {
	ok, err := s.canManage(ctx, p, stationID)
	if err != nil {
		return err
	}
	if !ok {
		return model.Errorf(model.CodePermissionDenied, "只能管理本站点（及下级站点）的预约服务")
	}
	return nil
}

// requireStation returns not_found when the station does not exist.
func (s *Bookings) requireStation(ctx context.Context, stationID int64) error {
	if s.stations == nil {
		return nil
	}
	ok, err := s.stations.StationExists(ctx, stationID)
	if err != nil {
		return err
	}
	if !ok {
		return model.NotFound("站点")
	}
	return nil
}

// clock returns the service's now, truncated as the database keeps it.
func (s *Bookings) clock() time.Time { return s.now().Truncate(time.Millisecond) }

func (s *Bookings) fmtTime(t time.Time) string { return t.In(s.loc).Format("2006-01-02 15:04") }

// cleanText trims s and checks it has at most maxRunes printable characters.
func cleanText(fe model.FieldErrors, field, s string, maxRunes int, required bool) string {
	s = strings.TrimSpace(s)
	switch {
	case required && s == "":
		fe.Add(field, "必填")
	case !utf8.ValidString(s) || hasControl(s):
		fe.Add(field, "含有非法字符")
	case utf8.RuneCountInString(s) > maxRunes:
		fe.Add(field, fmt.Sprintf("最多 %d 个字符", maxRunes))
	}
	return s
}

func bookingPage(id int64) string { return "pages/booking/detail?id=" + formatID(id) }

// confirmed is the booking_confirmed notification of a new booking.
func (s *Bookings) confirmed(b model.Booking) model.Notification {
	when := s.fmtTime(b.StartsAt)
	return model.Notification{
		UserID: b.UserID, Kind: "booking_confirmed", Title: "预约成功",
		Body: fmt.Sprintf("您已成功预约「%s」，时间：%s，请准时到站。", b.ServiceName, when),
		Data: map[string]string{"title": b.ServiceName, "time": when, "status": "已预约", "note": b.Note},
		Page: bookingPage(b.ID), RefType: "booking", RefID: b.ID,
	}
}

// reminder is the booking_reminder notification of a booking.
func (s *Bookings) reminder(b model.Booking) model.Notification {
	when := s.fmtTime(b.StartsAt)
	return model.Notification{
		UserID: b.UserID, Kind: "booking_reminder", Title: "预约提醒",
		Body: fmt.Sprintf("您预约的「%s」将于 %s 开始，请准时到站。", b.ServiceName, when),
		Data: map[string]string{"title": b.ServiceName, "time": when, "status": "即将开始", "note": "如不能到场请提前取消"},
		Page: bookingPage(b.ID), RefType: "booking", RefID: b.ID,
	}
}

// slotCancelled is the slot_cancelled notification of a booking whose slot
// the station cancelled.
func (s *Bookings) slotCancelled(b model.Booking) model.Notification {
	when := s.fmtTime(b.StartsAt)
	return model.Notification{
		UserID: b.UserID, Kind: "slot_cancelled", Title: "预约时段已取消",
		Body: fmt.Sprintf("很抱歉，您预约的「%s」（%s）已被站点取消。%s", b.ServiceName, when, reasonSuffix(b.CancelNote)),
		Data: map[string]string{"title": b.ServiceName, "time": when, "status": "已取消", "note": b.CancelNote},
		Page: bookingPage(b.ID), RefType: "booking", RefID: b.ID,
	}
}

// cancelledByStation is the booking_cancelled_by_station notification.
func (s *Bookings) cancelledByStation(b model.Booking) model.Notification {
	n := s.slotCancelled(b)
	n.Kind, n.Title = "booking_cancelled_by_station", "预约已被站点取消"
	n.Body = fmt.Sprintf("很抱歉，您预约的「%s」（%s）已被站点取消。%s", b.ServiceName, n.Data["time"], reasonSuffix(b.CancelNote))
	return n
}

func reasonSuffix(note string) string {
	if note == "" {
		return "如有疑问请联系站点。"
	}
	return "原因：" + note
}
