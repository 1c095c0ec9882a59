package main

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// The synthetic city around Yanji (issue 3's tables): one city station
// (id 1), street stations (ids 2..1+streets) under it, village points under
// the streets, organizations, and a small catalogue.
const (
	centerLat = 42.905
	centerLng = 129.509
)

// benchCategories are the catalogue of the bench city: code and area.
var benchCategories = [][2]string{
	{"low_income_consult", "social_assistance"}, {"temporary_aid", "social_assistance"},
	{"home_visit", "elder_care"}, {"meal_assist", "elder_care"},
	{"left_behind_child", "child_welfare"}, {"child_tutoring", "child_welfare"},
	{"dispute_mediation", "community_governance"}, {"community_activity", "community_governance"},
	{"counselling", "social_affairs"}, {"veteran_service", "social_affairs"},
}

// stationServes reports whether station id serves category k (the city
// station serves all; others 6 of the 10).
func stationServes(id int64, k int) bool {
	if id == 1 {
		return true
	}
	return (int(id)+k)%10 < 6
}

// streets is how many level-2 stations the city has.
func streets(c *city) int { return max(1, min(20, c.Stations/10)) }

// around returns a point within km of the centre (deterministic per rng).
func around(rng *rand.Rand, km float64) (lat, lng float64) {
	r := km * math.Sqrt(rng.Float64())
	a := 2 * math.Pi * rng.Float64()
	lat = centerLat + r*math.Cos(a)/111.0
	lng = centerLng + r*math.Sin(a)/(111.0*math.Cos(centerLat*math.Pi/180))
	return lat, lng
}

func seedStations(ctx context.Context, db *sql.DB, c *city, now time.Time) (int, error) {
	if err := insertRows(ctx, db, "categories", []string{"code", "name", "area", "description", "fields", "sort_order", "active", "created_at", "updated_at"},
		len(benchCategories), func(i int) []any {
			return []any{benchCategories[i][0], fmt.Sprintf("服务%d", i+1), benchCategories[i][1], "基准测试服务", "[]", i, 1, now, now}
		}); err != nil {
		return 0, err
	}
	hours := `[{"weekday":1,"opens":"00:00","closes":"24:00"},{"weekday":2,"opens":"00:00","closes":"24:00"},` +
		`{"weekday":3,"opens":"00:00","closes":"24:00"},{"weekday":4,"opens":"00:00","closes":"24:00"},` +
		`{"weekday":5,"opens":"00:00","closes":"24:00"},{"weekday":6,"opens":"00:00","closes":"24:00"},` +
		`{"weekday":7,"opens":"00:00","closes":"24:00"}]`
	rng := rand.New(rand.NewPCG(1, 2))
	nStreets := streets(c)
	if err := insertRows(ctx, db, "stations", []string{"id", "parent_id", "level", "name", "address", "phone", "lat", "lng",
		"radius_m", "opening_hours", "daily_capacity", "closed", "closed_reason", "created_at", "updated_at"}, c.Stations,
		func(i int) []any {
			id := int64(i + 1)
			var parent any
			level, radius, km, name := 3, 2000, 15.0, fmt.Sprintf("基准社工点%d", id)
			switch {
			case id == 1:
				level, radius, km, name = 1, 30000, 0, "基准社工总站"
			case int(id) <= 1+nStreets:
				parent, level, radius, km, name = int64(1), 2, 5000, 5, fmt.Sprintf("基准街道社工站%d", id)
			default:
				parent = int64(2 + rng.IntN(nStreets))
			}
			lat, lng := around(rng, km)
			return []any{id, parent, level, name, "延吉市基准路" + fmt.Sprint(id) + "号", "0433-0000000", lat, lng,
				radius, hours, 50, 0, "", now, now}
		}); err != nil {
		return 0, err
	}
	var links [][2]any
	for id := int64(1); id <= int64(c.Stations); id++ {
		for k, cat := range benchCategories {
			if stationServes(id, k) {
				links = append(links, [2]any{id, cat[0]})
			}
		}
	}
	if err := insertRows(ctx, db, "station_categories", []string{"station_id", "category_code"}, len(links),
		func(i int) []any { return []any{links[i][0], links[i][1]} }); err != nil {
		return 0, err
	}
	if err := insertRows(ctx, db, "organizations", []string{"id", "name", "description", "address", "contact_phone", "lat", "lng",
		"active", "created_at", "updated_at"}, c.Orgs, func(i int) []any {
		lat, lng := around(rng, 15)
		return []any{i + 1, fmt.Sprintf("基准社会组织%d", i+1), "基准测试组织", "延吉市", "0433-1111111", lat, lng, 1, now, now}
	}); err != nil {
		return 0, err
	}
	if err := insertRows(ctx, db, "organization_categories", []string{"org_id", "category_code"}, 2*c.Orgs, func(i int) []any {
		return []any{i/2 + 1, benchCategories[(i/2+i%2*5)%len(benchCategories)][0]}
	}); err != nil {
		return 0, err
	}
	return c.Stations + c.Orgs, nil
}
