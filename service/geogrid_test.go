package service

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"jindalai/model"
	"jindalai/store/storetest"
)

// TestGeoGridAnswersAsRedisGeoSearch: on 3,000 random points around a city
// (some stacked on one spot), the grid's radius searches return what Redis
// GEOSEARCH … ASC COUNT n returns for the same set: the same members, the
// same distances within Redis's geohash precision, the same "full" flag.
func TestGeoGridAnswersAsRedisGeoSearch(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	members := map[int64]model.Point{}
	var points []geoPoint
	for id := int64(1); id <= 3000; id++ {
		p := model.Point{Lat: 42.9 + rng.NormFloat64()*0.15, Lng: 129.5 + rng.NormFloat64()*0.2}
		if id%100 == 0 {
			p = model.Point{Lat: 42.95, Lng: 129.55}
		}
		members[id] = p
		points = append(points, geoPoint{id: id, p: p})
	}
	if err := st.RebuildStationGeo(ctx, members); err != nil {
		t.Fatal(err)
	}
	g := newGeoGrid(points)
	for i := 0; i < 300; i++ {
		p := model.Point{Lat: 42.9 + rng.NormFloat64()*0.2, Lng: 129.5 + rng.NormFloat64()*0.25}
		if i%10 == 0 {
			p = model.Point{Lat: 42.95, Lng: 129.55}
		}
		q := model.GeoQuery{RadiusM: []float64{500, 3000, 10000, 30000}[i%4], Count: []int{1, 8, 32, 2048}[(i/4)%4]}
		want, err := st.GeoProbe(ctx, p, q, model.GeoQuery{})
		if err != nil {
			t.Fatal(err)
		}
		got, full := g.within(p, q.RadiusM, q.Count)
		if full != want.StationsFull || len(got) != len(want.Stations) {
			t.Fatalf("query %d (%v r=%v n=%d): %d hits full=%v, Redis %d full=%v", i, p, q.RadiusM, q.Count,
				len(got), full, len(want.Stations), want.StationsFull)
		}
		for k := range got {
			w := want.Stations[k]
			if math.Abs(got[k].DistanceM-w.DistanceM) > 1 {
				t.Fatalf("query %d hit %d: %d at %.2f m, Redis %d at %.2f m", i, k, got[k].ID, got[k].DistanceM, w.ID, w.DistanceM)
			}
			if got[k].ID != w.ID && math.Abs(distanceM(p, members[w.ID])-got[k].DistanceM) > 1 {
				t.Fatalf("query %d hit %d: %d, Redis %d (not a tie)", i, k, got[k].ID, w.ID)
			}
		}
	}
}
