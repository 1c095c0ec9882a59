package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
)

// requestState counts what the request scenarios did.
type requestState struct {
	submitted atomic.Int64
	accepted  atomic.Int64
}

// submit is a resident's need: POST /api/v1/requests with an
// Idempotency-Key, at a random point of the city for a random category:
// matching (in process, over the replica's queue-length view), the request row,
// its events, the station admins' messages and the idempotency reply in one
// transaction, then the station's queue and the deadline set in Redis.
func submit(ctx context.Context, b *bench) (op, plan, error) {
	tokens, err := b.tokens(ctx, codeResident, min(2000, b.city.Residents))
	if err != nil {
		return nil, plan{}, err
	}
	rng := rand.New(rand.NewPCG(5, 6))
	bodies := make([][]byte, 4096)
	for i := range bodies {
		lat, lng := around(rng, 15)
		urgency := "normal"
		if i%5 == 0 {
			urgency = "urgent"
		}
		if bodies[i], err = json.Marshal(map[string]any{"category": benchCategories[rng.IntN(len(benchCategories))][0],
			"description": "家中老人行动不便，希望社工上门探访", "address": fmt.Sprintf("延吉市基准小区%d号楼", i%300),
			"lat": lat, "lng": lng, "urgency": urgency}); err != nil {
			return nil, plan{}, err
		}
	}
	var next atomic.Int64
	return func(ctx context.Context, w, i int) error {
		n := int(next.Add(1) - 1)
		_, err := b.http.expect(ctx, call{method: "POST", path: "/api/v1/requests", token: tokens[n%len(tokens)],
			body: bodies[n%len(bodies)], header: map[string]string{"Idempotency-Key": "bench-req-" + strconv.Itoa(n)}},
			http.StatusCreated)
		if err == nil {
			b.requests.submitted.Add(1)
		}
		return err
	}, b.plan(), nil
}

// verifySubmit checks that every acknowledged request is in MySQL once.
func verifySubmit(ctx context.Context, b *bench, _ result) (string, error) {
	return verifyCount(ctx, b, `SELECT COUNT(*) FROM requests`, b.requests.submitted.Load(),
		"%d acknowledged, %d rows in MySQL", "acknowledged requests and MySQL rows differ")
}

// verifyCount checks that the COUNT(*) of query equals acked, what the
// server acknowledged. The note is noteFormat of acked and the count; the
// error starts with differ.
func verifyCount(ctx context.Context, b *bench, query string, acked int64, noteFormat, differ string) (string, error) {
	var rows int64
	if err := b.st.DB.QueryRowContext(ctx, query).Scan(&rows); err != nil {
		return "", err
	}
	note := fmt.Sprintf(noteFormat, acked, rows)
	if rows != acked {
		return note, fmt.Errorf("%s: %s", differ, note)
	}
	return note, nil
}

// stationWorkers logs in every seeded social worker and returns their
// tokens by station.
func stationWorkers(ctx context.Context, b *bench) (map[int64][]string, error) {
	tokens, err := b.tokens(ctx, codeWorker, b.city.Workers)
	if err != nil {
		return nil, err
	}
	by := map[int64][]string{}
	for k, t := range tokens {
		by[workerStation(b.city, k)] = append(by[workerStation(b.city, k)], t)
	}
	return by, nil
}

// accept is a social worker taking a dispatched request of their station:
// POST /api/v1/requests/{id}/accept (the conditional UPDATE, its event and
// outbox message, then the queue in Redis). Each dispatched request goes to
// one worker of its station, so every accept should win.
func accept(ctx context.Context, b *bench) (op, plan, error) {
	by, err := stationWorkers(ctx, b)
	if err != nil {
		return nil, plan{}, err
	}
	rows, err := b.st.DB.QueryContext(ctx, `SELECT id, station_id FROM requests WHERE status = 'dispatched' AND org_id = 0 ORDER BY id`)
	if err != nil {
		return nil, plan{}, err
	}
	type task struct {
		path, token string
	}
	var tasks []task
	seen := map[int64]int{}
	for rows.Next() {
		var id, station int64
		if err := rows.Scan(&id, &station); err != nil {
			rows.Close()
			return nil, plan{}, err
		}
		ws := by[station]
		if len(ws) == 0 {
			continue
		}
		tasks = append(tasks, task{path: fmt.Sprintf("/api/v1/requests/%d/accept", id), token: ws[seen[station]%len(ws)]})
		seen[station]++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, plan{}, err
	}
	if len(tasks) == 0 {
		return nil, plan{}, fmt.Errorf("no dispatched request to accept (run submit first)")
	}
	var next atomic.Int64
	p := b.plan()
	p.Count = len(tasks)
	return func(ctx context.Context, w, i int) error {
		t := tasks[int(next.Add(1)-1)%len(tasks)]
		_, err := b.http.expect(ctx, call{method: "POST", path: t.path, token: t.token}, http.StatusOK)
		if err == nil {
			b.requests.accepted.Add(1)
		}
		return err
	}, p, nil
}

// verifyAccept checks that MySQL holds exactly the acceptances the workers
// were told of: each 200 is one request accepted, and nothing else was.
func verifyAccept(ctx context.Context, b *bench, _ result) (string, error) {
	return verifyCount(ctx, b, `SELECT COUNT(*) FROM requests WHERE status = 'accepted'`, b.requests.accepted.Load(),
		"%d accepted, %d accepted in MySQL", "accepted replies and MySQL rows differ")
}
