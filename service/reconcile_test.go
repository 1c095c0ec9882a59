package service_test

import (
	"context"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/service"
)

func TestReconcileLoopRestoresLostGeoSets(t *testing.T) {
	c := newCity(t)
	cfg := matchConfig()
	cfg.ReconcileEvery = 50 * time.Millisecond
	svc := service.NewStations(c.st, c.st, cfg, c.st.Loc, discardLog())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.ReconcileLoop(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	bg := context.Background()
	// A station written behind the service's back (as after a lost Redis
	// write) and the loss of both sets are repaired by the loop.
	extra, err := c.st.CreateStation(bg, nil, model.Station{Name: "北山D社区社工点", Level: 3, ParentID: &c.beishan,
		Lat: 42.93, Lng: 129.52, RadiusM: 1500, Categories: []string{"home_visit"}})
	if err != nil {
		t.Fatal(err)
	}
	c.st.Redis.Del(bg, c.st.Keys.StationGeo(), c.st.Keys.OrgGeo())
	deadline := time.Now().Add(5 * time.Second)
	for {
		ns, no, err := c.st.GeoSizes(bg)
		if err == nil && ns == 7 && no == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GEO sets not restored: %d stations, %d orgs (%v)", ns, no, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ok, _ := svc.StationExists(bg, extra.ID); !ok {
		t.Fatal("the reloaded copy misses the new station")
	}
}
