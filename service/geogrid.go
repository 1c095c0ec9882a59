package service

import (
	"math"
	"slices"

	"jindalai/model"
)

// geoGrid is the matcher's in-process spatial index of the catalogue's
// stations or organizations: points bucketed in cells of geoCellDeg degrees.
// A radius search reads the cells of the circle's bounding box, so it costs
// the points near the query, not all of them. It answers what a Redis
// GEOSEARCH BYRADIUS … ASC COUNT n WITHDIST would (haversine on the same
// earth radius), without the round trip.
type geoGrid struct {
	cells map[geoCell][]geoPoint
}

// geoCellDeg is a cell's side: about 2.8 km of latitude, so that a 3 km
// search reads a few cells' points.
const geoCellDeg = 0.025

type geoCell struct{ lat, lng int32 }

// geoPoint is an indexed point; a search finds it only within maxM metres
// (a station's service radius; +Inf for none).
type geoPoint struct {
	id   int64
	p    model.Point
	maxM float64
	// cosLat is cos(p.Lat), and x, y, z the point on the unit sphere: set
	// by newGeoGrid for the search's tests.
	cosLat, x, y, z float64
}

// onSphere sets pt's cosine and unit vector.
func (pt *geoPoint) onSphere() {
	rad := math.Pi / 180
	pt.cosLat = math.Cos(pt.p.Lat * rad)
	pt.x = pt.cosLat * math.Cos(pt.p.Lng*rad)
	pt.y = pt.cosLat * math.Sin(pt.p.Lng*rad)
	pt.z = math.Sin(pt.p.Lat * rad)
}

func cellOf(p model.Point) geoCell {
	return geoCell{lat: int32(math.Floor(p.Lat / geoCellDeg)), lng: int32(math.Floor(p.Lng / geoCellDeg))}
}

func newGeoGrid(points []geoPoint) *geoGrid {
	g := &geoGrid{cells: make(map[geoCell][]geoPoint)}
	for _, pt := range points {
		pt.onSphere()
		c := cellOf(pt.p)
		g.cells[c] = append(g.cells[c], pt)
	}
	return g
}

// metresPerDegLat is the length of a degree of latitude on the matcher's sphere.
const metresPerDegLat = earthRadiusM * math.Pi / 180

// nearest returns up to limit points at most radiusM metres from p (and
// within their own maxM), nearest first, ties by id.
func (g *geoGrid) nearest(p model.Point, radiusM float64, limit int) []model.GeoHit {
	if limit <= 0 || len(g.cells) == 0 {
		return nil
	}
	dLat := radiusM / metresPerDegLat
	// The widest longitude span of the circle is at its pole-most latitude.
	edge := math.Min(math.Abs(p.Lat)+dLat, 89.9)
	dLng := math.Min(radiusM/(metresPerDegLat*math.Cos(edge*math.Pi/180)), 180)
	lo := cellOf(model.Point{Lat: p.Lat - dLat, Lng: p.Lng - dLng})
	hi := cellOf(model.Point{Lat: p.Lat + dLat, Lng: p.Lng + dLng})
	// A point whose chord to p on the unit sphere is beyond bound is out
	// after a few multiplications: bound is the chord of the radius, then,
	// once limit hits are kept, of the limit-th (nothing farther can be
	// kept). The others are measured by distanceM's formula.
	rad := math.Pi / 180
	q := geoPoint{p: p}
	q.onSphere()
	bound := chordBound(radiusM)
	hits := make([]model.GeoHit, 0, limit)
	visit := func(pts []geoPoint) {
		for _, pt := range pts {
			if math.Abs(pt.p.Lat-p.Lat) > dLat || math.Abs(pt.p.Lng-p.Lng) > dLng {
				continue
			}
			if dx, dy, dz := pt.x-q.x, pt.y-q.y, pt.z-q.z; dx*dx+dy*dy+dz*dz > bound {
				continue
			}
			d := haversineM((pt.p.Lat-p.Lat)*rad, (pt.p.Lng-p.Lng)*rad, q.cosLat, pt.cosLat)
			if d <= radiusM && d <= pt.maxM {
				if hits = keepNearest(hits, model.GeoHit{ID: pt.id, DistanceM: d}, limit); len(hits) == limit {
					bound = chordBound(hits[limit-1].DistanceM)
				}
			}
		}
	}
	if int(hi.lat-lo.lat+1)*int(hi.lng-lo.lng+1) > len(g.cells) {
		for c, pts := range g.cells {
			if c.lat >= lo.lat && c.lat <= hi.lat && c.lng >= lo.lng && c.lng <= hi.lng {
				visit(pts)
			}
		}
	} else {
		for la := lo.lat; la <= hi.lat; la++ {
			for ln := lo.lng; ln <= hi.lng; ln++ {
				visit(g.cells[geoCell{la, ln}])
			}
		}
	}
	return hits
}

// chordBound is the squared chord on the unit sphere of a distance in
// metres, with margins for the rounding of the chord computed from two unit
// vectors: relative for most distances, absolute below a few millimetres.
func chordBound(m float64) float64 {
	s := math.Sin(m / (2 * earthRadiusM))
	return 4*s*s*(1+1e-6) + 1e-23
}

// keepNearest adds h to hits, the nearest ones so far in order (distance,
// then id), keeping at most limit of them.
func keepNearest(hits []model.GeoHit, h model.GeoHit, limit int) []model.GeoHit {
	closer := func(a, b model.GeoHit) bool {
		return a.DistanceM < b.DistanceM || (a.DistanceM == b.DistanceM && a.ID < b.ID)
	}
	if len(hits) == limit && !closer(h, hits[len(hits)-1]) {
		return hits
	}
	i, _ := slices.BinarySearchFunc(hits, h, func(e, t model.GeoHit) int {
		if closer(e, t) {
			return -1
		}
		if closer(t, e) {
			return 1
		}
		return 0
	})
	if len(hits) < limit {
		hits = append(hits, model.GeoHit{})
	}
	copy(hits[i+1:], hits[i:len(hits)-1])
	hits[i] = h
	return hits
}
