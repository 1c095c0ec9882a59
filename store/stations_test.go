package store_test

import (
	"context"
	"testing"

	"jindalai/model"
	"jindalai/store"
	"jindalai/store/storetest"
)

func seedCatalogue(t *testing.T, st *store.Store, codes ...string) {
	t.Helper()
	for i, code := range codes {
		_, err := st.CreateCategory(context.Background(), nil, model.Category{
			Code: code, Name: "服务" + code, Area: model.AreaElderCare, SortOrder: i, Active: true,
			Fields: []model.CategoryField{{Name: "note", Label: "备注", Type: model.FieldString}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestCategoriesRoundTrip(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	seedCatalogue(t, st, "home_visit", "counselling")
	_, err := st.CreateCategory(ctx, nil, model.Category{Code: "home_visit", Name: "x", Area: model.AreaElderCare})
	if !model.IsCode(err, model.CodeConflict) {
		t.Fatalf("duplicate code: %v, want conflict", err)
	}
	c, err := st.GetCategory(ctx, "home_visit")
	if err != nil || c.Name != "服务home_visit" || len(c.Fields) != 1 || c.AreaName != "养老服务" || !c.Active {
		t.Fatalf("get: %+v %v", c, err)
	}
	c.Active = false
	c.Fields = nil
	if err := st.UpdateCategory(ctx, c); err != nil {
		t.Fatal(err)
	}
	all, err := st.ListCategories(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("list: %d %v", len(all), err)
	}
	if _, err := st.GetCategory(ctx, "nope"); !model.IsCode(err, model.CodeNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if err := st.UpdateCategory(ctx, model.Category{Code: "nope", Area: model.AreaElderCare}); !model.IsCode(err, model.CodeNotFound) {
		t.Fatalf("update missing: %v", err)
	}
}

func TestStationsAndOrganizationsRoundTrip(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	seedCatalogue(t, st, "home_visit", "counselling")
	city, err := st.CreateStation(ctx, nil, model.Station{Name: "延吉市社工总站", Level: 1, Lat: 42.905, Lng: 129.509, RadiusM: 50000,
		OpeningHours: []model.OpeningPeriod{{Weekday: 1, Opens: "08:30", Closes: "17:00"}}, Categories: []string{"home_visit"}})
	if err != nil || city.ID == 0 {
		t.Fatalf("create city: %+v %v", city, err)
	}
	if _, err := st.CreateStation(ctx, nil, model.Station{Name: "第二总站", Level: 1, Lat: 1, Lng: 1, RadiusM: 1}); !model.IsCode(err, model.CodeConflict) {
		t.Fatalf("second city station: %v, want conflict", err)
	}
	street, err := st.CreateStation(ctx, nil, model.Station{Name: "北山街道社工站", Level: 2, ParentID: &city.ID, Lat: 42.917, Lng: 129.505,
		RadiusM: 3000, Categories: []string{"home_visit", "counselling"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateStation(ctx, nil, model.Station{Name: "北山街道社工站", Level: 2, ParentID: &city.ID, Lat: 1, Lng: 1}); !model.IsCode(err, model.CodeConflict) {
		t.Fatalf("duplicate name: %v", err)
	}
	street.Closed, street.ClosedReason, street.Categories = true, "装修", []string{"counselling"}
	if err := st.UpdateStation(ctx, street); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetStation(ctx, street.ID)
	if err != nil || !got.Closed || got.ClosedReason != "装修" || len(got.Categories) != 1 || got.Parent() != city.ID {
		t.Fatalf("get street: %+v %v", got, err)
	}
	all, err := st.ListStations(ctx)
	if err != nil || len(all) != 2 || len(all[0].OpeningHours) != 1 || all[0].Categories[0] != "home_visit" {
		t.Fatalf("list: %+v %v", all, err)
	}
	if _, err := st.GetStation(ctx, 999); !model.IsCode(err, model.CodeNotFound) {
		t.Fatalf("missing station: %v", err)
	}

	org, err := st.CreateOrganization(ctx, nil, model.Organization{Name: "延吉市老年协会", Lat: 42.91, Lng: 129.5, Active: true,
		Categories: []string{"home_visit"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.GrantRole(ctx, mustUser(t, st, "dev_org"), model.Role{Role: model.RoleOrgAdmin, OrgID: org.ID}); err != nil {
		t.Fatal(err)
	}
	org.Active = false
	if err := st.UpdateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	o, err := st.GetOrganization(ctx, org.ID)
	if err != nil || o.Active || o.MemberCount != 1 || len(o.Categories) != 1 {
		t.Fatalf("get org: %+v %v", o, err)
	}
	orgs, err := st.ListOrganizations(ctx)
	if err != nil || len(orgs) != 1 || orgs[0].MemberCount != 1 {
		t.Fatalf("list orgs: %+v %v", orgs, err)
	}
}

func mustUser(t *testing.T, st *store.Store, openid string) int64 {
	u, err := st.UpsertUserByOpenID(context.Background(), openid, "")
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// mustStaff is mustUser granting the user roles.
func mustStaff(t *testing.T, st *store.Store, openid string, roles ...model.Role) int64 {
	t.Helper()
	id := mustUser(t, st, openid)
	for _, r := range roles {
		if err := st.GrantRole(context.Background(), id, r); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func TestGeoProbeRebuildAndQueues(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	center := model.Point{Lat: 42.905, Lng: 129.509}
	if err := st.RebuildStationGeo(ctx, map[int64]model.Point{1: center, 2: {Lat: 42.917, Lng: 129.505}, 3: {Lat: 43.3, Lng: 129.9}}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutOrgGeo(ctx, 7, center); err != nil {
		t.Fatal(err)
	}
	p, err := st.GeoProbe(ctx, center, model.GeoQuery{RadiusM: 3000, Count: 10}, model.GeoQuery{RadiusM: 3000, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !p.StationsSet || !p.OrgsSet || p.Version != "" || len(p.Stations) != 2 || p.Stations[0].ID != 1 || p.Stations[1].ID != 2 ||
		p.Stations[1].DistanceM < 1000 || p.StationsFull || len(p.Orgs) != 1 || !p.OrgsFull {
		t.Fatalf("probe: %+v", p)
	}
	if err := st.RebuildStationGeo(ctx, map[int64]model.Point{2: {Lat: 42.917, Lng: 129.505}}); err != nil {
		t.Fatal(err)
	}
	if err := st.BumpStationsVersion(ctx); err != nil {
		t.Fatal(err)
	}
	p, err = st.GeoProbe(ctx, center, model.GeoQuery{RadiusM: 3000, Count: 10}, model.GeoQuery{})
	if err != nil || len(p.Stations) != 1 || p.Stations[0].ID != 2 || p.Version != "1" || p.Orgs != nil {
		t.Fatalf("after rebuild: %+v %v", p, err)
	}
	ns, no, err := st.GeoSizes(ctx)
	if err != nil || ns != 1 || no != 1 {
		t.Fatalf("sizes %d %d %v", ns, no, err)
	}
	st.Redis.ZAdd(ctx, st.Keys.StationQueue(2), redisZ(1, "10"), redisZ(2, "11"))
	lens, version, err := st.QueueLengths(ctx, []int64{1, 2})
	if err != nil || lens[0] != 0 || lens[1] != 2 || version != "1" {
		t.Fatalf("queue lengths %v version %q %v", lens, version, err)
	}
	st.Redis.Del(ctx, st.Keys.StationsVersion())
	if lens, version, err := st.QueueLengths(ctx, nil); err != nil || len(lens) != 0 || version != "" {
		t.Fatalf("no stations, no version: %v %q %v", lens, version, err)
	}
}
