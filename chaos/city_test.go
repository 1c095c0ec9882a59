package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// chaosCity is the small station tree the fault tests load by SQL: a city
// station, street stations around it and organizations, all serving every
// category, open around the clock.
type chaosCity struct {
	stations, orgs int
	categories     []string
}

func (e *env) seedCity(t *testing.T) chaosCity {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := chaosCity{stations: 9, orgs: 6, categories: []string{"home_visit", "counselling", "low_income_consult"}}
	now := time.Now().UTC().Truncate(time.Millisecond)
	hours := `[`
	for d := 1; d <= 7; d++ {
		if d > 1 {
			hours += ","
		}
		hours += fmt.Sprintf(`{"weekday":%d,"opens":"00:00","closes":"24:00"}`, d)
	}
	hours += `]`
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := e.st.DB.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, code := range c.categories {
		exec(`INSERT INTO categories (code, name, area, description, fields, sort_order, active, created_at, updated_at)
			VALUES (?, ?, 'social_affairs', '', '[]', ?, 1, ?, ?)`, code, fmt.Sprintf("服务%d", i), i, now, now)
	}
	for id := 1; id <= c.stations; id++ {
		var parent any
		level, radius := 2, 5000
		if id == 1 {
			level, radius = 1, 30000
		} else {
			parent = 1
		}
		exec(`INSERT INTO stations (id, parent_id, level, name, address, phone, lat, lng, radius_m, opening_hours,
				daily_capacity, closed, closed_reason, created_at, updated_at)
			VALUES (?, ?, ?, ?, '延吉市', '', ?, ?, ?, ?, 50, 0, '', ?, ?)`,
			id, parent, level, fmt.Sprintf("故障测试站%d", id), 42.905+float64(id%3)*0.01, 129.509+float64(id/3)*0.01, radius, hours, now, now)
		for _, code := range c.categories {
			exec(`INSERT INTO station_categories (station_id, category_code) VALUES (?, ?)`, id, code)
		}
	}
	for id := 1; id <= c.orgs; id++ {
		exec(`INSERT INTO organizations (id, name, description, address, contact_phone, lat, lng, active, created_at, updated_at)
			VALUES (?, ?, '', '延吉市', '', ?, ?, 1, ?, ?)`, id, fmt.Sprintf("故障测试组织%d", id), 42.9+float64(id)*0.002, 129.5, now, now)
		exec(`INSERT INTO organization_categories (org_id, category_code) VALUES (?, ?)`, id, c.categories[id%len(c.categories)])
	}
	return c
}

// geoSizes returns the members of the stations' and organizations' GEO sets.
func (e *env) geoSizes() (stations, orgs int64) {
	ctx := context.Background()
	stations, _ = e.st.Redis.ZCard(ctx, e.st.Keys.StationGeo()).Result()
	orgs, _ = e.st.Redis.ZCard(ctx, e.st.Keys.OrgGeo()).Result()
	return stations, orgs
}
