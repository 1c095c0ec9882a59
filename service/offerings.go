package service

import (
	"context"
	"time"

	"jindalai/model"
)

// OfferingInput is a new offering of a station.
type OfferingInput struct {
	StationID   int64
	Name        string
	Category    string
	Description string
	DurationMin int
}

// checkCategory requires an active category of the catalogue.
func (s *Bookings) checkCategory(ctx context.Context, code string) error {
	c, err := s.stations.Category(ctx, code)
	if model.IsCode(err, model.CodeNotFound) || (err == nil && !c.Active) {
		return model.InvalidField("category", "未知或已停用的服务类别")
	}
	return err
}

func checkDuration(fe model.FieldErrors, min int) {
	if min < 5 || min > 8*60 {
		fe.Add("duration_min", "必须是 5–480 的整数（分钟）")
	}
}

// CreateOffering adds a bookable service to a station; the caller must be
// staff of that station. Errors: invalid_argument (station_id, name,
// category, description, duration_min), permission_denied, not_found
// (station), conflict (Idempotency-Key reused), unavailable, internal.
func (s *Bookings) CreateOffering(ctx context.Context, p model.Principal, idem *model.Idempotency, in OfferingInput) (model.Offering, error) {
	fe := model.FieldErrors{}
	if in.StationID <= 0 {
		fe.Add("station_id", "必填")
	}
	in.Name = cleanText(fe, "name", in.Name, 64, true)
	if in.Category == "" {
		fe.Add("category", "必填")
	} else if err := s.checkCategory(ctx, in.Category); model.IsCode(err, model.CodeInvalid) {
		fe.Add("category", "未知或已停用的服务类别")
	} else if err != nil {
		return model.Offering{}, err
	}
	in.Description = cleanText(fe, "description", in.Description, 500, false)
	checkDuration(fe, in.DurationMin)
	if err := fe.Err(); err != nil {
		return model.Offering{}, err
	}
	if err := s.requireStaff(ctx, p, in.StationID); err != nil {
		return model.Offering{}, err
	}
	o := model.Offering{StationID: in.StationID, Name: in.Name, Category: in.Category, Description: in.Description, DurationMin: in.DurationMin}
	return s.store.CreateOffering(ctx, idem, o, p.UserID, s.clock())
}

// UpdateOffering edits an offering or (de)activates it; a deactivated
// offering takes no new bookings and is hidden from residents, its existing
// bookings stay. Errors: invalid_argument (body, name, category, description,
// duration_min), not_found, permission_denied, unavailable, internal.
func (s *Bookings) UpdateOffering(ctx context.Context, p model.Principal, id int64, patch model.OfferingPatch) (model.Offering, error) {
	fe := model.FieldErrors{}
	if patch.Name != nil {
		v := cleanText(fe, "name", *patch.Name, 64, true)
		patch.Name = &v
	}
	if patch.Description != nil {
		v := cleanText(fe, "description", *patch.Description, 500, false)
		patch.Description = &v
	}
	if patch.DurationMin != nil {
		checkDuration(fe, *patch.DurationMin)
	}
	if err := fe.Err(); err != nil {
		return model.Offering{}, err
	}
	if patch == (model.OfferingPatch{}) {
		return model.Offering{}, model.InvalidField("body", "至少修改一个字段")
	}
	o, err := s.store.GetOffering(ctx, id)
	if err != nil {
		return o, err
	}
	if err := s.requireStaff(ctx, p, o.StationID); err != nil {
		return model.Offering{}, err
	}
	if patch.Category != nil {
		if err := s.checkCategory(ctx, *patch.Category); err != nil {
			return model.Offering{}, err
		}
	}
	return s.store.UpdateOffering(ctx, id, patch, s.clock())
}

// ListOfferings returns the active offerings of a station (stationID > 0) or
// of every station; includeInactive (staff of stationID only) also lists
// deactivated ones. Errors: invalid_argument (station_id, cursor),
// permission_denied, not_found (station, with includeInactive), unavailable, internal.
func (s *Bookings) ListOfferings(ctx context.Context, p model.Principal, stationID int64, includeInactive bool, page model.Page) (model.List[model.Offering], error) {
	if includeInactive {
		if stationID <= 0 {
			return model.List[model.Offering]{}, model.InvalidField("station_id", "查看已停用的服务时必填")
		}
		if err := s.requireStaff(ctx, p, stationID); err != nil {
			return model.List[model.Offering]{}, err
		}
	}
	return s.store.ListOfferings(ctx, stationID, includeInactive, page)
}

// parseDate reads a YYYY-MM-DD day in the configured zone (midnight), in
// the years model.CheckTime accepts.
func (s *Bookings) parseDate(fe model.FieldErrors, field, v string) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, v, s.loc)
	if err != nil {
		fe.Add(field, "必须是 YYYY-MM-DD 格式的日期")
		return d
	}
	fe.Merge(model.CheckTime(field, d))
	return d
}

// AddClosedDate marks a day closed at a station: weekly patterns skip it and
// no single slot can be made on it (slots already there stay; cancel them
// separately). Errors: invalid_argument (date, reason), permission_denied,
// not_found (station), conflict (already closed), unavailable, internal.
func (s *Bookings) AddClosedDate(ctx context.Context, p model.Principal, idem *model.Idempotency, stationID int64, date, reason string) (model.ClosedDate, error) {
	fe := model.FieldErrors{}
	s.parseDate(fe, "date", date)
	reason = cleanText(fe, "reason", reason, 64, false)
	if err := fe.Err(); err != nil {
		return model.ClosedDate{}, err
	}
	if err := s.requireStaff(ctx, p, stationID); err != nil {
		return model.ClosedDate{}, err
	}
	return s.store.AddClosedDate(ctx, idem, model.ClosedDate{StationID: stationID, Date: date, Reason: reason}, p.UserID, s.clock())
}

// DeleteClosedDate opens a closed day again.
// Errors: invalid_argument (date), permission_denied, not_found, unavailable, internal.
func (s *Bookings) DeleteClosedDate(ctx context.Context, p model.Principal, stationID int64, date string) error {
	fe := model.FieldErrors{}
	s.parseDate(fe, "date", date)
	if err := fe.Err(); err != nil {
		return err
	}
	if err := s.requireStaff(ctx, p, stationID); err != nil {
		return err
	}
	return s.store.DeleteClosedDate(ctx, stationID, date)
}

// ClosedDates lists a station's closed days from..to (YYYY-MM-DD, inclusive;
// default: today and the next 90 days). Errors: invalid_argument (from, to),
// permission_denied, not_found (station), unavailable, internal.
func (s *Bookings) ClosedDates(ctx context.Context, p model.Principal, stationID int64, from, to string) ([]model.ClosedDate, error) {
	fe := model.FieldErrors{}
	today := s.clock().In(s.loc)
	if from == "" {
		from = today.Format(time.DateOnly)
	}
	if to == "" {
		to = today.AddDate(0, 0, 90).Format(time.DateOnly)
	}
	f, t := s.parseDate(fe, "from", from), s.parseDate(fe, "to", to)
	if err := fe.Err(); err != nil {
		return nil, err
	}
	if t.Before(f) {
		return nil, model.InvalidField("to", "不能早于 from")
	}
	if err := s.requireStaff(ctx, p, stationID); err != nil {
		return nil, err
	}
	return s.store.ClosedDates(ctx, stationID, from, to)
}
