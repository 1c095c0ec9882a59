package service_test

import (
	"context"
	"sync/atomic"
	"testing"

	"jindalai/model"
	"jindalai/service"
	"jindalai/store"
)

// countingGeo is the real Redis index counting the reads of the stations
// version (StationsVersion reads it alone, every GeoProbe reads it too) and
// of queue lengths, which fail while failLengths is set.
type countingGeo struct {
	*store.Store
	versions, probes, lengths atomic.Int64
	// largest is the largest count a probe asked Redis for.
	largest     atomic.Int64
	failLengths atomic.Bool
}

func (g *countingGeo) QueueLengths(ctx context.Context, ids []int64) ([]int64, string, error) {
	g.lengths.Add(1)
	if g.failLengths.Load() {
		return nil, "", model.Errorf(model.CodeUnavailable, "Redis 不可用")
	}
	return g.Store.QueueLengths(ctx, ids)
}

func (g *countingGeo) StationsVersion(ctx context.Context) (string, error) {
	g.versions.Add(1)
	return g.Store.StationsVersion(ctx)
}

func (g *countingGeo) GeoProbe(ctx context.Context, p model.Point, stations, orgs model.GeoQuery) (model.GeoProbe, error) {
	g.probes.Add(1)
	if n := int64(max(stations.Count, orgs.Count)); n > g.largest.Load() {
		g.largest.Store(n)
	}
	return g.Store.GeoProbe(ctx, p, stations, orgs)
}

func (g *countingGeo) reads() int64 {
	n := g.versions.Load() + g.probes.Load()
	g.versions.Store(0)
	g.probes.Store(0)
	return n
}

// TestNearbySearchReadsTheVersionOnce: a nearby search of a warm replica
// reads the stations version once (in its GeoProbe round trip), and still
// sees a change another replica made (it moves to the version it read).
func TestNearbySearchReadsTheVersionOnce(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	geo := &countingGeo{Store: c.st}
	svc := service.NewStations(c.st, geo, matchConfig(), c.st.Loc, discardLog())
	if err := svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	geo.reads()
	near := nearBeishanA

	list, err := svc.Stations(ctx, service.StationQuery{Near: &near, RadiusM: 5000, Category: "home_visit"})
	if err != nil || len(list.Items) == 0 || list.Items[0].ID != c.pointA {
		t.Fatalf("nearby stations: %+v %v", list, err)
	}
	if n := geo.reads(); n != 1 {
		t.Errorf("nearby stations read the version %d times, want 1", n)
	}
	orgs, err := svc.Organizations(ctx, service.OrgQuery{Near: &near, RadiusM: 5000})
	if err != nil || len(orgs.Items) != 2 {
		t.Fatalf("nearby organizations: %+v %v", orgs, err)
	}
	if n := geo.reads(); n != 1 {
		t.Errorf("nearby organizations read the version %d times, want 1", n)
	}

	// Another replica renames point A.
	a, _ := c.st.GetStation(ctx, c.pointA)
	a.Name = "北山A社区社工点（新址）"
	c.elsewhere(t, func(ctx context.Context) error { return c.st.UpdateStation(ctx, a) })
	list, err = svc.Stations(ctx, service.StationQuery{Near: &near, RadiusM: 5000, Category: "home_visit"})
	if err != nil || len(list.Items) == 0 || list.Items[0].Name != a.Name {
		t.Fatalf("after another replica's rename: %+v %v", list, err)
	}
	if n := geo.reads(); n != 1 {
		t.Errorf("nearby stations after a change read the version %d times, want 1", n)
	}
	// Another replica adds a category this replica's copy does not know
	// yet: the query is checked against the current data, not refused.
	c.elsewhere(t, func(ctx context.Context) error {
		_, err := c.st.CreateCategory(ctx, nil, model.Category{Code: "legal_aid", Name: "法律援助", Area: model.AreaSocialAffairs, Active: true})
		return err
	})
	if list, err := svc.Stations(ctx, service.StationQuery{Near: &near, RadiusM: 5000, Category: "legal_aid"}); err != nil || len(list.Items) != 0 {
		t.Fatalf("a category created by another replica: %+v %v", list, err)
	}
	// Another replica retires a category the copy holds active: refused.
	counselling, err := c.st.GetCategory(ctx, "counselling")
	if err != nil {
		t.Fatal(err)
	}
	counselling.Active = false
	c.elsewhere(t, func(ctx context.Context) error { return c.st.UpdateCategory(ctx, counselling) })
	if _, err := svc.Stations(ctx, service.StationQuery{Near: &near, RadiusM: 5000, Category: "counselling"}); !model.IsCode(err, model.CodeInvalid) {
		t.Fatalf("a category another replica retired: %v, want invalid_argument", err)
	}
	if _, err := svc.Stations(ctx, service.StationQuery{Near: &near, RadiusM: 5000, Category: "no_such_service"}); !model.IsCode(err, model.CodeInvalid) {
		t.Fatalf("unknown category: %v, want invalid_argument", err)
	}
}

// TestNearbySearchCountIsBounded: the deepest page a cursor may ask for
// (offset 2048, limit 100) makes no GEO query for more than the search's
// bound, 2048 members.
func TestNearbySearchCountIsBounded(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	geo := &countingGeo{Store: c.st}
	svc := service.NewStations(c.st, geo, matchConfig(), c.st.Loc, discardLog())
	near := nearBeishanA
	page := model.Page{Limit: 100, Cursor: model.EncodeCursor(2048)}
	if _, err := svc.Stations(ctx, service.StationQuery{Near: &near, RadiusM: 5000, Page: page}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Organizations(ctx, service.OrgQuery{Near: &near, RadiusM: 5000, Page: page}); err != nil {
		t.Fatal(err)
	}
	if n := geo.largest.Load(); n == 0 || n > 2048 {
		t.Fatalf("largest GEO count %d, want at most 2048", n)
	}
}
