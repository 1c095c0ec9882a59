package service

import (
	"context"
	"regexp"
	"strings"
	"unicode/utf8"

	"jindalai/model"
)

// StationInput is a station create or PATCH: on a PATCH nil fields stay as
// they are; on a create name, level, lat and lng are required and the rest
// default (radius by level, Monday–Friday 08:30–17:00).
type StationInput struct {
	Name          *string
	Level         *int
	ParentID      *int64
	Lat, Lng      *float64
	Address       *string
	Phone         *string
	RadiusM       *int
	Categories    *[]string
	OpeningHours  *[]model.OpeningPeriod
	DailyCapacity *int
	Closed        *bool
	ClosedReason  *string
}

// OrgInput is an organization create or PATCH: nil fields stay (PATCH);
// on a create name, lat and lng are required, and active defaults to true.
type OrgInput struct {
	Name         *string
	Description  *string
	Address      *string
	ContactPhone *string
	Lat, Lng     *float64
	Categories   *[]string
	Active       *bool
}

var defaultRadiusM = map[int]int{model.LevelCity: 50000, model.LevelStreet: 4000, model.LevelVillage: 1500}

var phonePattern = regexp.MustCompile(`^[0-9+\- ]{5,32}$`)

func defaultHours() []model.OpeningPeriod {
	out := make([]model.OpeningPeriod, 0, 5)
	for d := 1; d <= 5; d++ {
		out = append(out, model.OpeningPeriod{Weekday: d, Opens: "08:30", Closes: "17:00"})
	}
	return out
}

func requireCityAdmin(p model.Principal) error {
	if !p.IsCityAdmin() {
		return model.Errorf(model.CodePermissionDenied, "只有民政局管理员可以管理站点、社会组织和服务目录")
	}
	return nil
}

// CreateStation adds a station to the tree (city admins only). A level-1
// station has no parent, a level-2 station's parent is the city station, a
// level-3 point's parent is a level-2 station. Errors: invalid_argument
// (the field named), permission_denied, conflict (name taken; a second city
// station; a reused Idempotency-Key), unavailable, internal.
func (s *Stations) CreateStation(ctx context.Context, p model.Principal, idem *model.Idempotency, in StationInput) (model.Station, error) {
	if err := requireCityAdmin(p); err != nil {
		return model.Station{}, err
	}
	fe := model.FieldErrors{}
	if in.Name == nil {
		fe.Add("name", "必填")
	}
	if in.Level == nil {
		fe.Add("level", "必填")
	}
	if in.Lat == nil {
		fe.Add("lat", "必填")
	}
	if in.Lng == nil {
		fe.Add("lng", "必填")
	}
	if err := fe.Err(); err != nil {
		return model.Station{}, err
	}
	st := model.Station{Level: *in.Level, OpeningHours: defaultHours(), Categories: []string{}}
	if r, ok := defaultRadiusM[st.Level]; ok {
		st.RadiusM = r
	}
	if err := s.applyStation(ctx, &st, in); err != nil {
		return model.Station{}, err
	}
	out, err := s.store.CreateStation(ctx, idem, st)
	if err != nil {
		return model.Station{}, err
	}
	return s.afterStationWrite(ctx, out)
}

// UpdateStation changes a station (city admins only); the level cannot
// change. Errors: invalid_argument (the field named), permission_denied,
// not_found, conflict (name taken), unavailable, internal.
func (s *Stations) UpdateStation(ctx context.Context, p model.Principal, id int64, in StationInput) (model.Station, error) {
	if err := requireCityAdmin(p); err != nil {
		return model.Station{}, err
	}
	st, err := s.store.GetStation(ctx, id)
	if err != nil {
		return model.Station{}, err
	}
	if in.Level != nil && *in.Level != st.Level {
		return model.Station{}, model.InvalidField("level", "站点层级不能修改")
	}
	if in.ParentID == nil && st.ParentID != nil {
		in.ParentID = st.ParentID
	}
	if in.Closed != nil && !*in.Closed && in.ClosedReason == nil {
		empty := ""
		in.ClosedReason = &empty
	}
	if err := s.applyStation(ctx, &st, in); err != nil {
		return model.Station{}, err
	}
	if err := s.store.UpdateStation(ctx, st); err != nil {
		return model.Station{}, err
	}
	return s.afterStationWrite(ctx, st)
}

// applyStation validates in and writes it over st.
func (s *Stations) applyStation(ctx context.Context, st *model.Station, in StationInput) error {
	fe := model.FieldErrors{}
	if in.Name != nil {
		st.Name = strings.TrimSpace(*in.Name)
		if n := utf8.RuneCountInString(st.Name); n == 0 || n > 64 || hasControl(st.Name) {
			fe.Add("name", "必须是 1–64 个字符")
		}
	}
	if st.Level < model.LevelCity || st.Level > model.LevelVillage {
		fe.Add("level", "必须是 1（社工总站）、2（乡镇/街道社工站）或 3（村/社区社工点）")
	}
	if in.Lat != nil {
		st.Lat = model.PositiveZero(*in.Lat)
	}
	if in.Lng != nil {
		st.Lng = model.PositiveZero(*in.Lng)
	}
	fe.Merge((model.Point{Lat: st.Lat, Lng: st.Lng}).CheckPlace())
	if in.Address != nil {
		st.Address = strings.TrimSpace(*in.Address)
		if utf8.RuneCountInString(st.Address) > 200 || hasControl(st.Address) {
			fe.Add("address", "最长 200 个字符")
		}
	}
	if in.Phone != nil {
		st.Phone = strings.TrimSpace(*in.Phone)
		if st.Phone != "" && !phonePattern.MatchString(st.Phone) {
			fe.Add("phone", "必须是 5–32 位数字（可含 + - 空格）")
		}
	}
	if in.RadiusM != nil {
		st.RadiusM = *in.RadiusM
	}
	if st.RadiusM < 100 || st.RadiusM > 200000 {
		fe.Add("radius_m", "必须在 100–200000 米之间")
	}
	if in.DailyCapacity != nil {
		st.DailyCapacity = *in.DailyCapacity
		if st.DailyCapacity < 0 || st.DailyCapacity > 100000 {
			fe.Add("daily_capacity", "必须在 0–100000 之间")
		}
	}
	if in.Closed != nil {
		st.Closed = *in.Closed
	}
	if in.ClosedReason != nil {
		st.ClosedReason = strings.TrimSpace(*in.ClosedReason)
		if utf8.RuneCountInString(st.ClosedReason) > 200 {
			fe.Add("closed_reason", "最长 200 个字符")
		}
	}
	if in.OpeningHours != nil {
		fe.Merge(model.CheckOpeningHours(*in.OpeningHours))
		st.OpeningHours = append([]model.OpeningPeriod{}, *in.OpeningHours...)
	}
	if in.Categories != nil {
		codes, err := s.checkCategories(ctx, *in.Categories)
		if err != nil {
			return err
		}
		if codes == nil {
			fe.Add("categories", "包含未知或已停用的服务类别")
		}
		st.Categories = codes
	}
	if err := fe.Err(); err != nil {
		return err
	}
	st.ParentID = in.ParentID
	return s.checkParent(ctx, st)
}

// checkParent enforces the tree: level 1 has no parent, a level-n station's
// parent is a level n-1 station, and no station is its own ancestor.
func (s *Stations) checkParent(ctx context.Context, st *model.Station) error {
	if st.Level == model.LevelCity {
		if st.ParentID != nil {
			return model.InvalidField("parent_id", "社工总站没有上级站点")
		}
		return nil
	}
	if st.ParentID == nil {
		return model.InvalidField("parent_id", "必填")
	}
	if *st.ParentID == st.ID {
		return model.InvalidField("parent_id", "不能是站点自身")
	}
	parent, err := s.store.GetStation(ctx, *st.ParentID)
	if model.IsCode(err, model.CodeNotFound) {
		return model.InvalidField("parent_id", "上级站点不存在")
	}
	if err != nil {
		return err
	}
	if parent.Level != st.Level-1 {
		if st.Level == model.LevelVillage {
			return model.InvalidField("parent_id", "村(居)社工点的上级必须是乡镇(街道)社工站")
		}
		return model.InvalidField("parent_id", "乡镇(街道)社工站的上级必须是社工总站")
	}
	for i, up := 0, parent; up.ParentID != nil && i < 4; i++ {
		if *up.ParentID == st.ID && st.ID != 0 {
			return model.InvalidField("parent_id", "不能把站点移到自己的下级之下")
		}
		if up, err = s.store.GetStation(ctx, *up.ParentID); err != nil {
			return err
		}
	}
	return nil
}

// checkCategories dedupes codes and returns nil when one is unknown or
// inactive. Errors: invalid_argument (too many), unavailable, internal.
func (s *Stations) checkCategories(ctx context.Context, codes []string) ([]string, error) {
	if len(codes) > 100 {
		return nil, model.InvalidField("categories", "最多 100 个服务类别")
	}
	c, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(codes))
	seen := map[string]bool{}
	for _, code := range codes {
		cat, ok := c.categories[code]
		if !ok || !cat.Active {
			cat, err = s.store.GetCategory(ctx, code)
			if model.IsCode(err, model.CodeNotFound) || (err == nil && !cat.Active) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
		}
		if !seen[code] {
			seen[code] = true
			out = append(out, code)
		}
	}
	return out, nil
}

// afterStationWrite updates the GEO set and the copies of every replica.
// MySQL already holds the change: a Redis failure here is repaired by the
// reconciler, so it is logged, not returned.
func (s *Stations) afterStationWrite(ctx context.Context, st model.Station) (model.Station, error) {
	if err := s.geo.PutStationGeo(ctx, st.ID, model.Point{Lat: st.Lat, Lng: st.Lng}); err != nil {
		s.log.Warn("stations: GEO update failed; the reconciler repairs it", "station_id", st.ID, "err", err)
	}
	s.changed(ctx)
	return s.present(st), nil
}

// present fills the computed fields of a station reply.
func (s *Stations) present(st model.Station) model.Station {
	st.OpenNow = !st.Closed && model.OpenAt(st.OpeningHours, s.now().In(s.loc))
	if st.Categories == nil {
		st.Categories = []string{}
	}
	if st.OpeningHours == nil {
		st.OpeningHours = []model.OpeningPeriod{}
	}
	return st
}

// CreateOrganization adds an organization (city admins only).
// Errors: invalid_argument (the field named), permission_denied, conflict
// (name taken; a reused Idempotency-Key), unavailable, internal.
func (s *Stations) CreateOrganization(ctx context.Context, p model.Principal, idem *model.Idempotency, in OrgInput) (model.Organization, error) {
	if err := requireCityAdmin(p); err != nil {
		return model.Organization{}, err
	}
	fe := model.FieldErrors{}
	if in.Name == nil {
		fe.Add("name", "必填")
	}
	if in.Lat == nil {
		fe.Add("lat", "必填")
	}
	if in.Lng == nil {
		fe.Add("lng", "必填")
	}
	if err := fe.Err(); err != nil {
		return model.Organization{}, err
	}
	o := model.Organization{Active: true, Categories: []string{}}
	if err := s.applyOrg(ctx, &o, in); err != nil {
		return model.Organization{}, err
	}
	out, err := s.store.CreateOrganization(ctx, idem, o)
	if err != nil {
		return model.Organization{}, err
	}
	return s.afterOrgWrite(ctx, out)
}

// UpdateOrganization changes an organization (city admins only); an
// inactive organization is no longer matched. Errors: invalid_argument (the
// field named), permission_denied, not_found, conflict (name taken),
// unavailable, internal.
func (s *Stations) UpdateOrganization(ctx context.Context, p model.Principal, id int64, in OrgInput) (model.Organization, error) {
	if err := requireCityAdmin(p); err != nil {
		return model.Organization{}, err
	}
	o, err := s.store.GetOrganization(ctx, id)
	if err != nil {
		return model.Organization{}, err
	}
	if err := s.applyOrg(ctx, &o, in); err != nil {
		return model.Organization{}, err
	}
	if err := s.store.UpdateOrganization(ctx, o); err != nil {
		return model.Organization{}, err
	}
	return s.afterOrgWrite(ctx, o)
}

func (s *Stations) applyOrg(ctx context.Context, o *model.Organization, in OrgInput) error {
	fe := model.FieldErrors{}
	if in.Name != nil {
		o.Name = strings.TrimSpace(*in.Name)
		if n := utf8.RuneCountInString(o.Name); n == 0 || n > 64 || hasControl(o.Name) {
			fe.Add("name", "必须是 1–64 个字符")
		}
	}
	if in.Description != nil {
		o.Description = strings.TrimSpace(*in.Description)
		if utf8.RuneCountInString(o.Description) > 500 {
			fe.Add("description", "最长 500 个字符")
		}
	}
	if in.Address != nil {
		o.Address = strings.TrimSpace(*in.Address)
		if utf8.RuneCountInString(o.Address) > 200 || hasControl(o.Address) {
			fe.Add("address", "最长 200 个字符")
		}
	}
	if in.ContactPhone != nil {
		o.ContactPhone = strings.TrimSpace(*in.ContactPhone)
		if o.ContactPhone != "" && !phonePattern.MatchString(o.ContactPhone) {
			fe.Add("contact_phone", "必须是 5–32 位数字（可含 + - 空格）")
		}
	}
	if in.Lat != nil {
		o.Lat = model.PositiveZero(*in.Lat)
	}
	if in.Lng != nil {
		o.Lng = model.PositiveZero(*in.Lng)
	}
	fe.Merge((model.Point{Lat: o.Lat, Lng: o.Lng}).CheckPlace())
	if in.Active != nil {
		o.Active = *in.Active
	}
	if in.Categories != nil {
		codes, err := s.checkCategories(ctx, *in.Categories)
		if err != nil {
			return err
		}
		if codes == nil {
			fe.Add("categories", "包含未知或已停用的服务类别")
		}
		o.Categories = codes
	}
	return fe.Err()
}

func (s *Stations) afterOrgWrite(ctx context.Context, o model.Organization) (model.Organization, error) {
	var err error
	if o.Active {
		err = s.geo.PutOrgGeo(ctx, o.ID, model.Point{Lat: o.Lat, Lng: o.Lng})
	} else {
		err = s.geo.RemoveOrgGeo(ctx, o.ID)
	}
	if err != nil {
		s.log.Warn("stations: organization GEO update failed; the reconciler repairs it", "org_id", o.ID, "err", err)
	}
	s.changed(ctx)
	if o.Categories == nil {
		o.Categories = []string{}
	}
	return o, nil
}
