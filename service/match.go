package service

import (
	"context"
	"math"
	"sort"

	"jindalai/model"
)

const (
	// maxSearchCount bounds the public nearby search's GEO queries.
	maxSearchCount = 2048
	// scoredCandidates is how many nearest usable stations get a load score.
	scoredCandidates = 16
	// maxCandidates is how many scored stations a match returns before the
	// parent chain.
	maxCandidates = 5
)

// RankInput is a station found near a request, as the scoring sees it.
type RankInput struct {
	Station   model.StationRef
	DistanceM float64
	// QueueLen is the number of open tasks waiting in the station's queue.
	QueueLen int64
	// OpenNow tells whether the station's opening hours include now.
	OpenNow bool
}

// RankCandidates orders stations best first: the lowest level first (a
// village point before a street station), then the lowest score — distance
// plus penaltyM metres per queued task — then a station open now, then the
// smaller id. It is pure.
func RankCandidates(in []RankInput, penaltyM float64) []model.Candidate {
	type ranked struct {
		RankInput
		score float64
	}
	rs := make([]ranked, len(in))
	for i, c := range in {
		rs[i] = ranked{RankInput: c, score: c.DistanceM + penaltyM*float64(c.QueueLen)}
	}
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.Station.Level != b.Station.Level {
			return a.Station.Level > b.Station.Level
		}
		if a.score != b.score {
			return a.score < b.score
		}
		if a.OpenNow != b.OpenNow {
			return a.OpenNow
		}
		return a.Station.ID < b.Station.ID
	})
	out := make([]model.Candidate, len(rs))
	for i, r := range rs {
		out[i] = model.Candidate{Station: r.Station, DistanceM: r.DistanceM, Score: r.score}
	}
	return out
}

// Match returns the candidate stations for a request at p in a category,
// best first, ending with the parent chain of the best candidate up to the
// city station (no duplicates; closed parents other than the city station
// are skipped), and up to MaxOrgs nearby active organizations serving the
// category. A candidate serves the category, is not closed, is not the city
// station and has p within its service radius; the search widens through
// SearchRadiiM until a radius holds one. With no candidate the list is the
// city station alone. Organizations are searched the same way: the first
// radius holding one gives up to MaxOrgs, nearest first. Opening hours only
// break ties (a need sent out of hours waits in the queue); the closed flag
// excludes. Errors: invalid_argument (lat, lng, category), unavailable,
// internal.
func (s *Stations) Match(ctx context.Context, p model.Point, category string) (model.MatchResult, error) {
	if err := p.Check(); err != nil {
		return model.MatchResult{}, err
	}
	c := s.snap.Load()
	if c == nil {
		v, err := s.geo.StationsVersion(ctx)
		if err == nil {
			c, err = s.ensure(ctx, v)
		}
		if err != nil {
			return model.MatchResult{}, err
		}
	}
	// The search runs on the in-process copy's grids; the queue lengths
	// come with the data version (see queueLengths), and a version newer
	// than the copy's reloads it and matches again, once.
	// A category unknown to the copy may be new: its refusal checks the
	// version too.
	for attempt := 0; ; attempt++ {
		m, refused := s.search(c, p, category)
		var lens map[int64]int64
		var version string
		var err error
		switch {
		case refused != nil && attempt > 0:
			return model.MatchResult{}, refused
		case refused != nil:
			if version, err = s.versionNow(ctx, c); err != nil {
				return model.MatchResult{}, refused
			}
		default:
			if lens, version, err = s.queueLengths(ctx, c, m); err != nil {
				return model.MatchResult{}, err
			}
		}
		if version != c.version && attempt == 0 {
			if c, err = s.ensure(ctx, version); err != nil {
				return model.MatchResult{}, err
			}
			continue
		}
		if refused != nil {
			return model.MatchResult{}, refused
		}
		return model.MatchResult{Stations: s.rank(p, c, m.found, m.dists, lens), Orgs: m.orgs,
			Category: c.categories[category]}, nil
	}
}

// matchState is a search's result: the usable stations found, nearest
// first, with their distances, and the nearby organizations.
type matchState struct {
	found []*stationInfo
	dists []float64
	orgs  []model.OrgRef
}

// search runs the widening searches on the copy c: the first radius
// holding a usable station gives up to scoredCandidates of them, nearest
// first; the first radius holding an organization of the category gives up
// to MaxOrgs. Errors: invalid_argument (category).
func (s *Stations) search(c *catalogue, p model.Point, category string) (*matchState, error) {
	radii := s.cfg.SearchRadiiM
	if len(radii) == 0 {
		radii = []int{30000}
	}
	if cat, ok := c.categories[category]; !ok || !cat.Active {
		return nil, model.InvalidField("category", "未知的服务类别")
	}
	m := &matchState{orgs: []model.OrgRef{}}
	for _, h := range widen(c.stationGrids[category], p, radii, scoredCandidates) {
		m.found = append(m.found, c.stations[h.ID])
		m.dists = append(m.dists, h.DistanceM)
	}
	for _, h := range widen(c.orgGrids[category], p, radii, s.cfg.MaxOrgs) {
		m.orgs = append(m.orgs, c.orgs[h.ID].Ref())
	}
	return m, nil
}

// widen returns up to limit points of g near p, nearest first, from the
// first of radii holding any; none when g is nil (nothing serves the
// category).
func widen(g *geoGrid, p model.Point, radii []int, limit int) []model.GeoHit {
	if g == nil {
		return nil
	}
	for _, r := range radii {
		if hits := g.nearest(p, float64(r), limit); len(hits) > 0 {
			return hits
		}
	}
	return nil
}

// queueLengths returns the queue length of every station m found, with the
// data version: from QueueLengthsLoop's view when it is fresh, else read in
// one pipelined round trip.
func (s *Stations) queueLengths(ctx context.Context, c *catalogue, m *matchState) (map[int64]int64, string, error) {
	if lens, version, ok := s.cachedQueueLengths(c, m); ok {
		return lens, version, nil
	}
	ids := make([]int64, len(m.found))
	for i, f := range m.found {
		ids[i] = f.ID
	}
	ls, version, err := s.geo.QueueLengths(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	lens := make(map[int64]int64, len(ids))
	for i, id := range ids {
		lens[id] = ls[i]
	}
	return lens, version, nil
}

// rank scores the found stations with their queue lengths and appends the
// parent chain.
func (s *Stations) rank(p model.Point, c *catalogue, found []*stationInfo, dists []float64, lens map[int64]int64) []model.Candidate {
	var out []model.Candidate
	if len(found) > 0 {
		now := s.now().In(s.loc)
		in := make([]RankInput, len(found))
		for i, f := range found {
			in[i] = RankInput{Station: f.Ref(), DistanceM: dists[i], QueueLen: lens[f.ID], OpenNow: model.OpenAt(f.OpeningHours, now)}
		}
		out = RankCandidates(in, float64(s.cfg.LoadPenaltyM))
		if len(out) > maxCandidates {
			out = out[:maxCandidates]
		}
	}
	seen := make(map[int64]bool, len(out)+3)
	for _, cand := range out {
		seen[cand.Station.ID] = true
	}
	var chain []*stationInfo
	if len(found) > 0 {
		chain = c.chain(c.stations[out[0].Station.ID])
	}
	if city, ok := c.stations[c.cityID]; ok && (len(chain) == 0 || chain[len(chain)-1].ID != city.ID) {
		chain = append(chain, city)
	}
	for _, a := range chain {
		if seen[a.ID] || (a.Closed && a.Level != model.LevelCity) {
			continue
		}
		seen[a.ID] = true
		d := distanceM(p, model.Point{Lat: a.Lat, Lng: a.Lng})
		out = append(out, model.Candidate{Station: a.Ref(), DistanceM: d, Score: d})
	}
	return out
}

// earthRadiusM is the radius Redis GEO commands use, so distances agree;
// every distance of the service (matching, nearby activities, check-in
// radius) is measured on it.
const earthRadiusM = 6372797.560856

// distanceM is the great-circle (haversine) distance in metres.
func distanceM(a, b model.Point) float64 {
	rad := math.Pi / 180
	return haversineM((b.Lat-a.Lat)*rad, (b.Lng-a.Lng)*rad, math.Cos(a.Lat*rad), math.Cos(b.Lat*rad))
}

// haversineM is distanceM from the differences of latitude and longitude in
// radians and the cosines of the two latitudes, for a caller that keeps the
// cosines.
func haversineM(dLat, dLng, cosA, cosB float64) float64 {
	sLat, sLng := math.Sin(dLat/2), math.Sin(dLng/2)
	h := sLat*sLat + cosA*cosB*sLng*sLng
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(h)))
}
