package api

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"jindalai/model"
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
		// A bad radius and a bad category are reported together.
		q := "lat=42.9&lng=129.5&radius_m=2000000&category=NO-SUCH"
		if r := h.do(req{method: "GET", path: rt.path + "?" + q, token: alice}); r.Status != http.StatusBadRequest ||
			r.errorFields()["radius_m"] != overCap || r.errorFields()["category"] == "" {
			t.Errorf("%s?%s: %d %s, want radius_m and category named", rt.path, q, r.Status, r.Body)
		}
		for _, q := range []string{"", "lat=42.9&lng=129.5", fmt.Sprintf("lat=42.9&lng=129.5&radius_m=%d", rt.maxRad), "lat=42.9&lng=129.5&radius_m=0"} {
			if r := h.do(req{method: "GET", path: rt.path + "?" + q, token: alice}); r.Status != http.StatusOK {
				t.Errorf("%s?%s: %d %s, want 200", rt.path, q, r.Status, r.Body)
			}
		}
	}
}

// TestNearbyListsPage: a nearest-first list longer than limit gives a
// cursor, and the pages together are the whole list in order, each item
// once; a cursor that no page gives is 400.
func TestNearbyListsPage(t *testing.T) {
	h := newHarness(t)
	h.city()
	for _, path := range []string{"/api/v1/stations", "/api/v1/organizations"} {
		base := path + "?lat=42.917&lng=129.505&radius_m=30000"
		var whole model.List[struct{ ID int64 }]
		h.do(req{method: "GET", path: base + "&limit=100"}).decode(t, &whole)
		if len(whole.Items) < 2 {
			t.Fatalf("%s: %d items, the test wants at least 2", path, len(whole.Items))
		}
		var want, got []int64
		for _, it := range whole.Items {
			want = append(want, it.ID)
		}
		cursor := ""
		for page := 0; ; page++ {
			r := h.do(req{method: "GET", path: base + "&limit=1&cursor=" + cursor})
			var list model.List[struct{ ID int64 }]
			r.decode(t, &list)
			if r.Status != http.StatusOK || len(list.Items) != 1 || page > len(whole.Items) {
				t.Fatalf("%s page %d: %d %s", path, page, r.Status, r.Body)
			}
			got = append(got, list.Items[0].ID)
			if cursor = list.NextCursor; cursor == "" {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: pages gave %v, the whole list %v", path, got, want)
		}
		if r := h.do(req{method: "GET", path: base + "&cursor=OTk5OTk"}); r.Status != http.StatusBadRequest || r.errorFields()["cursor"] == "" {
			t.Fatalf("%s with a cursor past any page: %d %s", path, r.Status, r.Body)
		}
	}
}
