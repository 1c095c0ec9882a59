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

	DueReminders(ctx context.Context, at time.Time, limit int) ([]model.DueReminder, error)
	ClaimReminder(ctx context.Context, id int64, at time.Time, notify func(model.Booking) model.Notification) (bool, error)
}

// StationDirectory is what bookings need from the stations service: which
// stations exist, their names, which lie at or below a station (a station
// admin also manages the stations below their own) and the catalogue.
type StationDirectory interface {
	StationExists(ctx context.Context, id int64) (bool, error)
	StationRef(ctx context.Context, id int64) (model.StationRef, error)
	Subtree(ctx context.Context, stationID int64) ([]int64, error)
	Category(ctx context.Context, code string) (model.Category, error)
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
	stations StationDirectory
	pii      *PII
	cfg      BookingsConfig
	loc      *time.Location
	log      *slog.Logger
	now      func() time.Time
}

// NewBookings returns the bookings service.
func NewBookings(store BookingStore, stations StationDirectory, pii *PII, cfg BookingsConfig, loc *time.Location, log *slog.Logger) *Bookings {
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
// One of p's admin stations missing from the directory (deleted) manages
// nothing; it does not spoil the others. Errors: unavailable.
func (s *Bookings) canManage(ctx context.Context, p model.Principal, stationID int64) (bool, error) {
	if p.IsCityAdmin() || p.HasStationRole(stationID, model.RoleSocialWorker, model.RoleStationAdmin) {
		return true, nil
	}
	for _, top := range p.StationIDs(model.RoleStationAdmin) {
		below, err := s.stations.Subtree(ctx, top)
		if model.IsCode(err, model.CodeNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if slices.Contains(below, stationID) {
			return true, nil
		}
	}
	return false, nil
}

// requireStaff returns permission_denied unless p is staff of stationID (or
// an admin above it), and not_found when a city admin, whom no scope stops,
// names a station that does not exist.
func (s *Bookings) requireStaff(ctx context.Context, p model.Principal, stationID int64) error {
	ok, err := s.canManage(ctx, p, stationID)
	if err != nil {
		return err
	}
	if !ok {
		return model.Errorf(model.CodePermissionDenied, "只能管理本站点（及下级站点）的预约服务")
	}
	if p.IsCityAdmin() {
		return s.requireStation(ctx, stationID)
	}
	return nil
}

// requireStation returns not_found when the station does not exist.
func (s *Bookings) requireStation(ctx context.Context, stationID int64) error {
	return requireExists(ctx, s.stations.StationExists, stationID, "站点")
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

// stationName names a station for a notification; it is read before the
// transaction that inserts the notification, and "" when unknown.
func (s *Bookings) stationName(ctx context.Context, id int64) string {
	ref, err := s.stations.StationRef(ctx, id)
	if err != nil {
		s.log.Warn("station name for a booking notification", "station_id", id, "err", err)
		return ""
	}
	return ref.Name
}

// at says where: " 在北山街道社工站" or "".
func at(station string) string {
	if station == "" {
		return ""
	}
	return "在" + station
}

// notification builds a booking notification of kind about b at station.
func (s *Bookings) notification(b model.Booking, station, kind, title, body, status, note string) model.Notification {
	return model.Notification{
		UserID: b.UserID, Kind: kind, Title: title, Body: body,
		Data: map[string]string{"title": b.ServiceName, "time": s.fmtTime(b.StartsAt), "station": station, "status": status, "note": note},
		Page: bookingPage(b.ID), RefType: "booking", RefID: b.ID,
	}
}

// confirmed returns the booking_confirmed notification builder.
func (s *Bookings) confirmed(station string) func(model.Booking) model.Notification {
	return func(b model.Booking) model.Notification {
		return s.notification(b, station, "booking_confirmed", "预约成功",
			fmt.Sprintf("您已成功预约%s的「%s」，时间：%s，请准时到站。", at(station), b.ServiceName, s.fmtTime(b.StartsAt)), "已预约", b.Note)
	}
}

// reminder returns the booking_reminder notification builder.
func (s *Bookings) reminder(station string) func(model.Booking) model.Notification {
	return func(b model.Booking) model.Notification {
		return s.notification(b, station, "booking_reminder", "预约提醒",
			fmt.Sprintf("您预约%s的「%s」将于 %s 开始，请准时到站。", at(station), b.ServiceName, s.fmtTime(b.StartsAt)), "即将开始", "如不能到场请提前取消")
	}
}

// slotCancelled returns the slot_cancelled notification builder (the
// station cancelled the whole slot).
func (s *Bookings) slotCancelled(station string) func(model.Booking) model.Notification {
	return func(b model.Booking) model.Notification {
		return s.notification(b, station, "slot_cancelled", "预约时段已取消",
			fmt.Sprintf("很抱歉，您预约%s的「%s」（%s）已被站点取消。%s", at(station), b.ServiceName, s.fmtTime(b.StartsAt), reasonSuffix(b.CancelNote)),
			"已取消", b.CancelNote)
	}
}

// cancelledByStation returns the booking_cancelled_by_station notification
// builder (the station cancelled one booking).
func (s *Bookings) cancelledByStation(station string) func(model.Booking) model.Notification {
	return func(b model.Booking) model.Notification {
		return s.notification(b, station, "booking_cancelled_by_station", "预约已被站点取消",
			fmt.Sprintf("很抱歉，您%s的「%s」预约（%s）已被站点取消。%s", at(station), b.ServiceName, s.fmtTime(b.StartsAt), reasonSuffix(b.CancelNote)),
			"已取消", b.CancelNote)
	}
}

func reasonSuffix(note string) string {
	if note == "" {
		return "如有疑问请联系站点。"
	}
	return "原因：" + note
}
