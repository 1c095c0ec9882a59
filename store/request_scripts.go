package store

import (
	"context"
	"database/sql/driver"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"jindalai/model"
)

// The request transactions are sent as one multi-statement script each
// (START TRANSACTION; …; COMMIT) in a single round trip, so a submit or a
// state change costs one exchange with MySQL however many rows it writes
// (a submit batch whose commit waits for a condition, two: see
// execScript). Every value is still a ? placeholder, escaped by the driver.

// script is a transaction being built: statements and their arguments.
type script struct {
	sb   strings.Builder
	args []any
	n    int
}

func newScript() *script {
	sc := &script{}
	sc.add("START TRANSACTION")
	return sc
}

// add appends a statement and returns its index in the results.
func (sc *script) add(stmt string, args ...any) int {
	if sc.n > 0 {
		sc.sb.WriteString(";\n")
	}
	sc.sb.WriteString(stmt)
	sc.args = append(sc.args, args...)
	sc.n++
	return sc.n - 1
}

// run sends the script with COMMIT in one round trip on one connection (see
// execScript). It returns the affected rows and insert ids of every
// statement; a failed statement's error is returned as the server gave it.
func (s *Store) run(ctx context.Context, sc *script) (mysql.Result, error) {
	res, failed, err := s.execScript(ctx, sc, nil)
	if failed != nil {
		return nil, failed
	}
	if err != nil {
		return nil, translate(err, "")
	}
	return res, nil
}

// execScript sends the script and COMMIT on one connection: in one round
// trip, or — when commitIf is not nil — the statements first, then, once
// commitIf returned nil, COMMIT in a second round trip (an error from
// commitIf rolls the transaction back and is returned as failed). When a
// statement fails, MySQL stops there with the transaction open: it is
// rolled back on the same connection (failed is the statement's error), and
// a connection that cannot roll back is discarded, never returned to the
// pool mid-transaction. failed is whatever ended the exchange once the
// script was sent: a statement's error, COMMIT's, commitIf's or the
// connection lost. err is what kept the script from being sent: an
// argument the driver cannot take (internal), no connection, a driver
// that cannot run scripts.
func (s *Store) execScript(ctx context.Context, sc *script, commitIf func() error) (res mysql.Result, failed, err error) {
	if commitIf == nil {
		sc.add("COMMIT")
	}
	named := make([]driver.NamedValue, len(sc.args))
	for i, a := range sc.args {
		v, err := driver.DefaultParameterConverter.ConvertValue(a)
		if err != nil {
			return nil, nil, model.Wrap(model.CodeInternal, err, "")
		}
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		ex, ok := dc.(driver.ExecerContext)
		if !ok {
			return model.Errorf(model.CodeInternal, "store: driver cannot execute scripts")
		}
		r, err := ex.ExecContext(ctx, sc.sb.String(), named)
		if err == nil && commitIf != nil {
			if err = commitIf(); err == nil {
				_, err = ex.ExecContext(ctx, "COMMIT", nil)
			}
		}
		if err == nil {
			res = r.(mysql.Result)
			return nil
		}
		failed = err
		if _, rbErr := ex.ExecContext(context.Background(), "ROLLBACK", nil); rbErr != nil {
			return driver.ErrBadConn
		}
		return nil
	})
	if failed != nil {
		return nil, failed, nil
	}
	return res, nil, err
}

const notificationColumns = `(user_id, kind, title, body, data, page, ref_type, ref_id, push_state, skip_reason, next_attempt_at, created_at)`

// addNotices appends the outbox rows of encoded notices (see encodeNotice),
// created at t: one INSERT … SELECT per notice (staff audiences read
// user_roles in the same statement). refID is the SQL expression of the
// request id; cond, when not empty, a condition every insert requires (the
// change having applied).
func addNotices(sc *script, notices []noticeParts, t time.Time, refID string, refArgs []any, cond string) {
	for _, np := range notices {
		// page and ref_id follow the request id expression. (No literal
		// question mark may appear in a script: the driver counts them.)
		values := `?, ?, ?, ?, CONCAT(?, ` + refID + `), 'request', ` + refID + `, ?, ?, ?, ?`
		args := append(append([]any{}, np.content...), requestPagePrefix)
		args = append(args, refArgs...)
		args = append(args, refArgs...)
		args = append(args, np.state, np.reason, t, t)
		if np.userID != 0 {
			where := ""
			if cond != "" {
				where = " FROM DUAL WHERE " + cond
			}
			sc.add(`INSERT INTO notifications `+notificationColumns+` SELECT ?, `+values+where, append([]any{np.userID}, args...)...)
			continue
		}
		roles, roleArgs := staffRoles(np.col, np.roles)
		args = append(append(args, np.holder), roleArgs...)
		where := `ur.` + np.col + ` = ? AND ` + roles
		if cond != "" {
			where += " AND " + cond
		}
		sc.add(`INSERT INTO notifications `+notificationColumns+` SELECT ur.user_id, `+values+
			` FROM user_roles ur WHERE `+where, args...)
	}
}

// staffRoles is the condition on the user_roles rows ur of one holder (col)
// that keeps the holders of roles, and its arguments. Of a user holding two
// of several roles it keeps only the first row, so that the user gets one
// notice: an anti-join reading the user's roles by the unique (user_id, …)
// index, where SELECT DISTINCT would build a temporary table. A single role
// needs none: it is held at most once per user and holder (the unique index
// and ck_user_roles_one_holder, migration 00014).
func staffRoles(col string, roles []model.RoleName) (string, []any) {
	args := make([]any, 0, 2*len(roles))
	for _, r := range roles {
		args = append(args, string(r))
	}
	cond := `ur.role IN (` + inList(len(roles)) + `)`
	if len(roles) > 1 {
		cond += ` AND NOT EXISTS (SELECT 1 FROM user_roles dup WHERE dup.user_id = ur.user_id AND dup.` + col + ` = ur.` + col +
			` AND dup.role IN (` + inList(len(roles)) + `) AND dup.id < ur.id)`
		args = append(args, args...)
	}
	return cond, args
}

// eventColumns are the columns of an event row; eventArgs gives the values
// after request_id.
const eventColumns = `(request_id, kind, from_status, to_status, actor_id, actor_role, station_id, org_id, note, internal, created_at)`

func eventArgs(e model.RequestEvent) []any {
	return []any{e.Kind, e.From, e.To, e.ActorID, e.ActorRole, e.StationID, e.OrgID, truncateRunes(e.Note, 1000), e.Internal, e.At.UTC()}
}

// insertRequestSQL inserts a new request row; requestArgs gives its values.
const insertRequestSQL = insertRequestHead + requestValues

const insertRequestHead = `INSERT INTO requests (resident_id, status, category, category_name, description, address, lat, lng,
			urgency, contact_phone_enc, images, fields, station_id, station_name, station_level, org_id, org_name,
			organizations, candidates, candidate_pos, bounces, must_take, accept_by, queue_score, version,
			created_at, updated_at)
		VALUES `

const requestValues = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', ?, ?, ?, 0, 0, ?, ?, 0, ?, ?)`

func requestArgs(r model.Request, orgs []model.OrgRef, t time.Time) []any {
	return []any{r.ResidentID, r.Status, r.Category, r.CategoryName, r.Description, r.Address, r.Lat, r.Lng, r.Urgency,
		r.ContactPhoneEnc, mustJSON(r.Images), mustJSON(r.Fields), r.Station.ID, r.Station.Name, r.Station.Level,
		mustJSON(orgs), mustJSON(r.Candidates), r.CandidatePos, r.AcceptBy.UTC(), r.QueueScore(), t, t}
}

// idempotentReply is what the idempotency key of a new request keeps of its
// reply, without its leading `{"id":` (the id is known only to MySQL: the
// script stores CONCAT('{"id":', <the new id>, tail)): the accept-by time the
// submit was given. Everything else of the reply is rebuilt from the row when
// the key is replayed (see service Requests.created): the submit's fields
// never change, and every submit starts in the same state. Keeping the whole
// reply (about 1 KB) measured 12 µs of MariaDB CPU per submit, for a copy.
func idempotentReply(r model.Request) ([]byte, error) {
	acceptBy, err := r.AcceptBy.MarshalJSON()
	if err != nil {
		return nil, model.Wrap(model.CodeInternal, err, "")
	}
	return append(append([]byte(`,"accept_by":`), acceptBy...), '}'), nil
}

// CreateRequest stores a new request as it stands after matching (status
// dispatched to its first station) with its events, its notices and, with
// idem, the idempotency key and its reply — one transaction in one round
// trip. A concurrent create with the same key blocks on the key until the
// first commits, then is rolled back and returns what the key keeps of the
// first reply (replayed = true): the request's ID and AcceptBy only, the
// caller rebuilding the rest from the row (see idempotentReply); one row. It
// fills ID, CreatedAt and UpdatedAt. Errors: conflict (key reused for another
// body), unavailable, internal.
func (s *Store) CreateRequest(ctx context.Context, idem *model.Idempotency, r model.Request, events []model.RequestEvent, notices []model.RequestNotice) (model.Request, bool, error) {
	pr, err := s.PrepareRequest(model.NewRequest{Idem: idem, Request: r, Events: events, Notices: notices})
	if err != nil {
		return r, false, err
	}
	p := pr.Parts.(*batchParts)
	parts, refs := []*batchParts{p}, []string{"@jdl_request_id"}
	sc := newScript()
	insert := sc.add(insertRequestSQL, p.row...)
	sc.add(`SET @jdl_request_id = LAST_INSERT_ID()`)
	addBatchEvents(sc, parts, refs)
	addNotices(sc, p.notices, p.t, "@jdl_request_id", nil, "")
	addBatchKeys(sc, parts, refs)
	res, err := s.run(ctx, sc)
	if idem != nil && isDuplicate(err) {
		prev, err := replayIdempotent[model.Request](ctx, s, idem)
		return prev, err == nil, err
	}
	if err != nil {
		return p.r, false, translate(err, "")
	}
	out := p.r
	out.ID = res.AllLastInsertIds()[insert]
	return out, false, nil
}

// UpdateRequest applies ch in one transaction and one round trip: a
// conditional UPDATE of every mutable column, guarded by the version and
// status of ch.Before (and accept_by <= ch.DueBy when set), then the event
// row and the notices, each inserted only if the UPDATE matched. applied is
// false, with nothing written, when the row no longer matched (another
// change won the race); the caller re-reads and decides again. On success it
// returns ch.After with its new version and update time.
// Errors: unavailable, internal.
func (s *Store) UpdateRequest(ctx context.Context, ch model.RequestChange) (model.Request, bool, error) {
	notices, err := s.encodeNotices(ch.Notices)
	if err != nil {
		return ch.Before, false, err
	}
	a := ch.After
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
	sc := newScript()
	update := sc.add(q, args...)
	sc.add(`SET @jdl_applied = ROW_COUNT()`)
	ev := ch.Event
	ev.At = t
	sc.add(`INSERT INTO request_events `+eventColumns+` SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM DUAL WHERE @jdl_applied = 1`,
		append([]any{ch.Before.ID}, eventArgs(ev)...)...)
	addNotices(sc, notices, t, "?", []any{ch.Before.ID}, "@jdl_applied = 1")
	res, err := s.run(ctx, sc)
	if err != nil {
		return ch.Before, false, translate(err, "")
	}
	if res.AllRowsAffected()[update] != 1 {
		return ch.Before, false, nil
	}
	a.Version = ch.Before.Version + 1
	a.UpdatedAt = t.In(s.Loc)
	return a, true, nil
}
