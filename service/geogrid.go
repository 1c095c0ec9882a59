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
	// distanceM's haversine term h is a quarter of the squared chord between
	// the two points on the unit sphere: a point whose chord is beyond the
	// radius's (with a margin for rounding) is out after a few
	// multiplications; the others are measured exactly as distanceM does.
	rad := math.Pi / 180
	q := geoPoint{p: p}
	q.onSphere()
	sinHalf := math.Sin(radiusM / (2 * earthRadiusM))
	chordMax := 4 * sinHalf * sinHalf * (1 + 1e-6)
	hits := make([]model.GeoHit, 0, limit)
	kthChord := math.Inf(1)
	visit := func(pts []geoPoint) {
		for _, pt := range pts {
			if math.Abs(pt.p.Lat-p.Lat) > dLat || math.Abs(pt.p.Lng-p.Lng) > dLng {
				continue
			}
			dx, dy, dz := pt.x-q.x, pt.y-q.y, pt.z-q.z
			if c2 := dx*dx + dy*dy + dz*dz; c2 > chordMax || c2 > kthChord {
				continue
			}
			sLat := math.Sin((pt.p.Lat - p.Lat) * rad / 2)
			sLng := math.Sin((pt.p.Lng - p.Lng) * rad / 2)
			h := sLat*sLat + q.cosLat*pt.cosLat*sLng*sLng
			d := 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(h)))
			if d <= radiusM && d <= pt.maxM {
				hits = keepNearest(hits, model.GeoHit{ID: pt.id, DistanceM: d}, limit)
				if len(hits) == limit {
					// Nothing farther than the limit-th kept can be kept.
					s := math.Sin(hits[limit-1].DistanceM / (2 * earthRadiusM))
					kthChord = 4 * s * s * (1 + 1e-6)
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
