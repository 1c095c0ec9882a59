package api

import (
	"fmt"
	"net/http"
	"testing"
)

// TestNearbyQueryErrors: every nearby list answers the same bad lat, lng or
// radius_m with the same 400, naming the same field with the same words;
// only the radius cap differs by route (50 km stations and organizations,
// 100 km activities).
func TestNearbyQueryErrors(t *testing.T) {
	h := newHarness(t)
	h.city()
	alice, _ := h.login("alice")
	routes := []struct {
		path   string
		maxRad int
	}{
		{"/api/v1/stations", 50000},
		{"/api/v1/organizations", 50000},
		{"/api/v1/activities", 100000},
	}
	const both = "需要同时提供 lat 和 lng"
	for _, rt := range routes {
		overCap := fmt.Sprintf("必须在 1–%d 米之间", rt.maxRad)
		for _, c := range []struct {
			query, field, message string
		}{
			{"lat=abc&lng=129.5", "lat", "必须是数字"},
			{"lat=42.9&lng=abc", "lng", "必须是数字"},
			{"lat=42.9", "lng", both},
			{"lng=129.5", "lat", both},
			{"lat=100&lng=129.5", "lat", "纬度超出范围"},
			{"lat=NaN&lng=129.5", "lat", "纬度超出范围"},
			{"lat=42.9&lng=200", "lng", "经度超出范围"},
			{"lat=42.9&lng=129.5&radius_m=-1", "radius_m", "必须是正整数"},
			{"lat=42.9&lng=129.5&radius_m=1.5", "radius_m", "必须是正整数"},
			{"lat=42.9&lng=129.5&radius_m=99999999999", "radius_m", "必须是正整数"},
			{fmt.Sprintf("lat=42.9&lng=129.5&radius_m=%d", rt.maxRad+1), "radius_m", overCap},
			{"lat=42.9&lng=129.5&radius_m=2000000", "radius_m", overCap},
			{"radius_m=1000", "radius_m", both},
		} {
			r := h.do(req{method: "GET", path: rt.path + "?" + c.query, token: alice})
			if r.Status != http.StatusBadRequest {
				t.Errorf("%s?%s: %d %s, want 400", rt.path, c.query, r.Status, r.Body)
				continue
			}
			fields := r.errorFields()
			if len(fields) != 1 || fields[c.field] != c.message {
				t.Errorf("%s?%s: fields %v, want only %s: %s", rt.path, c.query, fields, c.field, c.message)
			}
		}
		for _, q := range []string{"", "lat=42.9&lng=129.5", fmt.Sprintf("lat=42.9&lng=129.5&radius_m=%d", rt.maxRad), "lat=42.9&lng=129.5&radius_m=0"} {
			if r := h.do(req{method: "GET", path: rt.path + "?" + q, token: alice}); r.Status != http.StatusOK {
				t.Errorf("%s?%s: %d %s, want 200", rt.path, q, r.Status, r.Body)
			}
		}
	}
}
