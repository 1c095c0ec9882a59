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

// geoPoint is an indexed point; a search finds it only within maxM metres
// (a station's service radius; +Inf for none).
type geoPoint struct {
	id   int64
	p    model.Point
	maxM float64
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
	var hits []model.GeoHit
	visit := func(pts []geoPoint) {
		for _, pt := range pts {
			if math.Abs(pt.p.Lat-p.Lat) > dLat || math.Abs(pt.p.Lng-p.Lng) > dLng {
				continue
			}
			if d := distanceM(p, pt.p); d <= radiusM && d <= pt.maxM {
				hits = append(hits, model.GeoHit{ID: pt.id, DistanceM: d})
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
	slices.SortFunc(hits, func(a, b model.GeoHit) int {
		if c := cmp.Compare(a.DistanceM, b.DistanceM); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return hits[:min(len(hits), limit)]
}
