package store

import (
	"context"
	"database/sql"
	"time"

	"jindalai/model"
)

// OverdueRequests returns the ids and deadlines of dispatched requests whose
// accept_by is at or before t (oldest first, at most limit): what the sweep
// puts back in the deadline set. Errors: unavailable, internal.
func (s *Store) OverdueRequests(ctx context.Context, t time.Time, limit int) ([]model.Request, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT id, accept_by FROM requests WHERE status = 'dispatched' AND accept_by <= ?
		ORDER BY accept_by LIMIT ?`, t.UTC(), limit)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var out []model.Request
	for rows.Next() {
		var r model.Request
		if err := rows.Scan(&r.ID, &r.AcceptBy); err != nil {
			return nil, translate(err, "")
		}
		out = append(out, r)
	}
	return out, translate(rows.Err(), "")
}

// ResolvedBefore returns the ids of resolved requests resolved at or before
// t, oldest first, at most limit: those due to close by themselves.
// Errors: unavailable, internal.
func (s *Store) ResolvedBefore(ctx context.Context, t time.Time, limit int) ([]int64, error) {
	return queryIDs(ctx, s.DB, `
		SELECT id FROM requests WHERE status = 'resolved' AND resolved_at <= ? ORDER BY resolved_at LIMIT ?`,
		t.UTC(), limit)
}

// openRequests returns the queue placement of those of ids still open
// (dispatched or reopened), by id: id, status, urgency, station,
// organization and accept_by are filled. Errors: unavailable, internal.
func (s *Store) openRequests(ctx context.Context, ids []int64) ([]model.Request, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT id, status, urgency, station_id, org_id, accept_by FROM requests
		WHERE id IN (`+inList(len(ids))+`) AND status IN ('dispatched', 'reopened') ORDER BY id`, idArgs(ids)...)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var out []model.Request
	for rows.Next() {
		var r model.Request
		var org int64
		if err := rows.Scan(&r.ID, &r.Status, &r.Urgency, &r.Station.ID, &org, &r.AcceptBy); err != nil {
			return nil, translate(err, "")
		}
		if org != 0 {
			r.Org = &model.OrgRef{ID: org}
		}
		out = append(out, r)
	}
	return out, translate(rows.Err(), "")
}

// RequestStatRows returns the statistics rows of requests created in
// [from, to), held by stationIDs (nil: all). The first acceptance and the
// resolution come from the event rows. Errors: unavailable, internal.
func (s *Store) RequestStatRows(ctx context.Context, from, to time.Time, stationIDs []int64) ([]model.RequestStatRow, error) {
	if stationIDs != nil && len(stationIDs) == 0 {
		return nil, nil
	}
	// Millisecond bounds, as the column holds, so the window's edges are
	// the same on MariaDB (which would truncate) and MySQL (which rounds).
	args := []any{from.UTC().Truncate(time.Millisecond), to.UTC().Truncate(time.Millisecond)}
	args = append(args, idArgs(stationIDs)...)
	rows, err := s.DB.QueryContext(ctx, requestStatsSQL(len(stationIDs)), args...)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var out []model.RequestStatRow
	for rows.Next() {
		var r model.RequestStatRow
		var rating sql.NullInt64
		var accepted sql.NullTime
		if err := rows.Scan(&r.Station.ID, &r.Station.Name, &r.Station.Level, &r.Status, &r.Category, &r.Urgency,
			&r.CreatedAt, &rating, &accepted, &r.Resolved); err != nil {
			return nil, translate(err, "")
		}
		if rating.Valid {
			v := int(rating.Int64)
			r.Rating = &v
		}
		if accepted.Valid {
			r.FirstAccept = &accepted.Time
		}
		out = append(out, r)
	}
	return out, translate(rows.Err(), "")
}

// requestStatsSQL is the query of RequestStatRows: requests created in
// [?, ?), held by one of stations ids (0: any station). The created_at
// range is read on ix_requests_created, or with a station list on
// ix_requests_station_created, one range per station (migration 00011);
// the events of each request on ix_request_events_request.
func requestStatsSQL(stations int) string {
	q := `SELECT r.station_id, r.station_name, r.station_level, r.status, r.category, r.urgency, r.created_at, r.rating,
			(SELECT MIN(e.created_at) FROM request_events e WHERE e.request_id = r.id AND e.kind = 'accept'),
			EXISTS (SELECT 1 FROM request_events e WHERE e.request_id = r.id AND e.kind = 'resolve')
		FROM requests r WHERE r.created_at >= ? AND r.created_at < ?`
	if stations > 0 {
		q += ` AND r.station_id IN (` + inList(stations) + `)`
	}
	return q
}
