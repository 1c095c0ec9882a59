package api

import (
	"context"

	"jindalai/model"
)

// testCity is a small station tree for HTTP tests: a city station, two
// street stations, two points under 北山 and two organizations.
type testCity struct {
	City, Beishan, Gongyuan, PointA, PointB int64
	OrgElder, OrgMed                        int64
}

// city creates the small test city through the store and indexes it.
func (h *harness) city() testCity {
	h.t.Helper()
	ctx := context.Background()
	for _, c := range []model.Category{
		{Code: "home_visit", Name: "上门探访", Area: model.AreaElderCare, Active: true,
			Fields: []model.CategoryField{{Name: "people", Label: "人数", Type: model.FieldNumber, Order: 1}}},
		{Code: "counselling", Name: "心理咨询", Area: model.AreaSocialAffairs, Active: true},
		{Code: "low_income", Name: "低保咨询", Area: model.AreaSocialAssistance, Active: true},
	} {
		if _, err := h.store.CreateCategory(ctx, nil, c); err != nil {
			h.t.Fatal(err)
		}
	}
	mk := func(name string, level int, parent int64, lat, lng float64, radius int, cats ...string) int64 {
		h.t.Helper()
		s := model.Station{Name: name, Level: level, Lat: lat, Lng: lng, RadiusM: radius, Categories: cats, Address: "延吉市",
			OpeningHours: []model.OpeningPeriod{{Weekday: 1, Opens: "08:30", Closes: "17:00"}}}
		if parent != 0 {
			s.ParentID = &parent
		}
		out, err := h.store.CreateStation(ctx, nil, s)
		if err != nil {
			h.t.Fatal(err)
		}
		return out.ID
	}
	var c testCity
	c.City = mk("延吉市社工总站", 1, 0, 42.905, 129.509, 100000, "home_visit", "counselling", "low_income")
	c.Beishan = mk("北山街道社工站", 2, c.City, 42.917, 129.505, 4000, "home_visit", "counselling", "low_income")
	c.Gongyuan = mk("公园街道社工站", 2, c.City, 42.903, 129.513, 4000, "home_visit", "counselling")
	c.PointA = mk("北山A社区社工点", 3, c.Beishan, 42.920, 129.500, 1500, "home_visit")
	c.PointB = mk("北山B社区社工点", 3, c.Beishan, 42.925, 129.510, 1500, "home_visit", "counselling")
	for i, o := range []model.Organization{
		{Name: "延吉市老年协会", Lat: 42.918, Lng: 129.503, Active: true, Categories: []string{"home_visit"}},
		{Name: "延吉市医学会", Lat: 42.915, Lng: 129.507, Active: true, Categories: []string{"home_visit", "counselling"}},
	} {
		out, err := h.store.CreateOrganization(ctx, nil, o)
		if err != nil {
			h.t.Fatal(err)
		}
		if i == 0 {
			c.OrgElder = out.ID
		} else {
			c.OrgMed = out.ID
		}
	}
	if err := h.stations.Reconcile(ctx); err != nil {
		h.t.Fatal(err)
	}
	return c
}
