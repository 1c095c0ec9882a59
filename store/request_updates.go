package store

import (
	"context"
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
	rows, err := s.DB.QueryContext(ctx, `
		SELECT id FROM requests WHERE status = 'resolved' AND resolved_at <= ? ORDER BY resolved_at LIMIT ?`,
		t.UTC(), limit)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, translate(err, "")
		}
		out = append(out, id)
	}
	return out, translate(rows.Err(), "")
}

// OpenRequests returns the queue placement of open requests (dispatched or
// reopened) with id > afterID, by id, at most limit: id, status, urgency,
// station, organization and accept_by are filled. The reconciler pages
// through it. Errors: unavailable, internal.
func (s *Store) OpenRequests(ctx context.Context, afterID int64, limit int) ([]model.Request, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT id, status, urgency, station_id, org_id, accept_by FROM requests
		WHERE status IN ('dispatched', 'reopened') AND id > ? ORDER BY id LIMIT ?`, afterID, limit)
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
