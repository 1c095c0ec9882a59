package store

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"jindalai/model"
)

// CreateRequests stores several new requests in ONE transaction sent as one
// script (group commit): the request rows, then one multi-row INSERT for all
// their events, one INSERT … SELECT per kind of staff audience for all their
// notices, one multi-row INSERT for the notices to single users and one for
// all the idempotency keys with their replies. Either every request is
// stored or none is.
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
// and UpdatedAt. Errors: conflict, unavailable, internal.
func (s *Store) CreateRequests(ctx context.Context, batch []model.NewRequest) ([]model.Request, error) {
	if len(batch) == 0 {
		return nil, nil
	}
	plan, err := s.batchIDPlan(ctx)
	if err != nil {
		return nil, err
	}
	t := now()
	out := make([]model.Request, len(batch))
	inserts := make([]int, len(batch))
	refs := make([]string, len(batch))
	sc := newScript()
	rows := make([]string, 0, len(batch))
	var args []any
	for i, nr := range batch {
		r := nr.Request
		r.ID = 0
		r.CreatedAt, r.UpdatedAt = t.In(s.Loc), t.In(s.Loc)
		orgs := r.Organizations
		if orgs == nil {
			orgs = []model.OrgRef{}
		}
		out[i] = r
		if plan.multiRow {
			rows = append(rows, requestValues)
			args = append(args, requestArgs(r, orgs, t)...)
			refs[i] = "(@jdl_r0 + " + strconv.Itoa(i) + " * @jdl_step)"
			continue
		}
		refs[i] = "@jdl_r" + strconv.Itoa(i)
		inserts[i] = sc.add(insertRequestSQL, requestArgs(r, orgs, t)...)
		sc.add(`SET ` + refs[i] + ` = LAST_INSERT_ID()`)
	}
	if plan.multiRow {
		inserts[0] = sc.add(insertRequestHead+strings.Join(rows, ", "), args...)
		step := strconv.FormatInt(plan.step, 10)
		sc.add(`SET @jdl_r0 = LAST_INSERT_ID(), @jdl_step = IF(@@auto_increment_increment = ` + step + `, ` + step + `, NULL)`)
	}
	var tuples []string
	args = nil
	for i, nr := range batch {
		for _, e := range nr.Events {
			e.At = t
			tuples = append(tuples, "("+refs[i]+", ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, eventArgs(e)...)
		}
	}
	if len(tuples) > 0 {
		sc.add(`INSERT INTO request_events `+eventColumns+` VALUES `+strings.Join(tuples, ", "), args...)
	}
	if err := addBatchNotices(sc, batch, refs); err != nil {
		return nil, err
	}
	if err := addBatchKeys(sc, batch, out, refs); err != nil {
		return nil, err
	}
	res, err := s.run(ctx, sc)
	if err != nil {
		return nil, translate(err, "")
	}
	ids := res.AllLastInsertIds()
	for i := range out {
		if plan.multiRow {
			out[i].ID = ids[inserts[0]] + int64(i)*plan.step
		} else {
			out[i].ID = ids[inserts[i]]
		}
	}
	return out, nil
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

// addBatchKeys inserts the idempotency keys of the batch in one statement,
// in (user, key) order so that two batches never wait on each other's keys
// in opposite orders.
func addBatchKeys(sc *script, batch []model.NewRequest, out []model.Request, refs []string) error {
	var order []int
	for i, nr := range batch {
		if nr.Idem != nil {
			order = append(order, i)
		}
	}
	if len(order) == 0 {
		return nil
	}
	sort.Slice(order, func(a, b int) bool {
		x, y := batch[order[a]].Idem, batch[order[b]].Idem
		if x.UserID != y.UserID {
			return x.UserID < y.UserID
		}
		return x.Key < y.Key
	})
	t := now()
	tuples := make([]string, 0, len(order))
	args := make([]any, 0, 6*len(order))
	for _, i := range order {
		idem := batch[i].Idem
		tail, err := idempotentReply(out[i])
		if err != nil {
			return err
		}
		tuples = append(tuples, `(?, ?, ?, ?, CONCAT('{"id":', `+refs[i]+`, ?), ?)`)
		args = append(args, idem.UserID, idem.Key, idem.Scope, idem.Fingerprint[:], tail, t)
	}
	sc.add(`INSERT INTO idempotency_keys (user_id, idem_key, scope, fingerprint, reply, created_at) VALUES `+
		strings.Join(tuples, ", "), args...)
	return nil
}

// addBatchNotices writes the notices of a batch: the ones to one user as a
// multi-row INSERT; the ones to the staff of a station or an organization as
// one INSERT … SELECT per audience kind (column and roles), joining
// user_roles with a derived table of the notices — the staff are read in
// the transaction, as CreateRequest does.
func addBatchNotices(sc *script, batch []model.NewRequest, refs []string) error {
	t := now()
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
	for i, nr := range batch {
		for _, n := range nr.Notices {
			data, err := json.Marshal(n.Notification.Data)
			if err != nil {
				return model.Wrap(model.CodeInternal, err, "")
			}
			content := []any{n.Notification.Kind, truncateRunes(n.Notification.Title, 128),
				truncateRunes(n.Notification.Body, 1024), string(data)}
			a := n.To
			switch {
			case a.UserID != 0:
				userRows = append(userRows, `(?, ?, ?, ?, ?, CONCAT(?, `+refs[i]+`), 'request', `+refs[i]+`, 'pending', ?, ?)`)
				userArgs = append(append(append(userArgs, a.UserID), content...), requestPagePrefix, t, t)
			case len(a.Roles) > 0 && (a.StationID != 0 || a.OrgID != 0):
				col, id := "station_id", a.StationID
				if a.OrgID != 0 {
					col, id = "org_id", a.OrgID
				}
				key := col
				for _, r := range a.Roles {
					key += "," + string(r)
				}
				g := byKey[key]
				if g == nil {
					g = &staffGroup{col: col, roles: a.Roles}
					byKey[key] = g
					groups = append(groups, g)
				}
				if len(g.rows) == 0 {
					g.rows = append(g.rows, `SELECT ? AS kind, ? AS title, ? AS body, ? AS data, `+refs[i]+` AS rid, ? AS holder`)
				} else {
					g.rows = append(g.rows, `SELECT ?, ?, ?, ?, `+refs[i]+`, ?`)
				}
				g.args = append(append(g.args, content...), id)
			}
		}
	}
	if len(userRows) > 0 {
		sc.add(`INSERT INTO notifications `+notificationColumns+` VALUES `+strings.Join(userRows, ", "), userArgs...)
	}
	for _, g := range groups {
		args := append([]any{requestPagePrefix, t, t}, g.args...)
		for _, r := range g.roles {
			args = append(args, string(r))
		}
		sc.add(`INSERT INTO notifications `+notificationColumns+`
			SELECT DISTINCT ur.user_id, v.kind, v.title, v.body, v.data, CONCAT(?, v.rid), 'request', v.rid, 'pending', ?, ?
			FROM (`+strings.Join(g.rows, " UNION ALL ")+`) v
			JOIN user_roles ur ON ur.`+g.col+` = v.holder AND ur.role IN (`+inList(len(g.roles))+`)`, args...)
	}
	return nil
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
