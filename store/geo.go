package store

import (
	"context"
	"errors"
	"strconv"

	"github.com/redis/go-redis/v9"

	"jindalai/model"
)

// StationsVersion is a counter bumped after every change of stations,
// organizations or categories, so that every replica notices its in-process
// copy is stale.
func (k Keys) StationsVersion() string { return k.prefix + "stations:version" }

// StationsVersion returns the current version ("" when the key is missing).
// Errors: unavailable.
func (s *Store) StationsVersion(ctx context.Context) (string, error) {
	v, err := s.Redis.Get(ctx, s.Keys.StationsVersion()).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, translateRedis(err)
}

// BumpStationsVersion increments the version. Errors: unavailable.
func (s *Store) BumpStationsVersion(ctx context.Context) error {
	return translateRedis(s.Redis.Incr(ctx, s.Keys.StationsVersion()).Err())
}

// PutStationGeo adds or moves a station in the station GEO set. Errors: unavailable.
func (s *Store) PutStationGeo(ctx context.Context, id int64, p model.Point) error {
	return s.geoPut(ctx, s.Keys.StationGeo(), id, p)
}

// PutOrgGeo adds or moves an organization in the organization GEO set.
// Errors: unavailable.
func (s *Store) PutOrgGeo(ctx context.Context, id int64, p model.Point) error {
	return s.geoPut(ctx, s.Keys.OrgGeo(), id, p)
}

// RemoveOrgGeo takes an organization out of the GEO set. Errors: unavailable.
func (s *Store) RemoveOrgGeo(ctx context.Context, id int64) error {
	return translateRedis(s.Redis.ZRem(ctx, s.Keys.OrgGeo(), strconv.FormatInt(id, 10)).Err())
}

func (s *Store) geoPut(ctx context.Context, key string, id int64, p model.Point) error {
	return translateRedis(s.Redis.GeoAdd(ctx, key, &redis.GeoLocation{
		Name: strconv.FormatInt(id, 10), Longitude: p.Lng, Latitude: p.Lat}).Err())
}

// GeoSizes returns the number of members of the station and organization
// GEO sets (0 for a missing set). Errors: unavailable.
func (s *Store) GeoSizes(ctx context.Context) (stations, orgs int64, err error) {
	var a, b *redis.IntCmd
	_, err = s.Redis.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		a = pipe.ZCard(ctx, s.Keys.StationGeo())
		b = pipe.ZCard(ctx, s.Keys.OrgGeo())
		return nil
	})
	if err != nil {
		return 0, 0, translateRedis(err)
	}
	return a.Val(), b.Val(), nil
}

// RebuildStationGeo makes the station GEO set hold exactly members.
// Errors: unavailable.
func (s *Store) RebuildStationGeo(ctx context.Context, members map[int64]model.Point) error {
	return s.rebuildGeo(ctx, s.Keys.StationGeo(), members)
}

// RebuildOrgGeo makes the organization GEO set hold exactly members.
// Errors: unavailable.
func (s *Store) RebuildOrgGeo(ctx context.Context, members map[int64]model.Point) error {
	return s.rebuildGeo(ctx, s.Keys.OrgGeo(), members)
}

// rebuildGeo adds every member (GEOADD moves existing ones) and then removes
// the members that should not be there. The set is never empty meanwhile, so
// concurrent searches keep working.
func (s *Store) rebuildGeo(ctx context.Context, key string, members map[int64]model.Point) error {
	const batch = 500
	locs := make([]*redis.GeoLocation, 0, batch)
	flush := func() error {
		if len(locs) == 0 {
			return nil
		}
		err := s.Redis.GeoAdd(ctx, key, locs...).Err()
		locs = locs[:0]
		return translateRedis(err)
	}
	for id, p := range members {
		locs = append(locs, &redis.GeoLocation{Name: strconv.FormatInt(id, 10), Longitude: p.Lng, Latitude: p.Lat})
		if len(locs) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	present, err := s.Redis.ZRange(ctx, key, 0, -1).Result()
	if err != nil {
		return translateRedis(err)
	}
	var extra []any
	for _, m := range present {
		id, err := strconv.ParseInt(m, 10, 64)
		if _, ok := members[id]; err != nil || !ok {
			extra = append(extra, m)
		}
	}
	if len(extra) > 0 {
		return translateRedis(s.Redis.ZRem(ctx, key, extra...).Err())
	}
	return nil
}

// GeoProbe reads, in one pipelined round trip, the stations version, whether
// both GEO sets exist, and the nearest stations and organizations around p
// (ascending distance, metres); a query with Count 0 is skipped.
// Errors: unavailable.
func (s *Store) GeoProbe(ctx context.Context, p model.Point, stations, orgs model.GeoQuery) (model.GeoProbe, error) {
	var version *redis.StringCmd
	var exists, exOrgs *redis.IntCmd
	var stCmd, orgCmd *redis.GeoSearchLocationCmd
	_, err := s.Redis.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		version = pipe.Get(ctx, s.Keys.StationsVersion())
		exists = pipe.Exists(ctx, s.Keys.StationGeo())
		exOrgs = pipe.Exists(ctx, s.Keys.OrgGeo())
		if stations.Count > 0 {
			stCmd = pipe.GeoSearchLocation(ctx, s.Keys.StationGeo(), geoQuery(p, stations))
		}
		if orgs.Count > 0 {
			orgCmd = pipe.GeoSearchLocation(ctx, s.Keys.OrgGeo(), geoQuery(p, orgs))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return model.GeoProbe{}, translateRedis(err)
	}
	checks := []redis.Cmder{exists, exOrgs}
	if stCmd != nil {
		checks = append(checks, stCmd)
	}
	if orgCmd != nil {
		checks = append(checks, orgCmd)
	}
	for _, c := range checks {
		if c.Err() != nil {
			return model.GeoProbe{}, translateRedis(c.Err())
		}
	}
	if err := version.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return model.GeoProbe{}, translateRedis(err)
	}
	out := model.GeoProbe{Version: version.Val(), StationsSet: exists.Val() > 0, OrgsSet: exOrgs.Val() > 0}
	if stCmd != nil {
		out.Stations = geoHits(stCmd.Val())
		out.StationsFull = len(out.Stations) >= stations.Count
	}
	if orgCmd != nil {
		out.Orgs = geoHits(orgCmd.Val())
		out.OrgsFull = len(out.Orgs) >= orgs.Count
	}
	return out, nil
}

func geoQuery(p model.Point, q model.GeoQuery) *redis.GeoSearchLocationQuery {
	return &redis.GeoSearchLocationQuery{
		GeoSearchQuery: redis.GeoSearchQuery{
			Longitude: p.Lng, Latitude: p.Lat, Radius: q.RadiusM, RadiusUnit: "m", Sort: "ASC", Count: q.Count,
		},
		WithDist: true,
	}
}

func geoHits(locs []redis.GeoLocation) []model.GeoHit {
	out := make([]model.GeoHit, 0, len(locs))
	for _, l := range locs {
		id, err := strconv.ParseInt(l.Name, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, model.GeoHit{ID: id, DistanceM: l.Dist})
	}
	return out
}

// QueueLengths returns the number of requests waiting in each station's
// dispatch queue (ZCARD of Keys.StationQueue) and the stations version (""
// when missing), in one pipelined round trip. Errors: unavailable.
func (s *Store) QueueLengths(ctx context.Context, stationIDs []int64) ([]int64, string, error) {
	var version *redis.StringCmd
	cmds := make([]*redis.IntCmd, len(stationIDs))
	_, err := s.Redis.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		version = pipe.Get(ctx, s.Keys.StationsVersion())
		for i, id := range stationIDs {
			cmds[i] = pipe.ZCard(ctx, s.Keys.StationQueue(id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, "", translateRedis(err)
	}
	out := make([]int64, len(stationIDs))
	for i, c := range cmds {
		if c.Err() != nil {
			return nil, "", translateRedis(c.Err())
		}
		out[i] = c.Val()
	}
	return out, version.Val(), nil
}
