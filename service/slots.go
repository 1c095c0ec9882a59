package service

import (
	"context"
	"fmt"
	"time"

	"jindalai/model"
)

// Limits of slot creation.
const (
	maxSlotCapacity = 1000
	maxSlotLength   = 12 * time.Hour
	maxPatternDays  = 92
	maxPatternSlots = 1000
	maxSlotRange    = 92 * 24 * time.Hour
)

// SlotInput is one slot to create, times in RFC 3339.
type SlotInput struct {
	StartsAt string
	EndsAt   string
	Capacity int
}

// TimeRange is a start and end time of day, "HH:MM".
type TimeRange struct {
	Start string
	End   string
}

// SlotPattern makes slots on the given weekdays (1 = Monday … 7 = Sunday) at
// the given times of day, for every date From..To (YYYY-MM-DD, inclusive, in
// the configured zone), except the station's closed days and SkipDates.
type SlotPattern struct {
	From      string
	To        string
	Weekdays  []int
	Times     []TimeRange
	Capacity  int
	SkipDates []string
}

func checkCapacity(fe model.FieldErrors, c int) {
	if c < 1 || c > maxSlotCapacity {
		fe.Add("capacity", fmt.Sprintf("必须是 1–%d 的整数", maxSlotCapacity))
	}
}

// managedOffering returns an offering the caller is staff of.
func (s *Bookings) managedOffering(ctx context.Context, p model.Principal, id int64) (model.Offering, error) {
	o, err := s.store.GetOffering(ctx, id)
	if err != nil {
		return o, err
	}
	return o, s.requireStaff(ctx, p, o.StationID)
}

// CreateSlot adds one slot to an offering. It must start in the future, not
// on a closed day of the station, and last at most 12 hours.
// Errors: invalid_argument (starts_at, ends_at, capacity), not_found
// (offering), permission_denied, failed_precondition (offering inactive;
// closed day), conflict (an open slot starts then; Idempotency-Key reused),
// unavailable, internal.
func (s *Bookings) CreateSlot(ctx context.Context, p model.Principal, idem *model.Idempotency, offeringID int64, in SlotInput) (model.Slot, error) {
	fe := model.FieldErrors{}
	starts, err := model.ParseTime("starts_at", in.StartsAt)
	fe.Merge(err)
	ends, err := model.ParseTime("ends_at", in.EndsAt)
	fe.Merge(err)
	checkCapacity(fe, in.Capacity)
	if len(fe) == 0 {
		now := s.clock()
		switch {
		case !starts.After(now):
			fe.Add("starts_at", "必须晚于当前时间")
		case !ends.After(starts):
			fe.Add("ends_at", "必须晚于 starts_at")
		case ends.Sub(starts) > maxSlotLength:
			fe.Add("ends_at", "时段最长 12 小时")
		}
	}
	if err := fe.Err(); err != nil {
		return model.Slot{}, err
	}
	o, err := s.managedOffering(ctx, p, offeringID)
	if err != nil {
		return model.Slot{}, err
	}
	day := starts.In(s.loc).Format(time.DateOnly)
	closed, err := s.store.ClosedDates(ctx, o.StationID, day, day)
	if err != nil {
		return model.Slot{}, err
	}
	if len(closed) > 0 {
		return model.Slot{}, model.Errorf(model.CodeFailedPrecondition, "%s 站点休息（%s），不能设置时段", day, closed[0].Reason)
	}
	slot := model.NewSlot{StartsAt: starts.Truncate(time.Millisecond), EndsAt: ends.Truncate(time.Millisecond), Capacity: in.Capacity}
	batch, err := s.store.CreateSlots(ctx, idem, offeringID, []model.NewSlot{slot}, nil, p.UserID, s.clock())
	if err != nil {
		return model.Slot{}, err
	}
	return batch.Items[0], nil
}

// parsedPattern is a validated SlotPattern.
type parsedPattern struct {
	from, to time.Time
	weekdays map[time.Weekday]bool
	times    [][2]time.Duration // offsets from midnight
	labels   []string
	capacity int
	skip     map[string]bool
}

// parsePattern validates a pattern. Errors: invalid_argument naming the field.
func (s *Bookings) parsePattern(in SlotPattern) (parsedPattern, error) {
	fe := model.FieldErrors{}
	pp := parsedPattern{weekdays: map[time.Weekday]bool{}, skip: map[string]bool{}, capacity: in.Capacity}
	pp.from, pp.to = s.parseDate(fe, "from", in.From), s.parseDate(fe, "to", in.To)
	if len(fe) == 0 {
		if pp.to.Before(pp.from) {
			fe.Add("to", "不能早于 from")
		} else if days := daysBetween(pp.from, pp.to); days >= maxPatternDays {
			fe.Add("to", fmt.Sprintf("日期范围最长 %d 天", maxPatternDays))
		}
	}
	if len(in.Weekdays) == 0 {
		fe.Add("weekdays", "至少选择一天")
	}
	for _, d := range in.Weekdays {
		if d < 1 || d > 7 {
			fe.Add("weekdays", "必须是 1（周一）到 7（周日）")
			break
		}
		pp.weekdays[time.Weekday(d%7)] = true
	}
	if len(in.Times) == 0 || len(in.Times) > 24 {
		fe.Add("times", "必须有 1–24 个时间段")
	}
	starts := map[time.Duration]bool{}
	for i, tr := range in.Times {
		start, errS := parseClock(tr.Start)
		end, errE := parseClock(tr.End)
		field := fmt.Sprintf("times[%d]", i)
		switch {
		case errS != nil:
			fe.Add(field+".start", "必须是 HH:MM")
		case errE != nil:
			fe.Add(field+".end", "必须是 HH:MM")
		case end <= start:
			fe.Add(field+".end", "必须晚于 start")
		case starts[start]:
			fe.Add(field+".start", "与其他时间段的开始时间重复")
		default:
			starts[start] = true
			pp.times = append(pp.times, [2]time.Duration{start, end})
			pp.labels = append(pp.labels, tr.Start)
		}
	}
	checkCapacity(fe, in.Capacity)
	for _, d := range in.SkipDates {
		s.parseDate(fe, "skip_dates", d)
		pp.skip[d] = true
	}
	return pp, fe.Err()
}

// parseClock reads "HH:MM" as an offset from midnight.
func parseClock(v string) (time.Duration, error) {
	t, err := time.Parse("15:04", v)
	if err != nil {
		return 0, err
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// daysBetween counts calendar days from a to b (midnights in one zone).
func daysBetween(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return int(time.Date(by, bm, bd, 12, 0, 0, 0, time.UTC).Sub(time.Date(ay, am, ad, 12, 0, 0, 0, time.UTC)).Hours() / 24)
}

// expandPattern lists the slots of a pattern: every matching weekday from..to
// at each time, except closed days (reason in closed), skip dates, times that
// have begun by now and times where an open slot already starts (existing,
// by Unix milliseconds). It is pure: the caller supplies the facts.
func expandPattern(pp parsedPattern, closed map[string]string, existing map[int64]bool, now time.Time, loc *time.Location) ([]model.NewSlot, []model.SkippedSlot) {
	var slots []model.NewSlot
	skipped := []model.SkippedSlot{}
	for day := pp.from; !day.After(pp.to); day = day.AddDate(0, 0, 1) {
		if !pp.weekdays[day.Weekday()] {
			continue
		}
		date := day.Format(time.DateOnly)
		if reason, ok := closed[date]; ok {
			skipped = append(skipped, model.SkippedSlot{Date: date, Reason: "closed", Note: reason})
			continue
		}
		if pp.skip[date] {
			skipped = append(skipped, model.SkippedSlot{Date: date, Reason: "skip_date"})
			continue
		}
		y, m, d := day.Date()
		for i, tr := range pp.times {
			starts := time.Date(y, m, d, 0, 0, 0, 0, loc).Add(tr[0])
			ends := time.Date(y, m, d, 0, 0, 0, 0, loc).Add(tr[1])
			switch {
			case !starts.After(now):
				skipped = append(skipped, model.SkippedSlot{Date: date, Start: pp.labels[i], Reason: "past"})
			case existing[starts.UnixMilli()]:
				skipped = append(skipped, model.SkippedSlot{Date: date, Start: pp.labels[i], Reason: "exists"})
			default:
				slots = append(slots, model.NewSlot{StartsAt: starts, EndsAt: ends, Capacity: pp.capacity})
			}
		}
	}
	return slots, skipped
}

// CreateSlotPattern makes an offering's slots from a weekly pattern over a
// date range (at most 92 days, 1000 slots), skipping the station's closed
// days, the pattern's skip dates, times already begun and times that already
// have an open slot; the reply lists what was made and what was skipped.
// Errors: invalid_argument (from, to, weekdays, times[i].start|end, capacity,
// skip_dates; too many slots), not_found (offering), permission_denied,
// failed_precondition (offering inactive), conflict (a concurrent create
// made one of the slots; Idempotency-Key reused), unavailable, internal.
func (s *Bookings) CreateSlotPattern(ctx context.Context, p model.Principal, idem *model.Idempotency, offeringID int64, in SlotPattern) (model.SlotBatch, error) {
	pp, err := s.parsePattern(in)
	if err != nil {
		return model.SlotBatch{}, err
	}
	o, err := s.managedOffering(ctx, p, offeringID)
	if err != nil {
		return model.SlotBatch{}, err
	}
	closedDays, err := s.store.ClosedDates(ctx, o.StationID, in.From, in.To)
	if err != nil {
		return model.SlotBatch{}, err
	}
	closed := make(map[string]string, len(closedDays))
	for _, d := range closedDays {
		closed[d.Date] = d.Reason
	}
	starts, err := s.store.OpenSlotStarts(ctx, offeringID, pp.from, pp.to.AddDate(0, 0, 1))
	if err != nil {
		return model.SlotBatch{}, err
	}
	existing := make(map[int64]bool, len(starts))
	for _, t := range starts {
		existing[t.UnixMilli()] = true
	}
	slots, skipped := expandPattern(pp, closed, existing, s.clock(), s.loc)
	if len(slots) > maxPatternSlots {
		return model.SlotBatch{}, model.InvalidField("times", fmt.Sprintf("一次最多生成 %d 个时段", maxPatternSlots))
	}
	if len(slots) == 0 && idem == nil {
		return model.SlotBatch{Items: []model.Slot{}, Skipped: skipped}, nil
	}
	// With a key the store is asked even for nothing new: a retry, whose
	// slots all exist by now, must get the first reply back.
	return s.store.CreateSlots(ctx, idem, offeringID, slots, skipped, p.UserID, s.clock())
}

// ListSlots returns an offering's open slots starting from..to (YYYY-MM-DD,
// to inclusive, or RFC 3339 instants; default: from now for 14 days; at most
// 92 days) with their remaining places.
// Errors: invalid_argument (from, to, cursor), not_found (offering), unavailable, internal.
func (s *Bookings) ListSlots(ctx context.Context, offeringID int64, from, to string, page model.Page) (model.List[model.Slot], error) {
	fe := model.FieldErrors{}
	start := s.clock()
	if from != "" {
		start = s.parseInstant(fe, "from", from, false)
	}
	end := start.Add(14 * 24 * time.Hour)
	if to != "" {
		end = s.parseInstant(fe, "to", to, true)
	}
	if err := fe.Err(); err != nil {
		return model.List[model.Slot]{}, err
	}
	if !end.After(start) {
		return model.List[model.Slot]{}, model.InvalidField("to", "必须晚于 from")
	}
	if end.Sub(start) > maxSlotRange+24*time.Hour {
		return model.List[model.Slot]{}, model.InvalidField("to", "时间范围最长 92 天")
	}
	if _, err := s.store.GetOffering(ctx, offeringID); err != nil {
		return model.List[model.Slot]{}, err
	}
	return s.store.ListSlots(ctx, offeringID, start, end, page)
}

// parseInstant reads a date (its midnight, or the next midnight when
// endOfDay) or an RFC 3339 instant, in the years model.CheckTime accepts.
func (s *Bookings) parseInstant(fe model.FieldErrors, field, v string, endOfDay bool) time.Time {
	t, day, err := model.ParseDayOrTime(field, v, s.loc)
	fe.Merge(err)
	if day && endOfDay {
		return t.AddDate(0, 0, 1)
	}
	return t
}

// managedSlot returns a slot the caller is staff of.
func (s *Bookings) managedSlot(ctx context.Context, p model.Principal, id int64) (model.Slot, error) {
	sl, err := s.store.GetSlot(ctx, id)
	if err != nil {
		return sl, err
	}
	return sl, s.requireStaff(ctx, p, sl.StationID)
}

// DeleteSlot removes a slot that was never booked; a slot with bookings can
// only be cancelled. Errors: not_found, permission_denied, failed_precondition
// (it has bookings), unavailable, internal.
func (s *Bookings) DeleteSlot(ctx context.Context, p model.Principal, id int64) error {
	if _, err := s.managedSlot(ctx, p, id); err != nil {
		return err
	}
	return s.store.DeleteSlot(ctx, id)
}

// CancelSlot cancels a slot that has not started and every booking of it;
// each resident gets a slot_cancelled notification (same transaction).
// Errors: invalid_argument (reason), not_found, permission_denied,
// failed_precondition (already cancelled or started), unavailable, internal.
func (s *Bookings) CancelSlot(ctx context.Context, p model.Principal, id int64, reason string) (model.Slot, error) {
	fe := model.FieldErrors{}
	reason = cleanText(fe, "reason", reason, 100, false)
	if err := fe.Err(); err != nil {
		return model.Slot{}, err
	}
	sl, err := s.managedSlot(ctx, p, id)
	if err != nil {
		return model.Slot{}, err
	}
	return s.store.CancelSlot(ctx, id, reason, s.clock(), s.slotCancelled(s.stationName(ctx, sl.StationID)))
}
