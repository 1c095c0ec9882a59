package service

import (
	"context"
	"fmt"
	"time"

	"jindalai/model"
)

// Book takes a place in a slot for the caller. It refuses a cancelled slot,
// an inactive offering, a slot that has begun or closes within the configured
// lead time, a full slot, a second live booking of the same slot, and a
// resident with too many recent no-shows. The reminder is scheduled at the
// configured time before the start (none when that time has passed).
// Replayed with the same Idempotency-Key it returns the first reply.
// Errors: invalid_argument (slot_id, note), not_found (slot), conflict (full;
// already booked; Idempotency-Key reused), failed_precondition (cancelled,
// inactive, begun, closed, too many no-shows), unavailable, internal.
func (s *Bookings) Book(ctx context.Context, p model.Principal, idem *model.Idempotency, slotID int64, note string) (model.Booking, error) {
	fe := model.FieldErrors{}
	if slotID <= 0 {
		fe.Add("slot_id", "必填")
	}
	note = cleanText(fe, "note", note, 200, false)
	if err := fe.Err(); err != nil {
		return model.Booking{}, err
	}
	sl, err := s.store.GetSlot(ctx, slotID)
	if err != nil {
		return model.Booking{}, err
	}
	station := s.stationName(ctx, sl.StationID)
	now := s.clock()
	attempt := model.BookingAttempt{SlotID: slotID, UserID: p.UserID, Note: note, At: now, Cutoff: now.Add(s.cfg.CloseBefore)}
	if s.cfg.NoShowLimit > 0 {
		attempt.NoShowSince = now.Add(-s.cfg.NoShowWindow)
	}
	prepare := func(sl model.Slot, noShows int) (*time.Time, error) {
		if err := s.checkBookable(sl, now); err != nil {
			return nil, err
		}
		if s.cfg.NoShowLimit > 0 && noShows >= s.cfg.NoShowLimit {
			return nil, model.Errorf(model.CodeFailedPrecondition, "您近%s内有 %d 次预约未到场，暂时不能预约，如有疑问请联系站点",
				humanDuration(s.cfg.NoShowWindow), noShows)
		}
		if remind := sl.StartsAt.Add(-s.cfg.RemindBefore); s.cfg.RemindBefore > 0 && remind.After(now) {
			return &remind, nil
		}
		return nil, nil
	}
	return s.store.Book(ctx, idem, attempt, prepare, s.confirmed(station))
}

// checkBookable explains why a slot takes no booking at now.
func (s *Bookings) checkBookable(sl model.Slot, now time.Time) error {
	switch {
	case sl.Status != model.SlotOpen:
		return model.Errorf(model.CodeFailedPrecondition, "该时段已取消")
	case !sl.StartsAt.After(now):
		return model.Errorf(model.CodeFailedPrecondition, "该时段已开始或已结束，不能预约")
	case !sl.StartsAt.After(now.Add(s.cfg.CloseBefore)):
		return model.Errorf(model.CodeFailedPrecondition, "该时段已截止预约（开始前%s截止）", humanDuration(s.cfg.CloseBefore))
	}
	return nil
}

// humanDuration says a lead time in Chinese: 2 小时, 30 分钟, 90 天.
func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf(" %d 天", int(d/(24*time.Hour)))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf(" %d 小时", int(d/time.Hour))
	default:
		return fmt.Sprintf(" %d 分钟", int(d/time.Minute))
	}
}

// GetBooking returns a booking to its resident or to staff of its station;
// to anyone else it does not exist. Errors: not_found, unavailable, internal.
func (s *Bookings) GetBooking(ctx context.Context, p model.Principal, id int64) (model.Booking, error) {
	b, err := s.store.GetBooking(ctx, id)
	if err != nil {
		return b, err
	}
	if b.UserID == p.UserID {
		return b, nil
	}
	ok, err := s.canManage(ctx, p, b.StationID)
	if err != nil {
		return model.Booking{}, err
	}
	if !ok {
		return model.Booking{}, model.NotFound("预约")
	}
	return b, nil
}

// CancelBooking cancels a live booking and frees its place. The resident may
// cancel until the configured deadline before the start; staff of the
// station until the start, and the resident then gets a
// booking_cancelled_by_station notification. Errors: invalid_argument
// (reason), not_found (also someone else's booking), failed_precondition (not
// live; past the deadline), unavailable, internal.
func (s *Bookings) CancelBooking(ctx context.Context, p model.Principal, id int64, reason string) (model.Booking, error) {
	fe := model.FieldErrors{}
	reason = cleanText(fe, "reason", reason, 100, false)
	if err := fe.Err(); err != nil {
		return model.Booking{}, err
	}
	b, err := s.GetBooking(ctx, p, id)
	if err != nil {
		return b, err
	}
	now := s.clock()
	if b.UserID == p.UserID {
		out, err := s.store.CancelBooking(ctx, id, model.CancelledByResident, reason, now.Add(s.cfg.CancelBefore), now, nil)
		if model.IsCode(err, model.CodeFailedPrecondition) && b.Status == model.BookingBooked {
			return out, model.Errorf(model.CodeFailedPrecondition, "开始前%s内不能取消预约，如有需要请联系站点", humanDuration(s.cfg.CancelBefore))
		}
		return out, err
	}
	return s.store.CancelBooking(ctx, id, model.CancelledByStation, reason, now, now, s.cancelledByStation(s.stationName(ctx, b.StationID)))
}

// MarkBooking records whether the resident came (attended or no_show); staff
// of the station only, once the slot has started; a mark can be corrected.
// Errors: not_found (also a booking out of the caller's scope),
// permission_denied (the resident themself), failed_precondition (cancelled;
// not started), unavailable, internal.
func (s *Bookings) MarkBooking(ctx context.Context, p model.Principal, id int64, status model.BookingStatus) (model.Booking, error) {
	b, err := s.store.GetBooking(ctx, id)
	if err != nil {
		return b, err
	}
	ok, err := s.canManage(ctx, p, b.StationID)
	switch {
	case err != nil:
		return model.Booking{}, err
	case !ok && b.UserID == p.UserID:
		return model.Booking{}, model.Errorf(model.CodePermissionDenied, "只有站点工作人员可以登记到场情况")
	case !ok:
		return model.Booking{}, model.NotFound("预约")
	}
	return s.store.MarkBooking(ctx, id, status, p.UserID, s.clock())
}

var bookingStatuses = map[model.BookingStatus]bool{
	model.BookingBooked: true, model.BookingCancelled: true, model.BookingAttended: true, model.BookingNoShow: true,
}

// MyBookings lists the caller's bookings, newest first, optionally of one
// status. Errors: invalid_argument (status, cursor), unavailable, internal.
func (s *Bookings) MyBookings(ctx context.Context, p model.Principal, status model.BookingStatus, page model.Page) (model.List[model.Booking], error) {
	if status != "" && !bookingStatuses[status] {
		return model.List[model.Booking]{}, model.InvalidField("status", "必须是 booked、cancelled、attended 或 no_show")
	}
	return s.store.ListUserBookings(ctx, p.UserID, status, page)
}

// StationBookings lists a station's bookings of one day (YYYY-MM-DD in the
// configured zone; default today) by start time, with who booked: the
// caller is staff of the station, so phones are shown in full.
// Errors: invalid_argument (date, cursor), permission_denied, not_found (no
// such station), unavailable, internal.
func (s *Bookings) StationBookings(ctx context.Context, p model.Principal, stationID int64, date string, page model.Page) (model.List[model.Booking], error) {
	fe := model.FieldErrors{}
	if date == "" {
		date = s.clock().In(s.loc).Format(time.DateOnly)
	}
	day := s.parseDate(fe, "date", date)
	if err := fe.Err(); err != nil {
		return model.List[model.Booking]{}, err
	}
	if err := s.requireStaff(ctx, p, stationID); err != nil {
		return model.List[model.Booking]{}, err
	}
	list, err := s.store.ListStationBookings(ctx, stationID, day, day.AddDate(0, 0, 1), page)
	if err != nil {
		return list, err
	}
	for i := range list.Items {
		r := list.Items[i].Resident
		if r == nil || len(r.PhoneEnc) == 0 {
			continue
		}
		phone, err := s.pii.Decrypt("users.phone", r.PhoneEnc)
		if err != nil {
			s.log.Error("phone does not decrypt", "user_id", r.UserID, "err", err)
			phone = ""
		}
		r.Phone = phone
	}
	return list, nil
}
