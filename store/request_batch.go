package store

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"jindalai/model"
)

// batchParts is a request made ready for CreateRequests by PrepareRequest:
// its time and every value encoded, so that the batch's leader only
// assembles the script.
type batchParts struct {
	r       model.Request
	t       time.Time
	row     []any
	events  [][]any
	notices []noticeParts
	key     []any // user, key, scope, fingerprint, reply tail, time; nil without a key
}

// noticeParts is one notice: to one user (userID), or to the holders of
// roles at a station or an organization (col and holder).
type noticeParts struct {
	userID  int64
	col     string
	holder  int64
	roles   []model.RoleName
	content []any // kind, title, body, data
	state   string
	reason  string
}

// encodeNotice encodes a notice for the INSERT of its outbox rows: its
// content, its push state and its audience (an organization's staff when
// both holders are set). ok is false when the audience names nobody.
// Errors: internal.
func (s *Store) encodeNotice(n model.RequestNotice) (np noticeParts, ok bool, err error) {
	data, err := json.Marshal(n.Notification.Data)
	if err != nil {
		return np, false, model.Wrap(model.CodeInternal, err, "")
	}
	np.content = driverValues([]any{n.Notification.Kind, truncateRunes(n.Notification.Title, 128),
		truncateRunes(n.Notification.Body, 1024), string(data)})
	np.state, np.reason = s.pushState(n.Notification.Kind)
	switch a := n.To; {
	case a.UserID != 0:
		np.userID = a.UserID
	case len(a.Roles) > 0 && a.OrgID != 0:
		np.col, np.holder, np.roles = "org_id", a.OrgID, a.Roles
	case len(a.Roles) > 0 && a.StationID != 0:
		np.col, np.holder, np.roles = "station_id", a.StationID, a.Roles
	default:
		return np, false, nil
	}
	return np, true, nil
}

// encodeNotices encodes notices (see encodeNotice), leaving out those whose
// audience names nobody. Errors: internal.
func (s *Store) encodeNotices(notices []model.RequestNotice) ([]noticeParts, error) {
	var out []noticeParts
	for _, n := range notices {
		np, ok, err := s.encodeNotice(n)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, np)
		}
	}
	return out, nil
}

// PrepareRequest readies nr for CreateRequests: it fixes its creation time
// and encodes its values (JSON, the idempotent reply), work the submitter
// does in its own goroutine rather than the batch's leader. Errors: internal.
func (s *Store) PrepareRequest(nr model.NewRequest) (model.PreparedRequest, error) {
	t := now()
	r := nr.Request
	r.ID = 0
	r.CreatedAt, r.UpdatedAt = t.In(s.Loc), t.In(s.Loc)
	orgs := r.Organizations
	if orgs == nil {
		orgs = []model.OrgRef{}
	}
	p := &batchParts{r: r, t: t, row: driverValues(requestArgs(r, orgs, t))}
	for _, e := range nr.Events {
		e.At = t
		p.events = append(p.events, driverValues(eventArgs(e)))
	}
	var err error
	if p.notices, err = s.encodeNotices(nr.Notices); err != nil {
		return model.PreparedRequest{}, err
	}
	if idem := nr.Idem; idem != nil {
		tail, err := idempotentReply(r)
		if err != nil {
			return model.PreparedRequest{}, err
		}
		p.key = driverValues([]any{idem.UserID, idem.Key, idem.Scope, idem.Fingerprint[:], tail, t})
	}
	return model.PreparedRequest{NewRequest: nr, Parts: p}, nil
}

// driverValues converts arguments to the driver's basic types (named string
// types to string, …) ahead, in the submitter's goroutine; a value that does
// not convert is left for the script run to report.
func driverValues(args []any) []any {
	for i, a := range args {
		if v, err := driver.DefaultParameterConverter.ConvertValue(a); err == nil {
			args[i] = v
		}
	}
	return args
}

// CreateRequests stores several new requests in ONE transaction sent as one
// script (group commit): the request rows, then one multi-row INSERT for all
// their events, one INSERT … SELECT per kind of staff audience for all their
// notices, one multi-row INSERT for the notices to single users and one for
// all the idempotency keys with their replies. Either every request is
// stored or none is. A request not prepared by PrepareRequest is prepared
// here.
//
// On MySQL and MariaDB the rows go in one multi-row INSERT: InnoDB reserves
// the auto-increment values of an INSERT … VALUES whose row count is known
// all at once, in every innodb_autoinc_lock_mode, so the k-th row's id is
// LAST_INSERT_ID() + k × auto_increment_increment (the script checks the
// increment it was built with and fails — falling back — if it differs).
// Elsewhere (TiDB) each row is its own INSERT and its own LAST_INSERT_ID.
//
// It does not replay: a key already stored (or stored concurrently) fails
// the whole batch with conflict, and so does a key present twice in batch;
// the caller then creates each request alone with CreateRequest, which
// replays. It returns the requests in batch order with their ID, CreatedAt
// and UpdatedAt.
//
// commitIf, when not nil, is asked once the statements ran, before COMMIT,
// which then takes a second round trip: the caller decides meanwhile
// whether the batch may be kept (its members' rate limits). Its error rolls
// the batch back and is returned joined with model.ErrNotWritten.
//
// Errors: conflict, unavailable, internal, commitIf's; they wrap
// model.ErrNotWritten when the transaction certainly did not commit.
func (s *Store) CreateRequests(ctx context.Context, batch []model.PreparedRequest, commitIf func() error) ([]model.Request, error) {
	if len(batch) == 0 {
		return nil, nil
	}
	plan, err := s.batchIDPlan(ctx)
	if err != nil {
		return nil, err
	}
	parts := make([]*batchParts, len(batch))
	for i, pr := range batch {
		p, ok := pr.Parts.(*batchParts)
		if !ok {
			if pr, err = s.PrepareRequest(pr.NewRequest); err != nil {
				return nil, err
			}
			p = pr.Parts.(*batchParts)
		}
		parts[i] = p
	}
	inserts := make([]int, len(batch))
	refs := make([]string, len(batch))
	sc := newScript()
	if plan.multiRow {
		rows := make([]string, len(parts))
		var args []any
		for i, p := range parts {
			rows[i] = requestValues
			args = append(args, p.row...)
			refs[i] = "(@jdl_r0 + " + strconv.Itoa(i) + " * @jdl_step)"
		}
		inserts[0] = sc.add(insertRequestHead+strings.Join(rows, ", "), args...)
		step := strconv.FormatInt(plan.step, 10)
		sc.add(`SET @jdl_r0 = LAST_INSERT_ID(), @jdl_step = IF(@@auto_increment_increment = ` + step + `, ` + step + `, NULL)`)
	} else {
		for i, p := range parts {
			refs[i] = "@jdl_r" + strconv.Itoa(i)
			inserts[i] = sc.add(insertRequestSQL, p.row...)
			sc.add(`SET ` + refs[i] + ` = LAST_INSERT_ID()`)
		}
	}
	addBatchEvents(sc, parts, refs)
	addBatchNotices(sc, parts, refs)
	addBatchKeys(sc, parts, refs)
	res, err := s.runBatchScript(ctx, sc, commitIf)
	if err != nil {
		return nil, err
	}
	ids := res.AllLastInsertIds()
	out := make([]model.Request, len(parts))
	for i, p := range parts {
		out[i] = p.r
		if plan.multiRow {
			out[i].ID = ids[inserts[0]] + int64(i)*plan.step
		} else {
			out[i].ID = ids[inserts[i]]
		}
	}
	return out, nil
}

// runBatchScript runs a batch script as execScript does. Errors wrap
// model.ErrNotWritten when the server reported the failure, nothing was
// sent, commitIf refused or the connection was lost before COMMIT was sent;
// a connection lost once it was sent (or, COMMIT failing before it reached
// the server, may have been) leaves the outcome unknown.
func (s *Store) runBatchScript(ctx context.Context, sc *script, commitIf func() error) (mysql.Result, error) {
	notWritten := func(err error) error {
		var te *model.Error
		if !errors.As(translate(err, ""), &te) {
			return err
		}
		out := *te
		out.Err = errors.Join(model.ErrNotWritten, te.Err)
		return &out
	}
	// COMMIT is sent with the script, or once commitIf allowed it.
	commitSent := commitIf == nil
	var refused error
	gate := commitIf
	if commitIf != nil {
		gate = func() error {
			refused = commitIf()
			commitSent = refused == nil
			return refused
		}
	}
	res, failed, err := s.execScript(ctx, sc, gate)
	var myErr *mysql.MySQLError
	switch {
	case failed != nil && refused != nil:
		return nil, errors.Join(model.ErrNotWritten, refused)
	case failed != nil && (errors.As(failed, &myErr) || !commitSent):
		return nil, notWritten(failed)
	case failed != nil:
		return nil, translate(failed, "")
	case err != nil:
		return nil, notWritten(err)
	}
	return res, nil
}

// idPlan is how a batch learns the ids of its request rows: one multi-row
// INSERT with ids step apart, or one INSERT per row.
type idPlan struct {
	multiRow bool
	step     int64
}

// batchIDPlan reads (once) which server this is and its auto-increment step.
func (s *Store) batchIDPlan(ctx context.Context) (idPlan, error) {
	if p := s.idPlan.Load(); p != nil {
		return *p, nil
	}
	var version string
	var step int64
	if err := s.DB.QueryRowContext(ctx, `SELECT VERSION(), @@auto_increment_increment`).Scan(&version, &step); err != nil {
		return idPlan{}, translate(err, "")
	}
	p := idPlan{multiRow: step >= 1 && !strings.Contains(strings.ToLower(version), "tidb"), step: step}
	s.idPlan.Store(&p)
	return p, nil
}

// addBatchEvents inserts the events of the batch in one statement.
func addBatchEvents(sc *script, parts []*batchParts, refs []string) {
	var tuples []string
	var args []any
	for i, p := range parts {
		for _, e := range p.events {
			tuples = append(tuples, "("+refs[i]+", ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, e...)
		}
	}
	if len(tuples) > 0 {
		sc.add(`INSERT INTO request_events `+eventColumns+` VALUES `+strings.Join(tuples, ", "), args...)
	}
}

// addBatchKeys inserts the idempotency keys of the batch in one statement,
// in (user, key) order so that two batches never wait on each other's keys
// in opposite orders.
func addBatchKeys(sc *script, parts []*batchParts, refs []string) {
	var order []int
	for i, p := range parts {
		if p.key != nil {
			order = append(order, i)
		}
	}
	if len(order) == 0 {
		return
	}
	sort.Slice(order, func(a, b int) bool {
		x, y := parts[order[a]].key, parts[order[b]].key
		if x[0].(int64) != y[0].(int64) {
			return x[0].(int64) < y[0].(int64)
		}
		return x[1].(string) < y[1].(string)
	})
	tuples := make([]string, 0, len(order))
	args := make([]any, 0, 6*len(order))
	for _, i := range order {
		tuples = append(tuples, `(?, ?, ?, ?, CONCAT('{"id":', `+refs[i]+`, ?), ?)`)
		args = append(args, parts[i].key...)
	}
	sc.add(`INSERT INTO idempotency_keys (user_id, idem_key, scope, fingerprint, reply, created_at) VALUES `+
		strings.Join(tuples, ", "), args...)
}

// addBatchNotices writes the notices of a batch: the ones to one user as a
// multi-row INSERT; the ones to the staff of a station or an organization as
// one INSERT … SELECT per audience kind (column and roles), joining
// user_roles with a derived table of the notices — the staff are read in
// the transaction, as CreateRequest does. STRAIGHT_JOIN makes the notices
// drive the join, one index lookup each: left to its statistics, MariaDB
// may read the whole of user_roles instead (see
// TestBatchStaffNoticesReadOnlyTheirStations).
func addBatchNotices(sc *script, parts []*batchParts, refs []string) {
	type staffGroup struct {
		col   string
		roles []model.RoleName
		rows  []string
		args  []any
	}
	var groups []*staffGroup
	byKey := map[string]*staffGroup{}
	var userRows []string
	var userArgs []any
	for i, p := range parts {
		for _, n := range p.notices {
			if n.userID != 0 {
				userRows = append(userRows, `(?, ?, ?, ?, ?, CONCAT(?, `+refs[i]+`), 'request', `+refs[i]+`, ?, ?, ?, ?)`)
				userArgs = append(append(append(userArgs, n.userID), n.content...), requestPagePrefix, n.state, n.reason, p.t, p.t)
				continue
			}
			key := n.col
			for _, r := range n.roles {
				key += "," + string(r)
			}
			g := byKey[key]
			if g == nil {
				g = &staffGroup{col: n.col, roles: n.roles}
				byKey[key] = g
				groups = append(groups, g)
			}
			if len(g.rows) == 0 {
				g.rows = append(g.rows, `SELECT ? AS kind, ? AS title, ? AS body, ? AS data, `+refs[i]+` AS rid, ? AS ps, ? AS sr, ? AS holder, ? AS t`)
			} else {
				g.rows = append(g.rows, `SELECT ?, ?, ?, ?, `+refs[i]+`, ?, ?, ?, ?`)
			}
			g.args = append(append(g.args, n.content...), n.state, n.reason, n.holder, p.t)
		}
	}
	if len(userRows) > 0 {
		sc.add(`INSERT INTO notifications `+notificationColumns+` VALUES `+strings.Join(userRows, ", "), userArgs...)
	}
	for _, g := range groups {
		roles, roleArgs := staffRoles(g.col, g.roles)
		args := append(append([]any{requestPagePrefix}, g.args...), roleArgs...)
		sc.add(`INSERT INTO notifications `+notificationColumns+`
			SELECT ur.user_id, v.kind, v.title, v.body, v.data, CONCAT(?, v.rid), 'request', v.rid, v.ps, v.sr, v.t, v.t
			FROM (`+strings.Join(g.rows, " UNION ALL ")+`) v
			STRAIGHT_JOIN user_roles ur ON ur.`+g.col+` = v.holder AND `+roles, args...)
	}
}

// PlaceNewRequests puts new requests in their holders' queues and the
// deadline set, all in one pipelined round trip (PlaceRequest with no
// before, for a batch). Errors: unavailable.
func (s *Store) PlaceNewRequests(ctx context.Context, rs []model.Request) error {
	if len(rs) == 0 {
		return nil
	}
	var keys []string
	queues := map[string][]redis.Z{}
	deadlines := make([]redis.Z, 0, len(rs))
	for i := range rs {
		key, deadline := s.queueOf(&rs[i])
		if key == "" {
			continue
		}
		member := strconv.FormatInt(rs[i].ID, 10)
		if _, ok := queues[key]; !ok {
			keys = append(keys, key)
		}
		queues[key] = append(queues[key], redis.Z{Score: float64(rs[i].QueueScore()), Member: member})
		if deadline {
			deadlines = append(deadlines, redis.Z{Score: float64(rs[i].AcceptBy.UnixMilli()), Member: member})
		}
	}
	_, err := s.Redis.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, key := range keys {
			pipe.ZAdd(ctx, key, queues[key]...)
		}
		if len(deadlines) > 0 {
			pipe.ZAdd(ctx, s.Keys.DispatchDeadlines(), deadlines...)
		}
		return nil
	})
	return translateRedis(err)
}
