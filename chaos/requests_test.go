package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// submitBody is a resident's need near the chaos city's stations.
func submitBody(c chaosCity, n int) map[string]any {
	return map[string]any{"category": c.categories[n%len(c.categories)], "description": "家中老人需要上门探访",
		"address": "延吉市", "lat": 42.905 + float64(n%7)*0.003, "lng": 129.509 + float64(n%5)*0.003, "urgency": "normal"}
}

// submitted is the first definitive answer to a submit.
type submitted struct {
	key  string
	body map[string]any
	id   int64
	raw  []byte
}

// submitUntilAnswered sends one submit and retries it with the same
// Idempotency-Key while the API cannot answer (refused, reset, 5xx), at
// most until deadline. answered is false when no answer came; retries is
// how many times it was sent again.
func (e *env) submitUntilAnswered(token, key string, body map[string]any, deadline time.Time) (r reply, answered bool, retries int) {
	for attempt := 0; attempt < 1000 && time.Now().Before(deadline); attempt++ {
		r = e.call("POST", "/api/v1/requests", token, body, map[string]string{"Idempotency-Key": key})
		if r.err == nil && r.status < 500 {
			return r, true, attempt
		}
		time.Sleep(25 * time.Millisecond)
	}
	return r, false, 1000
}

// checkSubmitted asserts that every acknowledged submit is one row in
// MySQL, that no key made two, and that the same key again replays the
// first answer.
func (e *env) checkSubmitted(t *testing.T, token func(key string) string, acked []submitted, unanswered []string) {
	t.Helper()
	ctx := context.Background()
	for _, s := range acked {
		var n int
		if err := e.st.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM requests WHERE id = ?", s.id).Scan(&n); err != nil || n != 1 {
			t.Errorf("acknowledged request %d (key %s): %d rows (%v)", s.id, s.key, n, err)
		}
		r := e.call("POST", "/api/v1/requests", token(s.key), s.body, map[string]string{"Idempotency-Key": s.key})
		if r.err != nil || r.status != 201 {
			t.Errorf("replay of key %s: %d %s %v", s.key, r.status, r.body, r.err)
			continue
		}
		if string(r.body) != string(s.raw) {
			t.Errorf("replay of key %s returned another answer:\n first %s\n again %s", s.key, s.raw, r.body)
		}
	}
	var keys, rows int
	if err := e.st.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM idempotency_keys WHERE scope = 'requests.create'").Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if err := e.st.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM requests").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	// Unanswered submits may or may not have committed; never twice.
	if rows < len(acked) || rows > len(acked)+len(unanswered) || rows != keys {
		t.Errorf("%d request rows and %d idempotency keys for %d acknowledged and %d unanswered submits", rows, keys, len(acked), len(unanswered))
	}
}

// queueProblems lists every dispatched request (MySQL) that is not in
// exactly its holder's queue, or is missing from the deadline set.
func (e *env) queueProblems() ([]string, error) {
	ctx := context.Background()
	rows, err := e.st.DB.QueryContext(ctx, "SELECT id, station_id, org_id FROM requests WHERE status = 'dispatched'")
	if err != nil {
		return nil, err
	}
	want := map[string]string{}
	for rows.Next() {
		var id, station, org int64
		if err := rows.Scan(&id, &station, &org); err != nil {
			rows.Close()
			return nil, err
		}
		key := e.st.Keys.StationQueue(station)
		if org != 0 {
			key = e.st.Keys.OrgQueue(org)
		}
		want[strconv.FormatInt(id, 10)] = key
	}
	rows.Close()
	in := map[string][]string{}
	iter := e.st.Redis.Scan(ctx, 0, e.st.Keys.Prefix()+"queue:*", 100).Iterator()
	for iter.Next(ctx) {
		members, err := e.st.Redis.ZRange(ctx, iter.Val(), 0, -1).Result()
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			in[m] = append(in[m], iter.Val())
		}
	}
	if err := iter.Err(); err != nil {
		return nil, err
	}
	deadlines, err := e.st.Redis.ZRange(ctx, e.st.Keys.DispatchDeadlines(), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	due := map[string]bool{}
	for _, m := range deadlines {
		due[m] = true
	}
	var problems []string
	for id, key := range want {
		if got := in[id]; len(got) != 1 || got[0] != key {
			problems = append(problems, fmt.Sprintf("request %s in queues %v, want only %s", id, got, key))
		}
		if !due[id] {
			problems = append(problems, fmt.Sprintf("request %s missing from the deadline set", id))
		}
	}
	sort.Strings(problems)
	return problems, nil
}

// checkQueues waits up to within for every dispatched request to be in
// exactly its queue and the deadline set, and returns how long it took.
func (e *env) checkQueues(t *testing.T, within time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	for {
		problems, err := e.queueProblems()
		if err == nil && len(problems) == 0 {
			return time.Since(began)
		}
		if time.Since(began) > within {
			if err != nil {
				t.Fatalf("queues: %v", err)
			}
			t.Fatalf("queues not right within %v (%d problems): %s", within, len(problems), strings.Join(problems[:min(10, len(problems))], "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// requestID reads the id of a Request reply.
func requestID(raw []byte) int64 {
	var out struct {
		ID int64 `json:"id"`
	}
	_ = json.Unmarshal(raw, &out)
	return out.ID
}
