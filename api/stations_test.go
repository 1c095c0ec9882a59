package api

import (
	"context"
	"fmt"
	"testing"

	"jindalai/model"
)

func TestPublicCatalogueAndStations(t *testing.T) {
	h := newHarness(t)
	c := h.city()

	r := h.do(req{method: "GET", path: "/api/v1/categories"})
	var cats model.List[model.Category]
	r.decode(t, &cats)
	if r.Status != 200 || len(cats.Items) != 3 || cats.NextCursor != "" {
		t.Fatalf("categories: %d %s", r.Status, r.Body)
	}
	r = h.do(req{method: "GET", path: "/api/v1/categories?area=elder_care"})
	r.decode(t, &cats)
	if len(cats.Items) != 1 || cats.Items[0].Code != "home_visit" || len(cats.Items[0].Fields) != 1 || cats.Items[0].AreaName != "养老服务" {
		t.Fatalf("elder care: %s", r.Body)
	}

	r = h.do(req{method: "GET", path: "/api/v1/stations?lat=42.9205&lng=129.5005&radius_m=3000&category=home_visit"})
	var near model.List[model.Station]
	r.decode(t, &near)
	if r.Status != 200 || len(near.Items) < 3 || near.Items[0].ID != c.PointA || near.Items[0].DistanceM == nil {
		t.Fatalf("nearby: %d %s", r.Status, r.Body)
	}
	for i := 1; i < len(near.Items); i++ {
		if *near.Items[i].DistanceM < *near.Items[i-1].DistanceM {
			t.Fatalf("not nearest first: %s", r.Body)
		}
	}
	r = h.do(req{method: "GET", path: "/api/v1/stations?lat=42.9205&lng=129.5005&radius_m=3000&category=low_income"})
	r.decode(t, &near)
	if len(near.Items) != 2 || near.Items[0].ID != c.Beishan || near.Items[1].ID != c.City {
		t.Fatalf("low income nearby: %s", r.Body)
	}

	// All stations, two per page.
	var seen []int64
	cursor := ""
	for page := 0; page < 5; page++ {
		r = h.do(req{method: "GET", path: "/api/v1/stations?limit=2&cursor=" + cursor})
		var l model.List[model.Station]
		r.decode(t, &l)
		for _, s := range l.Items {
			seen = append(seen, s.ID)
		}
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 5 {
		t.Fatalf("paged stations: %v", seen)
	}
	r = h.do(req{method: "GET", path: fmt.Sprintf("/api/v1/stations?parent_id=%d", c.Beishan)})
	r.decode(t, &near)
	if len(near.Items) != 2 {
		t.Fatalf("children of 北山: %s", r.Body)
	}

	r = h.do(req{method: "GET", path: fmt.Sprintf("/api/v1/stations/%d", c.City)})
	var st model.Station
	r.decode(t, &st)
	if r.Status != 200 || st.Level != 1 || st.ParentID != nil || st.Name != "延吉市社工总站" {
		t.Fatalf("city station: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "GET", path: "/api/v1/stations/99999"}); r.Status != 404 {
		t.Fatalf("missing station: %d", r.Status)
	}

	r = h.do(req{method: "GET", path: "/api/v1/organizations?lat=42.9205&lng=129.5005&category=counselling"})
	var orgs model.List[model.Organization]
	r.decode(t, &orgs)
	if r.Status != 200 || len(orgs.Items) != 1 || orgs.Items[0].ID != c.OrgMed {
		t.Fatalf("orgs: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "GET", path: fmt.Sprintf("/api/v1/organizations/%d", c.OrgElder)}); r.Status != 200 {
		t.Fatalf("org: %d %s", r.Status, r.Body)
	}
}

func TestPublicLookupsRejectBadQueries(t *testing.T) {
	h := newHarness(t)
	h.city()
	for path, field := range map[string]string{
		"/api/v1/stations?lat=91&lng=129.5":                      "lat",
		"/api/v1/stations?lat=abc&lng=129.5":                     "lat",
		"/api/v1/stations?lat=42.9&lng=190":                      "lng",
		"/api/v1/stations?lat=42.9":                              "lng",
		"/api/v1/stations?lat=42.9&lng=129.5&radius_m=900000":    "radius_m",
		"/api/v1/stations?lat=42.9&lng=129.5&category=no_such":   "category",
		"/api/v1/stations?level=7":                               "level",
		"/api/v1/stations?cursor=%21%21":                         "cursor",
		"/api/v1/organizations?lng=129.5":                        "lat",
		"/api/v1/organizations?lat=42.9&lng=129.5&category=nope": "category",
		"/api/v1/categories?area=space":                          "area",
		"/api/v1/stations/abc":                                   "id",
	} {
		r := h.do(req{method: "GET", path: path})
		if r.Status != 400 || r.errorFields()[field] == "" {
			t.Errorf("%s: %d %s, want 400 naming %s", path, r.Status, r.Body, field)
		}
	}
}

func TestAdminEndpointsNeedCityAdmin(t *testing.T) {
	h := newHarness(t)
	c := h.city()
	resident, _ := h.login("rita")
	worker := h.grant(resident, model.Role{Role: model.RoleStationAdmin, StationID: c.Beishan})
	calls := []req{
		{method: "POST", path: "/api/v1/admin/stations", body: map[string]any{"name": "x", "level": 3, "parent_id": c.Beishan, "lat": 42.9, "lng": 129.5}},
		{method: "PATCH", path: fmt.Sprintf("/api/v1/admin/stations/%d", c.Beishan), body: map[string]any{"closed": true}},
		{method: "POST", path: "/api/v1/admin/organizations", body: map[string]any{"name": "x", "lat": 42.9, "lng": 129.5}},
		{method: "PATCH", path: fmt.Sprintf("/api/v1/admin/organizations/%d", c.OrgElder), body: map[string]any{"active": false}},
		{method: "POST", path: "/api/v1/admin/categories", body: map[string]any{"code": "xx", "name": "x", "area": "elder_care"}},
		{method: "PATCH", path: "/api/v1/admin/categories/home_visit", body: map[string]any{"active": false}},
	}
	plain, _ := h.login("sam")
	for _, call := range calls {
		for _, tok := range []string{plain, worker} {
			call.token = tok
			if r := h.do(call); r.Status != 403 {
				t.Errorf("%s %s as non-admin: %d %s", call.method, call.path, r.Status, r.Body)
			}
		}
		call.token = ""
		if r := h.do(call); r.Status != 401 {
			t.Errorf("%s %s anonymous: %d", call.method, call.path, r.Status)
		}
	}
	if st, _ := h.stations.Station(context.Background(), c.Beishan); st.Closed {
		t.Fatal("a non-admin closed a station")
	}
}

func TestAdminStationRules(t *testing.T) {
	h := newHarness(t)
	c := h.city()
	admin, _ := h.login("admin")
	post := func(body map[string]any, header map[string]string) reply {
		return h.do(req{method: "POST", path: "/api/v1/admin/stations", token: admin, body: body, header: header})
	}
	point := func(extra map[string]any) map[string]any {
		b := map[string]any{"name": "北山C社区社工点", "level": 3, "parent_id": c.Beishan, "lat": 42.921, "lng": 129.506,
			"address": "延吉市北山街道", "categories": []string{"home_visit"}}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	for name, tc := range map[string]struct {
		body  map[string]any
		field string
	}{
		"point under a point":    {point(map[string]any{"parent_id": c.PointA}), "parent_id"},
		"point under the city":   {point(map[string]any{"parent_id": c.City}), "parent_id"},
		"street under a street":  {point(map[string]any{"level": 2, "parent_id": c.Gongyuan}), "parent_id"},
		"missing parent":         {point(map[string]any{"parent_id": nil}), "parent_id"},
		"unknown parent":         {point(map[string]any{"parent_id": 99999}), "parent_id"},
		"city with a parent":     {point(map[string]any{"level": 1}), "parent_id"},
		"latitude out of range":  {point(map[string]any{"lat": 95}), "lat"},
		"longitude out of range": {point(map[string]any{"lng": -200}), "lng"},
		"unknown category":       {point(map[string]any{"categories": []string{"no_such"}}), "categories"},
		"bad level":              {point(map[string]any{"level": 4}), "level"},
		"bad hours":              {point(map[string]any{"opening_hours": []map[string]any{{"weekday": 8, "opens": "08:00", "closes": "09:00"}}}), "opening_hours[0]"},
		"empty name":             {point(map[string]any{"name": " "}), "name"},
		"unknown field":          {point(map[string]any{"colour": "red"}), "colour"},
		"missing lat":            {map[string]any{"name": "x", "level": 3, "parent_id": c.Beishan, "lng": 129.5}, "lat"},
		"radius too small":       {point(map[string]any{"radius_m": 5}), "radius_m"},
		"wrong type of latitude": {point(map[string]any{"lat": "north"}), "lat"},
	} {
		r := post(tc.body, nil)
		if r.Status != 400 || r.errorFields()[tc.field] == "" {
			t.Errorf("%s: %d %s, want 400 naming %s", name, r.Status, r.Body, tc.field)
		}
	}
	if r := post(map[string]any{"name": "第二个总站", "level": 1, "lat": 42.9, "lng": 129.5}, nil); r.Status != 409 {
		t.Fatalf("second city station: %d %s", r.Status, r.Body)
	}
	if r := post(point(map[string]any{"name": "北山A社区社工点"}), nil); r.Status != 409 || r.errorFields()["name"] == "" {
		t.Fatalf("duplicate name: %d %s", r.Status, r.Body)
	}

	key := map[string]string{"Idempotency-Key": "new-point-1"}
	r := post(point(nil), key)
	var created model.Station
	r.decode(t, &created)
	if r.Status != 201 || created.ID == 0 || created.RadiusM != 1500 || len(created.OpeningHours) != 5 || created.Parent() != c.Beishan {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	r = post(point(nil), key)
	var again model.Station
	r.decode(t, &again)
	if r.Status != 201 || again.ID != created.ID {
		t.Fatalf("replay: %d %s", r.Status, r.Body)
	}
	// The new point is matched at once and can receive staff.
	res, err := h.stations.Match(context.Background(), model.Point{Lat: 42.921, Lng: 129.506}, "home_visit")
	if err != nil || res.Stations[0].Station.ID != created.ID {
		t.Fatalf("match after create: %+v %v", res, err)
	}
	if r := h.do(req{method: "POST", path: "/api/v1/admin/invites", token: admin, body: map[string]any{"role": "social_worker", "station_id": created.ID}}); r.Status != 201 {
		t.Fatalf("invite to the new station: %d %s", r.Status, r.Body)
	}

	patch := func(id int64, body map[string]any) reply {
		return h.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/admin/stations/%d", id), token: admin, body: body})
	}
	if r := patch(c.Beishan, map[string]any{"level": 3}); r.Status != 400 || r.errorFields()["level"] == "" {
		t.Fatalf("level change: %d %s", r.Status, r.Body)
	}
	if r := patch(c.Beishan, map[string]any{"parent_id": c.PointA}); r.Status != 400 || r.errorFields()["parent_id"] == "" {
		t.Fatalf("street under its own point: %d %s", r.Status, r.Body)
	}
	if r := patch(created.ID, map[string]any{"parent_id": created.ID}); r.Status != 400 || r.errorFields()["parent_id"] == "" {
		t.Fatalf("own parent: %d %s", r.Status, r.Body)
	}
	if r := patch(99999, map[string]any{"closed": true}); r.Status != 404 {
		t.Fatalf("missing station: %d %s", r.Status, r.Body)
	}
	r = patch(created.ID, map[string]any{"closed": true, "closed_reason": "暂停服务", "parent_id": c.Gongyuan})
	var closed model.Station
	r.decode(t, &closed)
	if r.Status != 200 || !closed.Closed || closed.OpenNow || closed.Parent() != c.Gongyuan || closed.ClosedReason != "暂停服务" {
		t.Fatalf("close: %d %s", r.Status, r.Body)
	}
	res, err = h.stations.Match(context.Background(), model.Point{Lat: 42.921, Lng: 129.506}, "home_visit")
	if err != nil || res.Stations[0].Station.ID == created.ID {
		t.Fatalf("closed station still matched first: %+v %v", res, err)
	}
	r = patch(created.ID, map[string]any{"closed": false})
	r.decode(t, &closed)
	if r.Status != 200 || closed.Closed || closed.ClosedReason != "" {
		t.Fatalf("reopen: %d %s", r.Status, r.Body)
	}
}

func TestAdminOrganizationsAndCategories(t *testing.T) {
	h := newHarness(t)
	h.city()
	admin, _ := h.login("admin")
	r := h.do(req{method: "POST", path: "/api/v1/admin/organizations", token: admin, body: map[string]any{
		"name": "延吉市志愿者协会", "lat": 42.919, "lng": 129.502, "categories": []string{"low_income"}, "contact_phone": "0433-1234567"}})
	var org model.Organization
	r.decode(t, &org)
	if r.Status != 201 || !org.Active || org.ID == 0 {
		t.Fatalf("create org: %d %s", r.Status, r.Body)
	}
	res, _ := h.stations.Match(context.Background(), model.Point{Lat: 42.9205, Lng: 129.5005}, "low_income")
	if len(res.Orgs) != 1 || res.Orgs[0].ID != org.ID {
		t.Fatalf("new org not matched: %+v", res.Orgs)
	}
	for body, field := range map[string]string{
		`{"name": "x", "lat": 42.9}`:                                       "lng",
		`{"name": "x", "lat": 42.9, "lng": 129.5, "categories": ["nope"]}`: "categories",
		`{"name": "x", "lat": 42.9, "lng": 129.5, "contact_phone": "abc"}`: "contact_phone",
	} {
		if r := h.do(req{method: "POST", path: "/api/v1/admin/organizations", token: admin, body: body}); r.Status != 400 || r.errorFields()[field] == "" {
			t.Errorf("%s: %d %s", body, r.Status, r.Body)
		}
	}
	r = h.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/admin/organizations/%d", org.ID), token: admin, body: map[string]any{"active": false}})
	if r.Status != 200 {
		t.Fatalf("deactivate: %d %s", r.Status, r.Body)
	}
	res, _ = h.stations.Match(context.Background(), model.Point{Lat: 42.9205, Lng: 129.5005}, "low_income")
	if len(res.Orgs) != 0 {
		t.Fatalf("inactive org matched: %+v", res.Orgs)
	}
	if r := h.do(req{method: "POST", path: "/api/v1/admin/invites", token: admin, body: map[string]any{"role": "org_admin", "org_id": org.ID}}); r.Status != 201 {
		t.Fatalf("invite to the new org: %d %s", r.Status, r.Body)
	}

	r = h.do(req{method: "POST", path: "/api/v1/admin/categories", token: admin, body: map[string]any{
		"code": "meal_help", "name": "助餐服务", "area": "elder_care", "fields": []map[string]any{
			{"name": "meals", "label": "餐次", "type": "multi_choice", "required": true, "order": 1,
				"options": []map[string]string{{"key": "lunch", "name": "午餐"}, {"key": "dinner", "name": "晚餐"}}}}}})
	var cat model.Category
	r.decode(t, &cat)
	if r.Status != 201 || cat.Code != "meal_help" || !cat.Active || len(cat.Fields) != 1 {
		t.Fatalf("create category: %d %s", r.Status, r.Body)
	}
	got, err := h.stations.Category(context.Background(), "meal_help")
	if err != nil || got.CheckFields(map[string]any{"meals": []any{"lunch"}}) != nil || got.CheckFields(nil) == nil {
		t.Fatalf("new category: %+v %v", got, err)
	}
	for body, field := range map[string]string{
		`{"code": "Bad Code", "name": "x", "area": "elder_care"}`: "code",
		`{"code": "ok_code", "name": "x", "area": "moon"}`:        "area",
		`{"code": "ok_code", "name": "x", "area": "elder_care", "fields": [{"name": "a", "label": "A", "type": "colour", "required": false, "order": 1}]}`: "fields[0]",
		`{"name": "x", "area": "elder_care"}`: "code",
	} {
		if r := h.do(req{method: "POST", path: "/api/v1/admin/categories", token: admin, body: body}); r.Status != 400 || r.errorFields()[field] == "" {
			t.Errorf("%s: %d %s", body, r.Status, r.Body)
		}
	}
	if r := h.do(req{method: "POST", path: "/api/v1/admin/categories", token: admin, body: map[string]any{"code": "home_visit", "name": "x", "area": "elder_care"}}); r.Status != 409 {
		t.Fatalf("duplicate code: %d %s", r.Status, r.Body)
	}
	r = h.do(req{method: "PATCH", path: "/api/v1/admin/categories/home_visit", token: admin, body: map[string]any{"active": false}})
	if r.Status != 200 {
		t.Fatalf("retire: %d %s", r.Status, r.Body)
	}
	if _, err := h.stations.Match(context.Background(), model.Point{Lat: 42.9205, Lng: 129.5005}, "home_visit"); !model.IsCode(err, model.CodeInvalid) {
		t.Fatalf("retired category matched: %v", err)
	}
	if r := h.do(req{method: "PATCH", path: "/api/v1/admin/categories/nope", token: admin, body: map[string]any{"name": "x"}}); r.Status != 404 {
		t.Fatalf("missing category: %d %s", r.Status, r.Body)
	}
}
