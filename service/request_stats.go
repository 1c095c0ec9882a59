package service

import (
	"context"
	"math"
	"slices"
	"sort"
	"time"

	"jindalai/model"
)

// StatsQuery selects the window and scope of the statistics: requests
// created in [From, To) held by StationID and the stations below it (0:
// everything the caller may see). From and To are RFC 3339 times or dates
// (YYYY-MM-DD, midnight in the configured zone); empty To is now, empty
// From 30 days before To.
type StatsQuery struct {
	From, To  string
	StationID int64
}

// ServiceStatsReader reads the bookings and activities figures of the
// statistics (the store implements it): for [from, to) and stationIDs (nil:
// the whole city, organizations' activities included; empty: nothing).
type ServiceStatsReader interface {
	// ServiceStats errors: unavailable, internal.
	ServiceStats(ctx context.Context, from, to time.Time, stationIDs []int64) (model.ServiceStats, error)
}

// parseWhen reads an RFC 3339 time or a date in the configured zone.
func (s *Requests) parseWhen(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, _, err := model.ParseDayOrTime(field, v, s.loc)
	return t, err
}

// Stats returns the statistics of the window and scope: the requests, read
// from the request rows and their events, and the bookings, activities and
// volunteer minutes (ServiceStatsReader); city admins for the whole city or
// any station's subtree, station admins for their own subtree. A station
// subtree counts only the activities its stations organize; the whole city
// also the organizations'. Errors: invalid_argument (from, to, station_id),
// permission_denied, unavailable, internal.
func (s *Requests) Stats(ctx context.Context, p model.Principal, q StatsQuery) (model.Stats, error) {
	from, err := s.parseWhen("from", q.From)
	if err != nil {
		return model.Stats{}, err
	}
	to, err := s.parseWhen("to", q.To)
	if err != nil {
		return model.Stats{}, err
	}
	if to.IsZero() {
		to = s.now()
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -30)
	}
	if !from.Before(to) {
		return model.Stats{}, model.InvalidField("from", "必须早于 to")
	}
	if to.Sub(from) > 366*24*time.Hour {
		return model.Stats{}, model.InvalidField("from", "统计区间最长一年")
	}
	var scope []int64 // nil: all
	switch {
	case q.StationID != 0:
		below, err := s.dir.Subtree(ctx, q.StationID)
		if model.IsCode(err, model.CodeNotFound) {
			return model.Stats{}, model.InvalidField("station_id", "站点不存在")
		}
		if err != nil {
			return model.Stats{}, err
		}
		if !p.IsCityAdmin() {
			ok, err := s.adminAbove(ctx, p, q.StationID)
			if model.IsCode(err, model.CodeNotFound) {
				return model.Stats{}, model.InvalidField("station_id", "站点不存在")
			}
			if err != nil {
				return model.Stats{}, err
			}
			if !ok {
				return model.Stats{}, model.Errorf(model.CodePermissionDenied, "只能查看本站及下级站点的统计")
			}
		}
		scope = below
	case !p.IsCityAdmin():
		admins := p.StationIDs(model.RoleStationAdmin)
		if len(admins) == 0 {
			return model.Stats{}, model.Errorf(model.CodePermissionDenied, "只有站点管理员可以查看统计")
		}
		scope = []int64{}
		for _, id := range admins {
			below, err := s.dir.Subtree(ctx, id)
			if err != nil && !model.IsCode(err, model.CodeNotFound) {
				return model.Stats{}, err
			}
			for _, b := range below {
				if !slices.Contains(scope, b) {
					scope = append(scope, b)
				}
			}
		}
	}
	rows, err := s.store.RequestStatRows(ctx, from, to, scope)
	if err != nil {
		return model.Stats{}, err
	}
	services, err := s.store.ServiceStats(ctx, from, to, scope)
	if err != nil {
		return model.Stats{}, err
	}
	out := model.Stats{From: from.In(s.loc), To: to.In(s.loc), ServiceStats: services}
	if q.StationID != 0 {
		out.StationID = &q.StationID
	}
	all := newTally()
	byStation := map[int64]*tally{}
	var order []int64
	for _, r := range rows {
		t, ok := byStation[r.Station.ID]
		if !ok {
			t = newTally()
			t.station = r.Station
			byStation[r.Station.ID] = t
			order = append(order, r.Station.ID)
		}
		sla := s.acceptWithin(r.Urgency)
		all.add(r, sla)
		t.add(r, sla)
	}
	out.Requests = model.RequestCounts{Total: all.total, ByStatus: all.byStatus, ByCategory: all.byCategory,
		AcceptedWithinSLAPct: all.slaPct(), MedianAcceptMinutes: all.median()}
	out.ServicePersonTimes = all.resolved
	out.SatisfactionAvg = all.satisfaction()
	sort.Slice(order, func(i, j int) bool {
		a, b := byStation[order[i]], byStation[order[j]]
		if a.total != b.total {
			return a.total > b.total
		}
		return order[i] < order[j]
	})
	out.ByStation = make([]model.StationStats, 0, len(order))
	for _, id := range order {
		t := byStation[id]
		out.ByStation = append(out.ByStation, model.StationStats{Station: t.station, Total: t.total, Accepted: len(t.waits),
			Resolved: t.resolved, AcceptedWithinSLAPct: t.slaPct(), MedianAcceptMinutes: t.median(), SatisfactionAvg: t.satisfaction()})
	}
	return out, nil
}

// adminAbove reports whether p is a station admin of station or above it.
// A failed tree lookup is the caller's error, not a refusal.
// Errors: not_found (station), unavailable.
func (s *Requests) adminAbove(ctx context.Context, p model.Principal, station int64) (bool, error) {
	if p.HasStationRole(station, model.RoleStationAdmin) {
		return true, nil
	}
	above, err := s.dir.Ancestors(ctx, station)
	if err != nil {
		return false, err
	}
	for _, a := range above {
		if p.HasStationRole(a.ID, model.RoleStationAdmin) {
			return true, nil
		}
	}
	return false, nil
}

// tally accumulates the statistics of a set of requests.
type tally struct {
	station    model.StationRef
	total      int
	resolved   int
	byStatus   map[string]int
	byCategory map[string]int
	waits      []float64 // minutes to first acceptance
	withinSLA  int
	ratings    int
	ratingSum  int
}

func newTally() *tally {
	return &tally{byStatus: map[string]int{}, byCategory: map[string]int{}}
}

func (t *tally) add(r model.RequestStatRow, sla time.Duration) {
	t.total++
	t.byStatus[string(r.Status)]++
	t.byCategory[r.Category]++
	if r.Resolved {
		t.resolved++
	}
	if r.FirstAccept != nil {
		wait := r.FirstAccept.Sub(r.CreatedAt)
		t.waits = append(t.waits, wait.Minutes())
		if wait <= sla {
			t.withinSLA++
		}
	}
	if r.Rating != nil {
		t.ratings++
		t.ratingSum += *r.Rating
	}
}

func round1(v float64) *float64 {
	v = math.Round(v*10) / 10
	return &v
}

func (t *tally) slaPct() *float64 {
	if len(t.waits) == 0 {
		return nil
	}
	return round1(100 * float64(t.withinSLA) / float64(len(t.waits)))
}

func (t *tally) median() *float64 {
	n := len(t.waits)
	if n == 0 {
		return nil
	}
	w := append([]float64(nil), t.waits...)
	sort.Float64s(w)
	if n%2 == 1 {
		return round1(w[n/2])
	}
	return round1((w[n/2-1] + w[n/2]) / 2)
}

func (t *tally) satisfaction() *float64 {
	if t.ratings == 0 {
		return nil
	}
	v := math.Round(float64(t.ratingSum)/float64(t.ratings)*100) / 100
	return &v
}
