package service

import (
	"cmp"
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

// geoCellDeg is a cell's side: about 5.6 km of latitude.
const geoCellDeg = 0.05

type geoCell struct{ lat, lng int32 }

type geoPoint struct {
	id int64
	p  model.Point
}

func cellOf(p model.Point) geoCell {
	return geoCell{lat: int32(math.Floor(p.Lat / geoCellDeg)), lng: int32(math.Floor(p.Lng / geoCellDeg))}
}

func newGeoGrid(points []geoPoint) *geoGrid {
	g := &geoGrid{cells: make(map[geoCell][]geoPoint)}
	for _, pt := range points {
		c := cellOf(pt.p)
		g.cells[c] = append(g.cells[c], pt)
	}
	return g
}

// metresPerDegLat is the length of a degree of latitude on the matcher's sphere.
const metresPerDegLat = earthRadiusM * math.Pi / 180

// within returns up to count points at most radiusM metres from p, nearest
// first (ties by id), and whether count were found (more may lie within).
func (g *geoGrid) within(p model.Point, radiusM float64, count int) ([]model.GeoHit, bool) {
	if count <= 0 || len(g.cells) == 0 {
		return nil, false
	}
	dLat := radiusM / metresPerDegLat
	// The widest longitude span of the circle is at its pole-most latitude.
	edge := math.Min(math.Abs(p.Lat)+dLat, 89.9)
	dLng := radiusM / (metresPerDegLat * math.Cos(edge*math.Pi/180))
	lo := cellOf(model.Point{Lat: p.Lat - dLat, Lng: p.Lng - math.Min(dLng, 180)})
	hi := cellOf(model.Point{Lat: p.Lat + dLat, Lng: p.Lng + math.Min(dLng, 180)})
	var hits []model.GeoHit
	visit := func(c geoCell) {
		for _, pt := range g.cells[c] {
			if d := distanceM(p, pt.p); d <= radiusM {
				hits = append(hits, model.GeoHit{ID: pt.id, DistanceM: d})
			}
		}
	}
	if int(hi.lat-lo.lat+1)*int(hi.lng-lo.lng+1) > len(g.cells) {
		for c := range g.cells {
			if c.lat >= lo.lat && c.lat <= hi.lat && c.lng >= lo.lng && c.lng <= hi.lng {
				visit(c)
			}
		}
	} else {
		for la := lo.lat; la <= hi.lat; la++ {
			for ln := lo.lng; ln <= hi.lng; ln++ {
				visit(geoCell{la, ln})
			}
		}
	}
	slices.SortFunc(hits, func(a, b model.GeoHit) int {
		if c := cmp.Compare(a.DistanceM, b.DistanceM); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(hits) >= count {
		return hits[:count], true
	}
	return hits, false
}
