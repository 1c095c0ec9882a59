package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"jindalai/model"
	"jindalai/service"
	"jindalai/store"
	"jindalai/store/storetest"
)

// city is a small fixture around 北山 in Yanji.
type city struct {
	st                               *store.Store
	svc                              *service.Stations
	cityID, beishan, gongyuan        int64
	pointA, pointB, pointClosed      int64
	orgElder, orgMed, orgOff, orgFar int64
}

func matchConfig() service.MatchConfig {
	return service.MatchConfig{SearchRadiiM: []int{3000, 10000, 30000}, LoadPenaltyM: 200, MaxOrgs: 3}
}

func newCity(t *testing.T) *city {
	t.Helper()
	st := storetest.New(t)
	ctx := context.Background()
	for _, c := range []model.Category{
		{Code: "home_visit", Name: "上门探访", Area: model.AreaElderCare, Active: true},
		{Code: "counselling", Name: "心理咨询", Area: model.AreaSocialAffairs, Active: true},
		{Code: "low_income", Name: "低保咨询", Area: model.AreaSocialAssistance, Active: true},
		{Code: "retired", Name: "停用服务", Area: model.AreaSocialAffairs, Active: false},
	} {
		if _, err := st.CreateCategory(ctx, nil, c); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(name string, level int, parent int64, lat, lng float64, radius int, closed bool, cats ...string) int64 {
		t.Helper()
		s := model.Station{Name: name, Level: level, Lat: lat, Lng: lng, RadiusM: radius, Closed: closed, Categories: cats}
		if parent != 0 {
			s.ParentID = &parent
		}
		out, err := st.CreateStation(ctx, nil, s)
		if err != nil {
			t.Fatal(err)
		}
		return out.ID
	}
	c := &city{st: st}
	c.cityID = mk("延吉市社工总站", 1, 0, 42.905, 129.509, 100000, false, "home_visit", "counselling", "low_income")
	c.beishan = mk("北山街道社工站", 2, c.cityID, 42.917, 129.505, 4000, false, "home_visit", "counselling", "low_income")
	c.gongyuan = mk("公园街道社工站", 2, c.cityID, 42.903, 129.513, 4000, false, "home_visit", "counselling")
	c.pointA = mk("北山A社区社工点", 3, c.beishan, 42.920, 129.500, 1500, false, "home_visit")
	c.pointB = mk("北山B社区社工点", 3, c.beishan, 42.925, 129.510, 1500, false, "home_visit", "counselling")
	c.pointClosed = mk("北山C社区社工点", 3, c.beishan, 42.9215, 129.5015, 1500, true, "home_visit")
	mko := func(name string, lat, lng float64, active bool, cats ...string) int64 {
		o, err := st.CreateOrganization(ctx, nil, model.Organization{Name: name, Lat: lat, Lng: lng, Active: active, Categories: cats})
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	c.orgElder = mko("老年协会", 42.918, 129.503, true, "home_visit")
	c.orgMed = mko("医学会", 42.915, 129.507, true, "home_visit", "counselling")
	c.orgOff = mko("停办协会", 42.9201, 129.5001, false, "home_visit")
	c.orgFar = mko("龙井协会", 42.77, 129.42, true, "home_visit")
	c.svc = service.NewStations(st, st, matchConfig(), st.Loc, discardLog())
	if err := c.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// elsewhere changes the stations' data as another replica does: write
// MySQL, then bump the version.
func (c *city) elsewhere(t *testing.T, write func(ctx context.Context) error) {
	t.Helper()
	ctx := context.Background()
	if err := write(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.st.BumpStationsVersion(ctx); err != nil {
		t.Fatal(err)
	}
}

// closeElsewhere closes a station as another replica does.
func (c *city) closeElsewhere(t *testing.T, id int64) {
	t.Helper()
	c.elsewhere(t, func(ctx context.Context) error {
		st, err := c.st.GetStation(ctx, id)
		if err != nil {
			return err
		}
		st.Closed = true
		return c.st.UpdateStation(ctx, st)
	})
}

func stationIDs(r model.MatchResult) []int64 {
	out := make([]int64, len(r.Stations))
	for i, c := range r.Stations {
		out[i] = c.Station.ID
	}
	return out
}

func orgIDs(r model.MatchResult) []int64 {
	out := make([]int64, len(r.Orgs))
	for i, o := range r.Orgs {
		out[i] = o.ID
	}
	return out
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// near北山A is a location inside 北山, 70 m from point A, 100 m from the closed point C.
var nearBeishanA = model.Point{Lat: 42.9205, Lng: 129.5005}

func TestMatchRoutesToNearestServingPoint(t *testing.T) {
	c := newCity(t)
	r, err := c.svc.Match(context.Background(), nearBeishanA, "home_visit")
	if err != nil {
		t.Fatal(err)
	}
	// A (nearest point, open), then B (a farther point, within its radius?
	// no: 1.0 km away... it is within 1500 m), then the street stations, then the chain.
	got := stationIDs(r)
	if got[0] != c.pointA {
		t.Fatalf("first %d, want point A %d (all %v)", got[0], c.pointA, got)
	}
	if got[len(got)-1] != c.cityID {
		t.Fatalf("last %d, want the city station", got[len(got)-1])
	}
	seen := map[int64]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("duplicate %d in %v", id, got)
		}
		seen[id] = true
		if id == c.pointClosed {
			t.Fatalf("closed point matched: %v", got)
		}
	}
	if !seen[c.beishan] {
		t.Fatalf("the parent street station is not in the chain: %v", got)
	}
	if r.Stations[0].DistanceM < 40 || r.Stations[0].DistanceM > 100 {
		t.Fatalf("distance to A %v", r.Stations[0].DistanceM)
	}
	// Orgs: the two active serving ones near 北山, not the inactive one, not the far one.
	if o := orgIDs(r); !equal(o, []int64{c.orgElder, c.orgMed}) {
		t.Fatalf("orgs %v, want [%d %d]", o, c.orgElder, c.orgMed)
	}
}

func TestMatchCategoryNoPointServesGoesToStreet(t *testing.T) {
	c := newCity(t)
	r, err := c.svc.Match(context.Background(), nearBeishanA, "low_income")
	if err != nil {
		t.Fatal(err)
	}
	if got := stationIDs(r); !equal(got, []int64{c.beishan, c.cityID}) {
		t.Fatalf("stations %v, want [北山 %d, city %d]", got, c.beishan, c.cityID)
	}
	if len(r.Orgs) != 0 || r.Orgs == nil {
		t.Fatalf("orgs %#v, want empty non-nil", r.Orgs)
	}
}

func TestMatchFarAwayGoesToCity(t *testing.T) {
	c := newCity(t)
	far := model.Point{Lat: 42.905, Lng: 128.895} // about 50 km west
	r, err := c.svc.Match(context.Background(), far, "home_visit")
	if err != nil {
		t.Fatal(err)
	}
	if got := stationIDs(r); !equal(got, []int64{c.cityID}) {
		t.Fatalf("stations %v, want only the city station", got)
	}
	if r.Stations[0].DistanceM < 45000 || r.Stations[0].DistanceM > 55000 {
		t.Fatalf("distance %v", r.Stations[0].DistanceM)
	}
}

func TestMatchSkipsClosedStation(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	// Close A too: the closed C is nearer than B but must still be skipped.
	c.closeElsewhere(t, c.pointA)
	r, err := c.svc.Match(ctx, nearBeishanA, "home_visit")
	if err != nil {
		t.Fatal(err)
	}
	if got := stationIDs(r); got[0] != c.pointB {
		t.Fatalf("stations %v, want point B %d first", got, c.pointB)
	}
	for _, id := range stationIDs(r) {
		if id == c.pointA || id == c.pointClosed {
			t.Fatalf("closed station in %v", stationIDs(r))
		}
	}
}

func TestMatchBusyStationLosesToSlightlyFartherIdleOne(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	// Between A and B: A at ~330 m, B at ~560 m. Two queued tasks at A add 400 m.
	p := model.Point{Lat: 42.9225, Lng: 129.5030}
	r, err := c.svc.Match(ctx, p, "home_visit")
	if err != nil {
		t.Fatal(err)
	}
	if got := stationIDs(r); got[0] != c.pointA {
		t.Fatalf("idle: %v, want A first", got)
	}
	dA, dB := r.Stations[0].DistanceM, r.Stations[1].DistanceM
	if dB-dA >= 400 || dB <= dA {
		t.Fatalf("fixture: A %.0f m, B %.0f m; B must be less than 400 m farther", dA, dB)
	}
	c.st.Redis.ZAdd(ctx, c.st.Keys.StationQueue(c.pointA), redis.Z{Score: 1, Member: "101"}, redis.Z{Score: 2, Member: "102"})
	r, err = c.svc.Match(ctx, p, "home_visit")
	if err != nil {
		t.Fatal(err)
	}
	if got := stationIDs(r); got[0] != c.pointB || got[1] != c.pointA {
		t.Fatalf("busy A: %v, want B then A", got)
	}
	if r.Stations[1].Score != r.Stations[1].DistanceM+400 {
		t.Fatalf("A's score %v, distance %v", r.Stations[1].Score, r.Stations[1].DistanceM)
	}
}

func TestMatchRejectsBadInput(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	for _, tc := range []struct {
		p        model.Point
		category string
		field    string
	}{
		{model.Point{Lat: 91, Lng: 129.5}, "home_visit", "lat"},
		{model.Point{Lat: 86, Lng: 129.5}, "home_visit", "lat"},
		{model.Point{Lat: 42.9, Lng: 181}, "home_visit", "lng"},
		{nearBeishanA, "no_such_service", "category"},
		{nearBeishanA, "retired", "category"},
		{nearBeishanA, "", "category"},
	} {
		_, err := c.svc.Match(ctx, tc.p, tc.category)
		var e *model.Error
		if !asError(err, &e) || e.Code != model.CodeInvalid || e.Fields[tc.field] == "" {
			t.Errorf("%+v %q: %v, want invalid_argument naming %s", tc.p, tc.category, err, tc.field)
		}
	}
}

// TestMatchOutlivesLostGeoIndex: the matcher searches its in-process copy,
// so losing the Redis GEO sets does not change a match; the reconciler puts
// the sets back (for the public nearby search).
func TestMatchOutlivesLostGeoIndex(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	c.st.Redis.Del(ctx, c.st.Keys.StationGeo(), c.st.Keys.OrgGeo())
	r, err := c.svc.Match(ctx, nearBeishanA, "home_visit")
	if err != nil {
		t.Fatal(err)
	}
	if got := stationIDs(r); got[0] != c.pointA || len(r.Orgs) != 2 {
		t.Fatalf("after loss: %v orgs %v", got, r.Orgs)
	}
	if err := c.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if n := c.st.Redis.ZCard(ctx, c.st.Keys.StationGeo()).Val(); n != 6 {
		t.Fatalf("station GEO set has %d members, want 6", n)
	}
}

func TestMatchSeesChangesFromAnotherReplica(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	if _, err := c.svc.Match(ctx, nearBeishanA, "home_visit"); err != nil {
		t.Fatal(err)
	}
	c.closeElsewhere(t, c.pointA)
	r, err := c.svc.Match(ctx, nearBeishanA, "home_visit")
	if err != nil {
		t.Fatal(err)
	}
	if stationIDs(r)[0] == c.pointA {
		t.Fatalf("stale copy: A still matched after another replica closed it")
	}
}

// TestMatchSeesACategoryAddedElsewhere: a category the copy does not know
// may have been added on another replica: the match checks the version
// and, finding it newer, reloads and matches again.
func TestMatchSeesACategoryAddedElsewhere(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	if _, err := c.svc.Match(ctx, nearBeishanA, "home_visit"); err != nil {
		t.Fatal(err)
	}
	c.elsewhere(t, func(ctx context.Context) error {
		_, err := c.st.CreateCategory(ctx, nil, model.Category{Code: "new_service", Name: "新服务", Area: model.AreaSocialAffairs, Active: true})
		return err
	})
	r, err := c.svc.Match(ctx, nearBeishanA, "new_service")
	if err != nil {
		t.Fatalf("a category added on another replica: %v", err)
	}
	if len(r.Stations) != 1 || r.Stations[0].Station.ID != c.cityID || r.Category.Code != "new_service" {
		t.Fatalf("nobody serves it yet, so the city station: %+v", r)
	}
}

func TestMatchUnavailableWithoutRedis(t *testing.T) {
	c := newCity(t)
	broken, err := store.Open(store.Options{DSN: "x:y@tcp(127.0.0.1:1)/z", MaxOpenConns: 1, RedisAddr: "127.0.0.1:1", KeyPrefix: "none:"})
	if err != nil {
		t.Fatal(err)
	}
	defer broken.Close()
	svc := service.NewStations(c.st, broken, matchConfig(), time.UTC, discardLog())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := svc.Match(ctx, nearBeishanA, "home_visit"); !model.IsCode(err, model.CodeUnavailable) {
		t.Fatalf("got %v, want unavailable", err)
	}
}

func TestTreeLookups(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	anc, err := c.svc.Ancestors(ctx, c.pointA)
	if err != nil || len(anc) != 2 || anc[0].ID != c.beishan || anc[1].ID != c.cityID || anc[1].Level != 1 {
		t.Fatalf("ancestors of A: %+v %v", anc, err)
	}
	if anc, err := c.svc.Ancestors(ctx, c.cityID); err != nil || len(anc) != 0 || anc == nil {
		t.Fatalf("ancestors of the city: %#v %v", anc, err)
	}
	if _, err := c.svc.Ancestors(ctx, 9999); !model.IsCode(err, model.CodeNotFound) {
		t.Fatalf("ancestors of a missing station: %v", err)
	}
	sub, err := c.svc.Subtree(ctx, c.beishan)
	if err != nil || len(sub) != 4 || sub[0] != c.beishan {
		t.Fatalf("subtree of 北山: %v %v", sub, err)
	}
	if all, _ := c.svc.Subtree(ctx, c.cityID); len(all) != 6 {
		t.Fatalf("subtree of the city: %v", all)
	}
	if ok, err := c.svc.StationExists(ctx, c.pointB); !ok || err != nil {
		t.Fatalf("exists B: %v %v", ok, err)
	}
	if ok, _ := c.svc.StationExists(ctx, 9999); ok {
		t.Fatal("missing station exists")
	}
	if ok, _ := c.svc.OrgExists(ctx, c.orgOff); !ok {
		t.Fatal("inactive org does not exist")
	}
	if ref, err := c.svc.StationRef(ctx, c.beishan); err != nil || ref.Name != "北山街道社工站" || ref.Level != 2 {
		t.Fatalf("ref: %+v %v", ref, err)
	}
	if ref, err := c.svc.OrgRef(ctx, c.orgMed); err != nil || ref.Name != "医学会" {
		t.Fatalf("org ref: %+v %v", ref, err)
	}
	if _, err := c.svc.OrgRef(ctx, 9999); !model.IsCode(err, model.CodeNotFound) {
		t.Fatalf("missing org: %v", err)
	}
	if cat, err := c.svc.Category(ctx, "home_visit"); err != nil || cat.Name != "上门探访" {
		t.Fatalf("category: %+v %v", cat, err)
	}
	if _, err := c.svc.Category(ctx, "nope"); !model.IsCode(err, model.CodeNotFound) {
		t.Fatalf("missing category: %v", err)
	}
}
