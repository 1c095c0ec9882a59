package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"jindalai/model"
)

// errStaleRequest rolls back a change whose conditional UPDATE matched no row.
var errStaleRequest = errors.New("store: request changed meanwhile")

// UpdateRequest applies ch in one transaction: a conditional UPDATE of every
// mutable column, guarded by the version and status of ch.Before (and
// accept_by <= ch.DueBy when set), then the event row and the notices.
// applied is false, with nothing written, when the row no longer matches
// (another change won the race); the caller re-reads and decides again. On
// success it returns ch.After with its new version and update time.
// Errors: unavailable, internal.
func (s *Store) UpdateRequest(ctx context.Context, ch model.RequestChange) (model.Request, bool, error) {
	a := ch.After
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		t := now()
		var summary string
		var minutes int
		var resolvedAt *time.Time
		if a.Resolution != nil {
			summary, minutes, resolvedAt = a.Resolution.Summary, a.Resolution.ServiceMinutes, &a.Resolution.ResolvedAt
		}
		var rating any
		var comment string
		var ratedAt *time.Time
		if a.Rating != nil {
			rating, comment, ratedAt = a.Rating.Score, a.Rating.Comment, &a.Rating.RatedAt
		}
		var orgName string
		if a.Org != nil {
			orgName = a.Org.Name
		}
		q := `UPDATE requests SET status = ?, station_id = ?, station_name = ?, station_level = ?, org_id = ?,
				org_name = ?, candidate_pos = ?, bounces = ?, must_take = ?, accept_by = ?, queue_score = ?,
				worker_id = ?, accepted_at = ?, resolved_at = ?, summary = ?, service_minutes = ?, rating = ?,
				rating_comment = ?, rated_at = ?, closed_at = ?, version = version + 1, updated_at = ?
			WHERE id = ? AND version = ? AND status = ?`
		args := []any{a.Status, a.Station.ID, a.Station.Name, a.Station.Level, a.OrgID(), orgName, a.CandidatePos,
			a.Bounces, a.MustTake, a.AcceptBy.UTC(), a.QueueScore(), a.WorkerID, nullTime(a.AcceptedAt),
			nullTime(resolvedAt), summary, minutes, rating, comment, nullTime(ratedAt), nullTime(a.ClosedAt), t,
			ch.Before.ID, ch.Before.Version, ch.Before.Status}
		if !ch.DueBy.IsZero() {
			q += ` AND accept_by <= ?`
			args = append(args, ch.DueBy.UTC())
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return translate(err, "")
		}
		if n, err := res.RowsAffected(); err != nil {
			return translate(err, "")
		} else if n == 0 {
			return errStaleRequest
		}
		ev := ch.Event
		ev.RequestID, ev.At = a.ID, t
		if err := insertEvents(ctx, tx, ev); err != nil {
			return err
		}
		a.Version = ch.Before.Version + 1
		a.UpdatedAt = t.In(s.Loc)
		return s.insertNotices(ctx, tx, ch.Notices)
	})
	if errors.Is(err, errStaleRequest) {
		return ch.Before, false, nil
	}
	if err != nil {
		return ch.Before, false, err
	}
	return a, true, nil
}

// insertNotices resolves each notice's audience to users (inside tx, so the
// recipients match the committed state) and inserts all notifications in
// one statement.
func (s *Store) insertNotices(ctx context.Context, tx *sql.Tx, notices []model.RequestNotice) error {
	var ns []model.Notification
	for _, n := range notices {
		n.Notification.RefType = "request"
		if n.Notification.Page == "" && n.Notification.RefID != 0 {
			n.Notification.Page = requestPage(n.Notification.RefID)
		}
		if n.To.UserID != 0 {
			n.Notification.UserID = n.To.UserID
			ns = append(ns, n.Notification)
			continue
		}
		users, err := audienceUsers(ctx, tx, n.To)
		if err != nil {
			return err
		}
		for _, u := range users {
			c := n.Notification
			c.UserID = u
			ns = append(ns, c)
		}
	}
	return insertNotifications(ctx, tx, ns...)
}

// audienceUsers returns the users holding a.Roles at a.StationID or a.OrgID.
func audienceUsers(ctx context.Context, tx *sql.Tx, a model.Audience) ([]int64, error) {
	if len(a.Roles) == 0 || (a.StationID == 0 && a.OrgID == 0) {
		return nil, nil
	}
	col, id := "station_id", a.StationID
	if a.OrgID != 0 {
		col, id = "org_id", a.OrgID
	}
	args := []any{id}
	for _, r := range a.Roles {
		args = append(args, string(r))
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT user_id FROM user_roles WHERE `+col+` = ? AND role IN (`+
		inList(len(a.Roles))+`) ORDER BY user_id`, args...)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var u int64
		if err := rows.Scan(&u); err != nil {
			return nil, translate(err, "")
		}
		out = append(out, u)
	}
	return out, translate(rows.Err(), "")
}

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
