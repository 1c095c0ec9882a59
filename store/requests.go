package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"jindalai/model"
)

// requestColumns are the columns scanRequest reads, in order.
const requestColumns = `id, resident_id, status, category, category_name, description, address, lat, lng, urgency,
	contact_phone_enc, images, fields, station_id, station_name, station_level, org_id, org_name, organizations,
	candidates, candidate_pos, bounces, must_take, accept_by, worker_id, accepted_at, resolved_at, summary,
	service_minutes, rating, rating_comment, rated_at, closed_at, version, created_at, updated_at`

// requestListColumns are requestColumns without the candidates, which only
// dispatch reads (a request is dispatched from GetRequest or a locked read):
// lists never show them, and they are the largest JSON of a row.
var requestListColumns = strings.Replace(requestColumns, "candidates,", "'' AS candidates,", 1)

// scanRequest reads one row of requestColumns (or requestListColumns).
func (s *Store) scanRequest(row scanner) (model.Request, error) {
	var r model.Request
	var images, fields, orgs, candidates []byte
	var orgID int64
	var orgName string
	var worker sql.NullInt64
	var acceptedAt, resolvedAt, ratedAt, closedAt sql.NullTime
	var rating sql.NullInt64
	var summary, ratingComment string
	var serviceMinutes int
	err := row.Scan(&r.ID, &r.ResidentID, &r.Status, &r.Category, &r.CategoryName, &r.Description, &r.Address,
		&r.Lat, &r.Lng, &r.Urgency, &r.ContactPhoneEnc, &images, &fields, &r.Station.ID, &r.Station.Name,
		&r.Station.Level, &orgID, &orgName, &orgs, &candidates, &r.CandidatePos, &r.Bounces, &r.MustTake,
		&r.AcceptBy, &worker, &acceptedAt, &resolvedAt, &summary, &serviceMinutes, &rating, &ratingComment,
		&ratedAt, &closedAt, &r.Version, &r.CreatedAt, &r.UpdatedAt)
	if err != nil {
		return r, translate(err, "诉求")
	}
	if err := unmarshalAll(images, &r.Images, fields, &r.Fields, orgs, &r.Organizations, candidates, &r.Candidates); err != nil {
		return r, err
	}
	if orgID != 0 {
		r.Org = &model.OrgRef{ID: orgID, Name: orgName}
	}
	if worker.Valid {
		r.WorkerID = &worker.Int64
	}
	if acceptedAt.Valid {
		t := acceptedAt.Time.In(s.Loc)
		r.AcceptedAt = &t
	}
	if resolvedAt.Valid {
		r.Resolution = &model.Resolution{Summary: summary, ServiceMinutes: serviceMinutes, ResolvedAt: resolvedAt.Time.In(s.Loc)}
	}
	if rating.Valid {
		r.Rating = &model.Rating{Score: int(rating.Int64), Comment: ratingComment, RatedAt: ratedAt.Time.In(s.Loc)}
	}
	if closedAt.Valid {
		t := closedAt.Time.In(s.Loc)
		r.ClosedAt = &t
	}
	r.AcceptBy = r.AcceptBy.In(s.Loc)
	r.CreatedAt = r.CreatedAt.In(s.Loc)
	r.UpdatedAt = r.UpdatedAt.In(s.Loc)
	return r, nil
}

// unmarshalAll decodes pairs of (JSON, destination).
func unmarshalAll(pairs ...any) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		raw := pairs[i].([]byte)
		if len(raw) == 0 {
			continue
		}
		if err := json.Unmarshal(raw, pairs[i+1]); err != nil {
			return model.Wrap(model.CodeInternal, err, "")
		}
	}
	return nil
}

func mustJSON(v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		panic("store: marshal: " + err.Error())
	}
	return raw
}

// requestPagePrefix + id is the mini-program page of a request.
const requestPagePrefix = "pages/request/detail?id="

// GetRequest returns one request (without its timeline).
// Errors: not_found, unavailable, internal.
func (s *Store) GetRequest(ctx context.Context, id int64) (model.Request, error) {
	return s.scanRequest(s.DB.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = ?`, id))
}

// GetRequests returns the requests of ids that exist, in no particular order,
// in one query, without their Candidates (see requestListColumns).
// Errors: unavailable, internal.
func (s *Store) GetRequests(ctx context.Context, ids []int64) ([]model.Request, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.queryRequests(ctx, `SELECT `+requestListColumns+` FROM requests WHERE id IN (`+inList(len(ids))+`)`, idArgs(ids)...)
}

func (s *Store) queryRequests(ctx context.Context, query string, args ...any) ([]model.Request, error) {
	rows, err := s.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var out []model.Request
	for rows.Next() {
		r, err := s.scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, translate(rows.Err(), "")
}

// ListRequests returns the requests matching f, newest first, at most limit
// after the request id afterID (0: from the newest), without their
// Candidates. Errors: unavailable, internal.
func (s *Store) ListRequests(ctx context.Context, f model.RequestFilter, afterID int64, limit int) ([]model.Request, error) {
	var where []string
	var args []any
	if f.ResidentID != 0 {
		where, args = append(where, "resident_id = ?"), append(args, f.ResidentID)
	}
	if f.WorkerID != 0 {
		where, args = append(where, "worker_id = ?"), append(args, f.WorkerID)
	}
	if len(f.StationIDs) > 0 || len(f.OrgIDs) > 0 {
		var holders []string
		if len(f.StationIDs) > 0 {
			holders = append(holders, "station_id IN ("+inList(len(f.StationIDs))+")")
			args = append(args, idArgs(f.StationIDs)...)
		}
		if len(f.OrgIDs) > 0 {
			holders = append(holders, "org_id IN ("+inList(len(f.OrgIDs))+")")
			args = append(args, idArgs(f.OrgIDs)...)
		}
		where = append(where, "("+strings.Join(holders, " OR ")+")")
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if afterID > 0 {
		where, args = append(where, "id < ?"), append(args, afterID)
	}
	q := `SELECT ` + requestListColumns + ` FROM requests`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	return s.queryRequests(ctx, q, append(args, limit)...)
}

// QueueFromDB returns open requests (dispatched or reopened) selected by f in
// queue order (queue_score, id) after the cursor, at most limit, without
// their Candidates. It is the
// source for multi-station queues and the fallback when Redis is down. The
// order is found on covering indexes (one sorted branch per kind of holder)
// and only the page's rows are read. Errors: unavailable, internal.
func (s *Store) QueueFromDB(ctx context.Context, f model.QueueFilter, after *model.QueueCursor, limit int) ([]model.Request, error) {
	const open = "status IN ('dispatched', 'reopened')"
	var branches []string
	var args []any
	// The index is named: with org_id 0 on almost every row, fresh
	// statistics can mislead the optimizer into ix_requests_org.
	branch := func(index, where string, whereArgs ...any) {
		q := `(SELECT id, queue_score FROM requests FORCE INDEX (` + index + `) WHERE ` + where + ` AND ` + open
		args = append(args, whereArgs...)
		if after != nil {
			q += ` AND (queue_score > ? OR (queue_score = ? AND id > ?))`
			args = append(args, after.Score, after.Score, after.ID)
		}
		branches = append(branches, q+` ORDER BY queue_score, id LIMIT ?)`)
		args = append(args, limit)
	}
	switch {
	case f.All:
		branch("ix_requests_due", "1 = 1")
	default:
		if len(f.StationIDs) > 0 {
			branch("ix_requests_station", "station_id IN ("+inList(len(f.StationIDs))+") AND org_id = 0", idArgs(f.StationIDs)...)
		}
		if len(f.OrgIDs) > 0 {
			branch("ix_requests_org", "org_id IN ("+inList(len(f.OrgIDs))+")", idArgs(f.OrgIDs)...)
		}
	}
	if len(branches) == 0 {
		return nil, nil
	}
	ids, err := queryIDs(ctx, s.DB, `SELECT id FROM (`+strings.Join(branches, " UNION ALL ")+
		`) q ORDER BY queue_score, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	rs, err := s.GetRequests(ctx, ids)
	if err != nil {
		return nil, err
	}
	pos := make(map[int64]int, len(ids))
	for i, id := range ids {
		pos[id] = i
	}
	sort.Slice(rs, func(i, j int) bool { return pos[rs[i].ID] < pos[rs[j].ID] })
	return rs, nil
}

// RequestTimeline returns the events of a request, oldest first; internal
// notes only when withInternal. Errors: unavailable, internal.
func (s *Store) RequestTimeline(ctx context.Context, requestID int64, withInternal bool) ([]model.RequestEvent, error) {
	q := `SELECT id, request_id, kind, from_status, to_status, actor_id, actor_role, station_id, org_id, note, internal, created_at
		FROM request_events WHERE request_id = ?`
	if !withInternal {
		q += ` AND internal = 0`
	}
	rows, err := s.DB.QueryContext(ctx, q+` ORDER BY id`, requestID)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var out []model.RequestEvent
	for rows.Next() {
		var e model.RequestEvent
		if err := rows.Scan(&e.ID, &e.RequestID, &e.Kind, &e.From, &e.To, &e.ActorID, &e.ActorRole, &e.StationID,
			&e.OrgID, &e.Note, &e.Internal, &e.At); err != nil {
			return nil, translate(err, "")
		}
		e.At = e.At.In(s.Loc)
		out = append(out, e)
	}
	return out, translate(rows.Err(), "")
}

// AddRequestEvent records an event that changes no state (an internal note)
// and returns it with its id and time. With idem the event is written in
// one transaction with its Idempotency-Key: the same user, key and body get
// the first event back and nothing is written (see InIdempotentTx).
// Errors: conflict (the key was used for another request), unavailable,
// internal.
func (s *Store) AddRequestEvent(ctx context.Context, idem *model.Idempotency, e model.RequestEvent) (model.RequestEvent, error) {
	out, _, err := InIdempotentTx(ctx, s, idem, func(tx *sql.Tx) (model.RequestEvent, error) {
		e.At = now()
		res, err := tx.ExecContext(ctx, `INSERT INTO request_events `+eventColumns+` VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			append([]any{e.RequestID}, eventArgs(e)...)...)
		if err != nil {
			return e, translate(err, "")
		}
		if e.ID, err = res.LastInsertId(); err != nil {
			return e, translate(err, "")
		}
		e.At = e.At.In(s.Loc)
		return e, nil
	})
	return out, err
}

// inList returns "?, ?, …" with n marks.
func inList(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// queryIDs runs a query selecting one id column, on the pool or in a
// transaction. Errors: unavailable, internal.
func queryIDs(ctx context.Context, q queryer, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, translate(err, "")
		}
		ids = append(ids, id)
	}
	return ids, translate(rows.Err(), "")
}

func idArgs(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// nullTime is NULL for nil, else the UTC time.
func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}
