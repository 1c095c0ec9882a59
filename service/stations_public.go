package service

import (
	"context"
	"fmt"
	"sort"

	"jindalai/model"
)

// Nearby-search limits of the public look-ups.
const (
	defaultNearbyRadiusM = 10000
	maxNearbyRadiusM     = 50000
)

// StationQuery filters GET /stations. With Near set the reply is the
// stations within RadiusM, nearest first, with their distance; without it,
// every station by id. Both are paged.
type StationQuery struct {
	Near     *model.Point
	RadiusM  int
	Category string
	Level    int
	ParentID int64
	Page     model.Page
}

// OrgQuery filters GET /organizations (active organizations only), like StationQuery.
type OrgQuery struct {
	Near     *model.Point
	RadiusM  int
	Category string
	Page     model.Page
}

// Categories returns the active services of the catalogue, by area and
// order, optionally of one area. Errors: invalid_argument (area), unavailable.
func (s *Stations) Categories(ctx context.Context, area string) ([]model.Category, error) {
	if _, ok := model.AreaNames[area]; area != "" && !ok {
		return nil, model.InvalidField("area", "必须是 social_assistance、elder_care、child_welfare、community_governance 或 social_affairs")
	}
	c, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	out := []model.Category{}
	for _, code := range c.catOrder {
		cat := c.categories[code]
		if cat.Active && (area == "" || cat.Area == area) {
			out = append(out, cat)
		}
	}
	return out, nil
}

// checkNear checks a nearby list's point and radius as every nearby list
// does, so the same bad input gets the same 400 on each: a point out of
// range is returned at once; radius_m beyond 0–maxM (0: the list's
// default), or without a point, is added to fe. Errors: invalid_argument
// (lat, lng).
func checkNear(fe model.FieldErrors, near *model.Point, radius, maxM int) error {
	if near == nil {
		if radius != 0 {
			fe.Add("radius_m", "需要同时提供 lat 和 lng")
		}
		return nil
	}
	if err := near.Check(); err != nil {
		return err
	}
	if radius < 0 || radius > maxM {
		fe.Add("radius_m", fmt.Sprintf("必须在 1–%d 米之间", maxM))
	}
	return nil
}

// checkQuery validates the shared filters; it returns the radius to use.
func (s *Stations) checkQuery(c *catalogue, near *model.Point, radius int, category string) (int, error) {
	fe := model.FieldErrors{}
	if err := checkNear(fe, near, radius, maxNearbyRadiusM); err != nil {
		return 0, err
	}
	if near != nil && radius == 0 {
		radius = defaultNearbyRadiusM
	}
	if category != "" {
		if cat, ok := c.categories[category]; !ok || !cat.Active {
			fe.Add("category", "未知的服务类别")
		}
	}
	return radius, fe.Err()
}

// checkStationQuery validates a station query against the copy c; it
// returns the radius to use.
func (s *Stations) checkStationQuery(c *catalogue, q StationQuery) (int, error) {
	radius, err := s.checkQuery(c, q.Near, q.RadiusM, q.Category)
	if err != nil {
		return 0, err
	}
	if q.Level < 0 || q.Level > model.LevelVillage {
		return 0, model.InvalidField("level", "必须是 1、2 或 3")
	}
	return radius, nil
}

// nearbyOffset reads the cursor of a nearest-first page: how many items the
// earlier pages gave (distance order has no key to resume after; the public
// catalogue rarely changes between two pages). Errors: invalid_argument (cursor).
func nearbyOffset(cursor string) (int, error) {
	off, err := model.DecodeCursor(cursor)
	if err != nil {
		return 0, err
	}
	if off > maxSearchCount {
		return 0, model.InvalidField("cursor", "无效的游标")
	}
	return int(off), nil
}

// nearbyPage cuts the page at offset out of hits, which nearby read for
// offset+limit+1 items, and returns the cursor of the next page ("" at the end).
func nearbyPage(hits []model.GeoHit, offset, limit int) ([]model.GeoHit, string) {
	next := ""
	if len(hits) > offset+limit {
		hits, next = hits[:offset+limit], model.EncodeCursor(int64(offset+limit))
	}
	return hits[min(offset, len(hits)):], next
}

// nearbyCopy returns the in-process copy a nearby search starts from,
// checked by check, without reading the version: the search's GeoProbe reads
// it in its round trip and nearby moves to that version. The version is read
// here only by the first search of a process, and when the copy finds the
// query invalid (so a stale copy never refuses a query the current data
// accepts).
func (s *Stations) nearbyCopy(ctx context.Context, check func(*catalogue) error) (*catalogue, error) {
	if c := s.snap.Load(); c != nil && check(c) == nil {
		return c, nil
	}
	c, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	return c, check(c)
}

// Stations lists stations: nearest first around a point, or all by id.
// Errors: invalid_argument (lat, lng, radius_m, category, level, cursor),
// unavailable.
func (s *Stations) Stations(ctx context.Context, q StationQuery) (model.List[model.Station], error) {
	keep := func(st *stationInfo) bool {
		return (q.Category == "" || st.serves[q.Category]) && (q.Level == 0 || st.Level == q.Level) &&
			(q.ParentID == 0 || st.Parent() == q.ParentID)
	}
	if q.Page.Limit <= 0 {
		q.Page.Limit = 20
	}
	out := model.List[model.Station]{Items: []model.Station{}}
	if q.Near != nil {
		offset, err := nearbyOffset(q.Page.Cursor)
		if err != nil {
			return out, err
		}
		var radius int
		check := func(c *catalogue) (err error) {
			radius, err = s.checkStationQuery(c, q)
			return err
		}
		c, err := s.nearbyCopy(ctx, check)
		if err != nil {
			return out, err
		}
		hits, c, err := s.nearby(ctx, c, check, *q.Near, radius, offset+q.Page.Limit+1, true, func(c *catalogue, id int64) bool {
			st, ok := c.stations[id]
			return ok && keep(st)
		})
		if err != nil {
			return out, err
		}
		hits, out.NextCursor = nearbyPage(hits, offset, q.Page.Limit)
		for _, h := range hits {
			st := s.present(c.stations[h.ID].Station)
			d := h.DistanceM
			st.DistanceM = &d
			out.Items = append(out.Items, st)
		}
		return out, nil
	}
	c, err := s.current(ctx)
	if err != nil {
		return out, err
	}
	if _, err := s.checkStationQuery(c, q); err != nil {
		return out, err
	}
	after, err := model.DecodeCursor(q.Page.Cursor)
	if err != nil {
		return out, err
	}
	i := sort.Search(len(c.stationIDs), func(i int) bool { return c.stationIDs[i] > after })
	for ; i < len(c.stationIDs); i++ {
		st := c.stations[c.stationIDs[i]]
		if !keep(st) {
			continue
		}
		if len(out.Items) == q.Page.Limit {
			out.NextCursor = model.EncodeCursor(out.Items[len(out.Items)-1].ID)
			break
		}
		out.Items = append(out.Items, s.present(st.Station))
	}
	return out, nil
}

// nearby returns up to limit members of a GEO set within radius of p that
// keep accepts, nearest first, asking Redis for more (never more than
// maxSearchCount at once) while a full answer leaves fewer than limit, and
// the copy it used: a list reaches at most the nearest maxSearchCount. The version read by the
// first probe is the call's one read: when it differs from c's, nearby moves
// to a copy of that version and checks the query again with check.
func (s *Stations) nearby(ctx context.Context, c *catalogue, check func(*catalogue) error, p model.Point, radius, limit int,
	stations bool, keep func(*catalogue, int64) bool) ([]model.GeoHit, *catalogue, error) {
	if limit <= 0 {
		limit = 20
	}
	count := min(limit*2, maxSearchCount)
	restored, versioned := false, false
	for {
		q := model.GeoQuery{RadiusM: float64(radius), Count: count}
		var probe model.GeoProbe
		var err error
		if stations {
			probe, err = s.geo.GeoProbe(ctx, p, q, model.GeoQuery{})
		} else {
			probe, err = s.geo.GeoProbe(ctx, p, model.GeoQuery{}, q)
		}
		if err != nil {
			return nil, nil, err
		}
		if !versioned {
			versioned = true
			if probe.Version != c.version {
				if c, err = s.ensure(ctx, probe.Version); err != nil {
					return nil, nil, err
				}
				if err := check(c); err != nil {
					return nil, nil, err
				}
			}
		}
		if !restored && ((!probe.StationsSet && len(c.stations) > 0) || (!probe.OrgsSet && c.activeOrgs > 0)) {
			restored = true
			if err := s.restoreGeo(ctx, c); err != nil {
				return nil, nil, err
			}
			continue
		}
		hits, full := probe.Stations, probe.StationsFull
		if !stations {
			hits, full = probe.Orgs, probe.OrgsFull
		}
		out := make([]model.GeoHit, 0, limit)
		for _, h := range hits {
			if keep(c, h.ID) {
				out = append(out, h)
				if len(out) == limit {
					break
				}
			}
		}
		if len(out) == limit || !full || count >= maxSearchCount {
			return out, c, nil
		}
		count = min(count*4, maxSearchCount)
	}
}

// Station returns one station. Errors: not_found, unavailable.
func (s *Stations) Station(ctx context.Context, id int64) (model.Station, error) {
	c, err := s.current(ctx)
	if err != nil {
		return model.Station{}, err
	}
	st, ok := c.stations[id]
	if !ok {
		return model.Station{}, model.NotFound("站点")
	}
	return s.present(st.Station), nil
}

// Organizations lists active organizations: nearest first around a point,
// or all by id. Errors: invalid_argument (lat, lng, radius_m, category,
// cursor), unavailable.
func (s *Stations) Organizations(ctx context.Context, q OrgQuery) (model.List[model.Organization], error) {
	keep := func(o *orgInfo) bool { return o.Active && (q.Category == "" || o.serves[q.Category]) }
	if q.Page.Limit <= 0 {
		q.Page.Limit = 20
	}
	out := model.List[model.Organization]{Items: []model.Organization{}}
	if q.Near != nil {
		offset, err := nearbyOffset(q.Page.Cursor)
		if err != nil {
			return out, err
		}
		var radius int
		check := func(c *catalogue) (err error) {
			radius, err = s.checkQuery(c, q.Near, q.RadiusM, q.Category)
			return err
		}
		c, err := s.nearbyCopy(ctx, check)
		if err != nil {
			return out, err
		}
		hits, c, err := s.nearby(ctx, c, check, *q.Near, radius, offset+q.Page.Limit+1, false, func(c *catalogue, id int64) bool {
			o, ok := c.orgs[id]
			return ok && keep(o)
		})
		if err != nil {
			return out, err
		}
		hits, out.NextCursor = nearbyPage(hits, offset, q.Page.Limit)
		for _, h := range hits {
			o := c.orgs[h.ID].Organization
			d := h.DistanceM
			o.DistanceM = &d
			out.Items = append(out.Items, o)
		}
		return out, nil
	}
	c, err := s.current(ctx)
	if err != nil {
		return out, err
	}
	if _, err := s.checkQuery(c, q.Near, q.RadiusM, q.Category); err != nil {
		return out, err
	}
	after, err := model.DecodeCursor(q.Page.Cursor)
	if err != nil {
		return out, err
	}
	i := sort.Search(len(c.orgIDs), func(i int) bool { return c.orgIDs[i] > after })
	for ; i < len(c.orgIDs); i++ {
		o := c.orgs[c.orgIDs[i]]
		if !keep(o) {
			continue
		}
		if len(out.Items) == q.Page.Limit {
			out.NextCursor = model.EncodeCursor(out.Items[len(out.Items)-1].ID)
			break
		}
		out.Items = append(out.Items, o.Organization)
	}
	return out, nil
}

// Organization returns one organization, active or not, with its current
// member count. Errors: not_found, unavailable, internal.
func (s *Stations) Organization(ctx context.Context, id int64) (model.Organization, error) {
	return s.store.GetOrganization(ctx, id)
}
