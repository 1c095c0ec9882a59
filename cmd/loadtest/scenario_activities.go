package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// claimStorm is many volunteers claiming places in one activity at once:
// -claims volunteers (each once) against -places places, no waitlist. Every
// claim must answer 201 confirmed or 409 conflict, and exactly the capacity
// must end up confirmed, in the replies and in MySQL.
func claimStorm(ctx context.Context, b *bench) (op, plan, error) {
	if b.city.Volunteers < b.opts.claims {
		return nil, plan{}, fmt.Errorf("-claims %d needs as many volunteers (-volunteers %d)", b.opts.claims, b.city.Volunteers)
	}
	admin, err := b.login(ctx, codeAdmin)
	if err != nil {
		return nil, plan{}, err
	}
	vols, err := b.tokens(ctx, codeVolunteer, b.opts.claims)
	if err != nil {
		return nil, plan{}, err
	}
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	r, err := b.http.expect(ctx, call{method: "POST", path: "/api/v1/activities", token: admin, body: map[string]any{
		"title": "基准测试：社区助老志愿活动", "description": "认领压力测试", "category": "home_visit", "station_id": 2,
		"lat": centerLat, "lng": centerLng, "address": "延吉市基准路2号",
		"starts_at": start.Format(time.RFC3339), "ends_at": start.Add(2 * time.Hour).Format(time.RFC3339),
		"signup_deadline": start.Add(-time.Hour).Format(time.RFC3339),
		"capacity":        b.opts.places, "credited_hours": 2, "waitlist": false,
	}}, http.StatusCreated)
	if err != nil {
		return nil, plan{}, err
	}
	var act struct {
		ID int64 `json:"id"`
	}
	if err := r.decode(&act); err != nil {
		return nil, plan{}, err
	}
	b.storm = &stormState{activity: act.ID}
	path := fmt.Sprintf("/api/v1/activities/%d/claims", act.ID)
	var next atomic.Int64
	return func(ctx context.Context, w, i int) error {
		n := int(next.Add(1) - 1)
		r, err := b.http.do(ctx, call{method: "POST", path: path, token: vols[n]})
		if err != nil {
			return err
		}
		switch r.status {
		case http.StatusCreated:
			var c struct {
				Status string `json:"status"`
			}
			if err := r.decode(&c); err != nil {
				return err
			}
			if c.Status != "confirmed" {
				return fmt.Errorf("claim %d: status %q", n, c.Status)
			}
			b.storm.confirmed.Add(1)
		case http.StatusConflict:
			b.storm.full.Add(1)
		default:
			return fmt.Errorf("claim %d: %d %s", n, r.status, truncate(r.body, 200))
		}
		return nil
	}, plan{Concurrency: min(b.opts.stormConcurrency, b.opts.claims), Count: b.opts.claims}, nil
}

// stormState counts the claim storm's answers.
type stormState struct {
	activity        int64
	confirmed, full atomic.Int64
}

// verifyStorm checks that exactly the capacity was confirmed.
func verifyStorm(ctx context.Context, b *bench, r result) (string, error) {
	s := b.storm
	var counter, rows int
	if err := b.st.DB.QueryRowContext(ctx, `SELECT confirmed FROM activities WHERE id = ?`, s.activity).Scan(&counter); err != nil {
		return "", err
	}
	if err := b.st.DB.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM activity_claims WHERE activity_id = ? AND status = 'confirmed' AND live = 1`, s.activity).Scan(&rows); err != nil {
		return "", err
	}
	note := fmt.Sprintf("%d claims on %d places: %d confirmed (MySQL: counter %d, rows %d), %d refused full; settled in %s ms",
		r.N, b.opts.places, s.confirmed.Load(), counter, rows, s.full.Load(), ms(r.Elapsed))
	want := int64(min(b.opts.places, b.opts.claims))
	if s.confirmed.Load() != want || int64(counter) != want || int64(rows) != want || s.full.Load() != int64(b.opts.claims)-want {
		return note, errors.New("the storm did not confirm exactly the capacity: " + note)
	}
	return note, nil
}
