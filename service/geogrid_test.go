package service

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"jindalai/model"
	"jindalai/store/storetest"
)

// TestGeoGridAnswersAsRedisGeoSearch: on 3,000 random points around a city
// (some stacked on one spot), the grid's radius searches return what Redis
// GEOSEARCH … ASC COUNT n returns for the same set: the same members (up to
// ties) at the same distances, within Redis's geohash precision.
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
		points = append(points, geoPoint{id: id, p: p, maxM: math.Inf(1)})
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
		got := g.nearest(p, q.RadiusM, q.Count)
		if len(got) != len(want.Stations) {
			t.Fatalf("query %d (%v r=%v n=%d): %d hits, Redis %d", i, p, q.RadiusM, q.Count, len(got), len(want.Stations))
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

// TestGeoGridKeepsEachPointsOwnRadius: a point is found only within its own
// maxM (a station's service radius) as well as the search radius; limit
// keeps the nearest.
func TestGeoGridKeepsEachPointsOwnRadius(t *testing.T) {
	at := model.Point{Lat: 42.9, Lng: 129.5}
	north := func(m float64) model.Point { return model.Point{Lat: at.Lat + m/metresPerDegLat, Lng: at.Lng} }
	g := newGeoGrid([]geoPoint{
		{id: 1, p: north(1000), maxM: 500},
		{id: 2, p: north(1500), maxM: 2000},
		{id: 3, p: north(200), maxM: 5000},
		{id: 4, p: north(2500), maxM: math.Inf(1)},
	})
	ids := func(hits []model.GeoHit) []int64 {
		var out []int64
		for _, h := range hits {
			out = append(out, h.ID)
		}
		return out
	}
	if got := ids(g.nearest(at, 3000, 10)); !slices.Equal(got, []int64{3, 2, 4}) {
		t.Fatalf("3 km: %v", got)
	}
	if got := ids(g.nearest(at, 1200, 10)); !slices.Equal(got, []int64{3}) {
		t.Fatalf("1.2 km: %v", got)
	}
	if got := ids(g.nearest(at, 3000, 2)); !slices.Equal(got, []int64{3, 2}) {
		t.Fatalf("limit 2: %v", got)
	}
}

// TestGeoGridNearestIsExact: a search returns exactly what sorting every
// point by (distanceM, id) and keeping the first limit within both radii
// gives — the same points, in the same order, at the same distances — on
// scattered points and on points stacked on a few spots, queried from
// metres down to fractions of a millimetre away (where the chord's rounding
// is largest against its size), with limits that cut through the stacks.
func TestGeoGridNearestIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 4))
	spots := []model.Point{{Lat: 42.95, Lng: 129.55}, {Lat: 42.90, Lng: 129.50}, {Lat: 42.91, Lng: 129.48}}
	var points []geoPoint
	for id := int64(1); id <= 1500; id++ {
		p := model.Point{Lat: 42.9 + rng.NormFloat64()*0.05, Lng: 129.5 + rng.NormFloat64()*0.06}
		if id%3 == 0 {
			p = spots[int(id)%len(spots)]
		}
		maxM := math.Inf(1)
		if id%7 == 0 {
			maxM = 300 + rng.Float64()*5000
		}
		points = append(points, geoPoint{id: id, p: p, maxM: maxM})
	}
	// Shuffled, so that a cell does not hold its points in id order.
	grid := slices.Clone(points)
	rng.Shuffle(len(grid), func(i, j int) { grid[i], grid[j] = grid[j], grid[i] })
	g := newGeoGrid(grid)
	for i := range 3000 {
		q := spots[i%len(spots)]
		offset := math.Pow(10, -4+rng.Float64()*7) / metresPerDegLat // 0.1 mm to 1 km
		q = model.Point{Lat: q.Lat + offset*rng.NormFloat64(), Lng: q.Lng + offset*rng.NormFloat64()}
		if i%4 == 0 {
			q = model.Point{Lat: 42.9 + rng.NormFloat64()*0.05, Lng: 129.5 + rng.NormFloat64()*0.06}
		}
		radius := []float64{500, 3000, 10000}[i%3]
		limit := []int{1, 2, 16, 600}[i%4]
		var want []model.GeoHit
		for _, pt := range points {
			if d := distanceM(q, pt.p); d <= radius && d <= pt.maxM {
				want = append(want, model.GeoHit{ID: pt.id, DistanceM: d})
			}
		}
		slices.SortFunc(want, func(a, b model.GeoHit) int {
			if a.DistanceM != b.DistanceM {
				return cmp.Compare(a.DistanceM, b.DistanceM)
			}
			return cmp.Compare(a.ID, b.ID)
		})
		want = want[:min(len(want), limit)]
		if got := g.nearest(q, radius, limit); !slices.Equal(got, want) {
			t.Fatalf("query %d at %+v, %g m, limit %d:\n got %v\nwant %v", i, q, radius, limit, got, want)
		}
	}
}

// BenchmarkGeoGridNearest is the matcher's search on a city of 2,000
// organizations: the 3 km search, as most submits make, and a 30 km one.
func BenchmarkGeoGridNearest(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 5))
	var points []geoPoint
	for id := int64(1); id <= 2000; id++ {
		points = append(points, geoPoint{id: id, p: model.Point{Lat: 42.9 + rng.NormFloat64()*0.08, Lng: 129.5 + rng.NormFloat64()*0.1},
			maxM: math.Inf(1)})
	}
	g := newGeoGrid(points)
	queries := make([]model.Point, 256)
	for i := range queries {
		queries[i] = model.Point{Lat: 42.9 + rng.NormFloat64()*0.08, Lng: 129.5 + rng.NormFloat64()*0.1}
	}
	for _, radius := range []float64{3000, 30000} {
		b.Run(strconv.Itoa(int(radius/1000))+"km", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				g.nearest(queries[i%len(queries)], radius, 16)
			}
		})
	}
}
