package service

import (
	"context"
	"math"
	"sort"

	"jindalai/model"
)

const (
	// firstSearchCount is how many members a GEO search asks for at first;
	// a search that comes back full with nothing usable asks for 4× more.
	firstSearchCount = 32
	maxSearchCount   = 2048
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

// searchStep tracks the widening search of one GEO set.
type searchStep struct {
	radius int // index into the radii
	count  int
	done   bool
}

// next moves to a larger count (when the last search was full) or the next
// radius; it marks the search done when neither is left.
func (s *searchStep) next(full bool, radii int) {
	switch {
	case full && s.count < maxSearchCount:
		s.count *= 4
	case s.radius+1 < radii:
		s.radius++
	default:
		s.done = true
	}
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
// excludes. Errors: invalid_argument (lat, lng, category), unavailable.
func (s *Stations) Match(ctx context.Context, p model.Point, category string) (model.MatchResult, error) {
	if err := p.Check(); err != nil {
		return model.MatchResult{}, err
	}
	radii := s.cfg.SearchRadiiM
	if len(radii) == 0 {
		radii = []int{30000}
	}
	st := searchStep{count: firstSearchCount}
	og := searchStep{count: firstSearchCount, done: s.cfg.MaxOrgs <= 0}
	var c *catalogue
	var found []*stationInfo
	var dists []float64
	orgs := []model.OrgRef{}
	restored := false
	for !st.done || !og.done {
		var sq, oq model.GeoQuery
		if !st.done {
			sq = model.GeoQuery{RadiusM: float64(radii[st.radius]), Count: st.count}
		}
		if !og.done {
			oq = model.GeoQuery{RadiusM: float64(radii[og.radius]), Count: og.count}
		}
		probe, err := s.geo.GeoProbe(ctx, p, sq, oq)
		if err != nil {
			return model.MatchResult{}, err
		}
		if c == nil {
			if c, err = s.ensure(ctx, probe.Version); err != nil {
				return model.MatchResult{}, err
			}
			if cat, ok := c.categories[category]; !ok || !cat.Active {
				return model.MatchResult{}, model.InvalidField("category", "未知的服务类别")
			}
		}
		if !restored && ((!probe.StationsSet && len(c.stations) > 0) || (!probe.OrgsSet && c.activeOrgs > 0)) {
			restored = true
			if err := s.restoreGeo(ctx, c); err != nil {
				return model.MatchResult{}, err
			}
			continue
		}
		if !st.done {
			for _, h := range probe.Stations {
				info, ok := c.stations[h.ID]
				if ok && info.Level != model.LevelCity && !info.Closed && info.serves[category] && h.DistanceM <= float64(info.RadiusM) {
					found = append(found, info)
					dists = append(dists, h.DistanceM)
					if len(found) == scoredCandidates {
						break
					}
				}
			}
			if len(found) > 0 {
				st.done = true
			} else {
				st.next(probe.StationsFull, len(radii))
			}
		}
		if !og.done {
			orgs = orgs[:0]
			for _, h := range probe.Orgs {
				if o, ok := c.orgs[h.ID]; ok && o.Active && o.serves[category] {
					orgs = append(orgs, o.Ref())
					if len(orgs) == s.cfg.MaxOrgs {
						break
					}
				}
			}
			switch {
			case len(orgs) >= s.cfg.MaxOrgs:
				og.done = true
			case probe.OrgsFull && og.count < maxSearchCount:
				og.count *= 4
			case len(orgs) > 0:
				og.done = true
			default:
				og.next(false, len(radii))
			}
		}
	}
	stations, err := s.rank(ctx, p, c, found, dists)
	if err != nil {
		return model.MatchResult{}, err
	}
	return model.MatchResult{Stations: stations, Orgs: orgs}, nil
}

// rank scores the found stations with their queue lengths (one pipelined
// round trip) and appends the parent chain.
func (s *Stations) rank(ctx context.Context, p model.Point, c *catalogue, found []*stationInfo, dists []float64) ([]model.Candidate, error) {
	var out []model.Candidate
	if len(found) > 0 {
		ids := make([]int64, len(found))
		for i, f := range found {
			ids[i] = f.ID
		}
		lens, err := s.geo.QueueLengths(ctx, ids)
		if err != nil {
			return nil, err
		}
		now := s.now().In(s.loc)
		in := make([]RankInput, len(found))
		for i, f := range found {
			in[i] = RankInput{Station: f.Ref(), DistanceM: dists[i], QueueLen: lens[i], OpenNow: model.OpenAt(f.OpeningHours, now)}
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
	return out, nil
}

// earthRadiusM is the radius Redis GEO commands use, so distances agree.
const earthRadiusM = 6372797.560856

// distanceM is the great-circle (haversine) distance in metres.
func distanceM(a, b model.Point) float64 {
	rad := math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLng := (b.Lng - a.Lng) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(h)))
}
