package service

import (
	"context"
	"log/slog"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"jindalai/model"
)

// StationStore is what the stations service needs from MySQL.
type StationStore interface {
	ListStations(ctx context.Context) ([]model.Station, error)
	GetStation(ctx context.Context, id int64) (model.Station, error)
	CreateStation(ctx context.Context, idem *model.Idempotency, st model.Station) (model.Station, error)
	UpdateStation(ctx context.Context, st model.Station) error
	ListOrganizations(ctx context.Context) ([]model.Organization, error)
	GetOrganization(ctx context.Context, id int64) (model.Organization, error)
	CreateOrganization(ctx context.Context, idem *model.Idempotency, o model.Organization) (model.Organization, error)
	UpdateOrganization(ctx context.Context, o model.Organization) error
	ListCategories(ctx context.Context) ([]model.Category, error)
	GetCategory(ctx context.Context, code string) (model.Category, error)
	CreateCategory(ctx context.Context, idem *model.Idempotency, c model.Category) (model.Category, error)
	UpdateCategory(ctx context.Context, c model.Category) error
}

// GeoIndex is what the stations service needs from Redis: the GEO sets, the
// data version and the dispatch queue lengths.
type GeoIndex interface {
	StationsVersion(ctx context.Context) (string, error)
	BumpStationsVersion(ctx context.Context) error
	PutStationGeo(ctx context.Context, id int64, p model.Point) error
	PutOrgGeo(ctx context.Context, id int64, p model.Point) error
	RemoveOrgGeo(ctx context.Context, id int64) error
	GeoSizes(ctx context.Context) (stations, orgs int64, err error)
	RebuildStationGeo(ctx context.Context, members map[int64]model.Point) error
	RebuildOrgGeo(ctx context.Context, members map[int64]model.Point) error
	GeoProbe(ctx context.Context, p model.Point, stations, orgs model.GeoQuery) (model.GeoProbe, error)
	QueueLengths(ctx context.Context, stationIDs []int64) ([]int64, string, error)
}

// MatchConfig holds the matching rules (config dispatch.*).
type MatchConfig struct {
	// SearchRadiiM are the widening search radii, increasing.
	SearchRadiiM []int
	// LoadPenaltyM is added to a station's score per open task in its queue.
	LoadPenaltyM int
	// MaxOrgs is how many nearby organizations a match attaches.
	MaxOrgs int
	// ReconcileEvery is how often the reconciler checks the GEO sets and
	// reloads the in-process copy from MySQL.
	ReconcileEvery time.Duration
	// QueueLengthsEvery is how often QueueLengthsLoop reads the queue
	// length of every station a match may rank into the process; 0 (or no
	// loop running) reads them with each match.
	QueueLengthsEvery time.Duration
}

// Stations serves the station tree, organizations, the service catalogue and
// the matcher. It keeps an in-process copy of all three, reloaded from MySQL
// whenever the version key in Redis changes (every admin change bumps it), so
// a match searches the copy's grids in process; the queue lengths it weighs,
// with the version, come from QueueLengthsLoop's last read, or from one
// pipelined round trip of its own.
type Stations struct {
	store StationStore
	geo   GeoIndex
	cfg   MatchConfig
	loc   *time.Location
	log   *slog.Logger
	now   func() time.Time

	snap      atomic.Pointer[catalogue]
	lengths   queueLengthState
	reloadMu  sync.Mutex
	rebuildMu sync.Mutex
}

// NewStations returns the stations service. main passes the store for both
// store and geo.
func NewStations(store StationStore, geo GeoIndex, cfg MatchConfig, loc *time.Location, log *slog.Logger) *Stations {
	if cfg.ReconcileEvery <= 0 {
		cfg.ReconcileEvery = time.Minute
	}
	if loc == nil {
		loc = time.UTC
	}
	return &Stations{store: store, geo: geo, cfg: cfg, loc: loc, log: log, now: time.Now}
}

// stationInfo is a station of the in-process copy.
type stationInfo struct {
	model.Station
	serves   map[string]bool
	children []int64
}

// orgInfo is an organization of the in-process copy.
type orgInfo struct {
	model.Organization
	serves map[string]bool
}

// catalogue is an immutable snapshot of stations, organizations and
// categories, with the version it was loaded under.
type catalogue struct {
	version    string
	loadedAt   time.Time
	stations   map[int64]*stationInfo
	stationIDs []int64
	cityID     int64
	orgs       map[int64]*orgInfo
	orgIDs     []int64
	activeOrgs int
	categories map[string]model.Category
	catOrder   []string
	// stationGrids index, by category, the stations that may take a
	// request of it (open, not the city station, serving it, each with its
	// service radius); orgGrids the active organizations serving it.
	stationGrids, orgGrids map[string]*geoGrid
	// rankedIDs are the stations in any of stationGrids: the ones whose
	// queue length a match weighs.
	rankedIDs []int64
}

func buildCatalogue(version string, stations []model.Station, orgs []model.Organization, cats []model.Category) *catalogue {
	c := &catalogue{
		version:    version,
		loadedAt:   time.Now(),
		stations:   make(map[int64]*stationInfo, len(stations)),
		orgs:       make(map[int64]*orgInfo, len(orgs)),
		categories: make(map[string]model.Category, len(cats)),
	}
	for _, st := range stations {
		info := &stationInfo{Station: st, serves: make(map[string]bool, len(st.Categories))}
		for _, code := range st.Categories {
			info.serves[code] = true
		}
		c.stations[st.ID] = info
		c.stationIDs = append(c.stationIDs, st.ID)
		if st.Level == model.LevelCity {
			c.cityID = st.ID
		}
	}
	for _, id := range c.stationIDs {
		if p := c.stations[id].Parent(); p != 0 {
			if parent, ok := c.stations[p]; ok {
				parent.children = append(parent.children, id)
			}
		}
	}
	for _, o := range orgs {
		info := &orgInfo{Organization: o, serves: make(map[string]bool, len(o.Categories))}
		for _, code := range o.Categories {
			info.serves[code] = true
		}
		c.orgs[o.ID] = info
		c.orgIDs = append(c.orgIDs, o.ID)
		if o.Active {
			c.activeOrgs++
		}
	}
	for _, cat := range cats {
		c.categories[cat.Code] = cat
		c.catOrder = append(c.catOrder, cat.Code)
	}
	sort.Slice(c.stationIDs, func(i, j int) bool { return c.stationIDs[i] < c.stationIDs[j] })
	sort.Slice(c.orgIDs, func(i, j int) bool { return c.orgIDs[i] < c.orgIDs[j] })
	byCategory := map[string][]geoPoint{}
	for _, st := range stations {
		if st.Closed || st.Level == model.LevelCity {
			continue
		}
		if len(st.Categories) > 0 {
			c.rankedIDs = append(c.rankedIDs, st.ID)
		}
		for _, code := range st.Categories {
			byCategory[code] = append(byCategory[code], geoPoint{id: st.ID, p: model.Point{Lat: st.Lat, Lng: st.Lng}, maxM: float64(st.RadiusM)})
		}
	}
	c.stationGrids = make(map[string]*geoGrid, len(byCategory))
	for code, points := range byCategory {
		c.stationGrids[code] = newGeoGrid(points)
	}
	clear(byCategory)
	for _, o := range orgs {
		if !o.Active {
			continue
		}
		for _, code := range o.Categories {
			byCategory[code] = append(byCategory[code], geoPoint{id: o.ID, p: model.Point{Lat: o.Lat, Lng: o.Lng}, maxM: math.Inf(1)})
		}
	}
	c.orgGrids = make(map[string]*geoGrid, len(byCategory))
	for code, points := range byCategory {
		c.orgGrids[code] = newGeoGrid(points)
	}
	return c
}

// current returns the in-process copy, reloading it when the version in
// Redis changed. With Redis down it serves the copy it has.
func (s *Stations) current(ctx context.Context) (*catalogue, error) {
	v, err := s.geo.StationsVersion(ctx)
	if err != nil {
		if c := s.snap.Load(); c != nil {
			return c, nil
		}
		return s.reload(ctx, "", true)
	}
	return s.ensure(ctx, v)
}

// ensure returns a copy loaded under version v.
func (s *Stations) ensure(ctx context.Context, v string) (*catalogue, error) {
	if c := s.snap.Load(); c != nil && c.version == v {
		return c, nil
	}
	return s.reload(ctx, v, false)
}

// reload loads the copy from MySQL under version v (read before loading, so
// a change committed meanwhile bumps the version again and is seen next
// time). Concurrent callers wait for one load. force reloads even when the
// current copy already has version v.
func (s *Stations) reload(ctx context.Context, v string, force bool) (*catalogue, error) {
	started := time.Now()
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if c := s.snap.Load(); c != nil && c.version == v && (!force || c.loadedAt.After(started)) {
		return c, nil
	}
	stations, err := s.store.ListStations(ctx)
	if err != nil {
		return nil, err
	}
	orgs, err := s.store.ListOrganizations(ctx)
	if err != nil {
		return nil, err
	}
	cats, err := s.store.ListCategories(ctx)
	if err != nil {
		return nil, err
	}
	c := buildCatalogue(v, stations, orgs, cats)
	s.snap.Store(c)
	return c, nil
}

// changed records an admin change: it bumps the version so every replica
// reloads, and reloads this replica's copy now.
func (s *Stations) changed(ctx context.Context) {
	if err := s.geo.BumpStationsVersion(ctx); err != nil {
		s.log.Warn("stations: version bump failed; other replicas reload at the next reconcile", "err", err)
	}
	v, err := s.geo.StationsVersion(ctx)
	if err != nil {
		v = ""
	}
	if _, err := s.reload(ctx, v, true); err != nil {
		s.log.Warn("stations: reload after change failed", "err", err)
	}
}

// Reconcile rebuilds both GEO sets from MySQL (every station, and the active
// organizations) and reloads the in-process copy. Errors: unavailable, internal.
func (s *Stations) Reconcile(ctx context.Context) error {
	s.rebuildMu.Lock()
	defer s.rebuildMu.Unlock()
	v, err := s.geo.StationsVersion(ctx)
	if err != nil {
		return err
	}
	c, err := s.reload(ctx, v, true)
	if err != nil {
		return err
	}
	return s.rebuild(ctx, c)
}

func (s *Stations) rebuild(ctx context.Context, c *catalogue) error {
	stations := make(map[int64]model.Point, len(c.stations))
	for id, st := range c.stations {
		stations[id] = model.Point{Lat: st.Lat, Lng: st.Lng}
	}
	orgs := make(map[int64]model.Point, c.activeOrgs)
	for id, o := range c.orgs {
		if o.Active {
			orgs[id] = model.Point{Lat: o.Lat, Lng: o.Lng}
		}
	}
	if err := s.geo.RebuildStationGeo(ctx, stations); err != nil {
		return err
	}
	return s.geo.RebuildOrgGeo(ctx, orgs)
}

// restoreGeo rebuilds the GEO sets when a search found one missing; callers
// racing on a lost set rebuild it once.
func (s *Stations) restoreGeo(ctx context.Context, c *catalogue) error {
	s.rebuildMu.Lock()
	defer s.rebuildMu.Unlock()
	ns, no, err := s.geo.GeoSizes(ctx)
	if err != nil {
		return err
	}
	if int(ns) == len(c.stations) && int(no) == c.activeOrgs {
		return nil
	}
	s.log.Warn("stations: GEO index missing in Redis; rebuilding from MySQL", "stations", ns, "orgs", no)
	return s.rebuild(ctx, c)
}

// geoLossCheckEvery is how often the reconcile loop compares the GEO sets'
// sizes (two ZCARDs) with the in-process copy, so a Redis restarted empty
// gets its index back within seconds.
const geoLossCheckEvery = time.Second

// ReconcileLoop rebuilds the GEO sets at start and then, every
// ReconcileEvery, reloads the copy from MySQL and rebuilds a GEO set whose
// size differs from MySQL's; every second it checks the sets' sizes against
// the copy it has. It returns when ctx ends.
func (s *Stations) ReconcileLoop(ctx context.Context) {
	if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("stations: start-up reconcile failed", "err", err)
	}
	t := time.NewTicker(s.cfg.ReconcileEvery)
	defer t.Stop()
	check := time.NewTicker(geoLossCheckEvery)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-check.C:
			c, err := s.current(ctx)
			if err == nil {
				err = s.restoreGeo(ctx, c)
			}
			if err != nil && ctx.Err() == nil {
				s.log.Warn("stations: GEO check failed", "err", err)
			}
			continue
		case <-t.C:
		}
		v, err := s.geo.StationsVersion(ctx)
		if err != nil {
			continue
		}
		c, err := s.reload(ctx, v, true)
		if err == nil {
			err = s.restoreGeo(ctx, c)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("stations: reconcile failed", "err", err)
		}
	}
}

// StationRef returns a station's reference. Errors: not_found, unavailable.
func (s *Stations) StationRef(ctx context.Context, id int64) (model.StationRef, error) {
	c, err := s.current(ctx)
	if err != nil {
		return model.StationRef{}, err
	}
	st, ok := c.stations[id]
	if !ok {
		return model.StationRef{}, model.NotFound("站点")
	}
	return st.Ref(), nil
}

// OrgRef returns an organization's reference. Errors: not_found, unavailable.
func (s *Stations) OrgRef(ctx context.Context, id int64) (model.OrgRef, error) {
	c, err := s.current(ctx)
	if err != nil {
		return model.OrgRef{}, err
	}
	o, ok := c.orgs[id]
	if !ok {
		return model.OrgRef{}, model.NotFound("社会组织")
	}
	return o.Ref(), nil
}

// StationExists reports whether a station exists (service.ScopeChecker).
// Errors: unavailable.
func (s *Stations) StationExists(ctx context.Context, id int64) (bool, error) {
	c, err := s.current(ctx)
	if err != nil {
		return false, err
	}
	_, ok := c.stations[id]
	return ok, nil
}

// OrgExists reports whether an organization exists (service.ScopeChecker).
// Errors: unavailable.
func (s *Stations) OrgExists(ctx context.Context, id int64) (bool, error) {
	c, err := s.current(ctx)
	if err != nil {
		return false, err
	}
	_, ok := c.orgs[id]
	return ok, nil
}

// Ancestors returns a station's parents, nearest first, ending with the city
// station; empty for the city station. Errors: not_found, unavailable.
func (s *Stations) Ancestors(ctx context.Context, stationID int64) ([]model.StationRef, error) {
	c, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	st, ok := c.stations[stationID]
	if !ok {
		return nil, model.NotFound("站点")
	}
	out := []model.StationRef{}
	for _, p := range c.chain(st) {
		out = append(out, p.Ref())
	}
	return out, nil
}

// chain returns the parents of st, nearest first (at most 3 levels, so a
// corrupt parent loop cannot spin).
func (c *catalogue) chain(st *stationInfo) []*stationInfo {
	var out []*stationInfo
	for i := 0; i < 3; i++ {
		p, ok := c.stations[st.Parent()]
		if !ok {
			break
		}
		out = append(out, p)
		st = p
	}
	return out
}

// Subtree returns the station and every station below it.
// Errors: not_found, unavailable.
func (s *Stations) Subtree(ctx context.Context, stationID int64) ([]int64, error) {
	c, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := c.stations[stationID]; !ok {
		return nil, model.NotFound("站点")
	}
	out := []int64{stationID}
	for i := 0; i < len(out) && i < len(c.stations); i++ {
		out = append(out, c.stations[out[i]].children...)
	}
	return out, nil
}

// Category returns a category of the catalogue, active or not (Active tells).
// Errors: not_found, unavailable.
func (s *Stations) Category(ctx context.Context, code string) (model.Category, error) {
	c, err := s.current(ctx)
	if err != nil {
		return model.Category{}, err
	}
	cat, ok := c.categories[code]
	if !ok {
		return model.Category{}, model.NotFound("服务类别")
	}
	return cat, nil
}

// Stations validates invite scopes for Auth.
var _ ScopeChecker = (*Stations)(nil)
