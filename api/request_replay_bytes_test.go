package api

import (
	"context"
	"math"
	"net/http"
	"testing"

	"jindalai/model"
)

// TestSubmitReplayBodiesByteForByte: for bodies that stress what the row
// keeps of a submit (coordinates, unicode and HTML in the texts, the JSON of
// images and fields, no phone, a short phone, urgent, the city station as
// the only candidate, no organizations, a category name with markup), a
// retry with the same key after the request moved returns the first reply
// byte for byte. The first submits run concurrently (group commit), one of
// them twice with the same key (replayed whether the repeat shares its batch,
// then running alone after it, or not), and so do the replays.
func TestSubmitReplayBodiesByteForByte(t *testing.T) {
	h := newHarness(t)
	if _, err := h.store.CreateCategory(context.Background(), nil, model.Category{
		Code: "odd_need", Name: `<特殊>&"需求"`, Area: model.AreaSocialAffairs, Active: true,
		Fields: []model.CategoryField{
			{Name: "note", Label: "说明", Type: model.FieldText, Order: 1},
			{Name: "when", Label: "时间", Type: model.FieldDatetime, Order: 2},
			{Name: "kinds", Label: "类型", Type: model.FieldMultiValue, Order: 3,
				Options: []model.FieldOption{{Key: "a<b", Name: "甲"}, {Key: "c&d", Name: "乙"}}},
			{Name: "count", Label: "数量", Type: model.FieldNumber, Order: 4},
			{Name: "extra", Label: "备注", Type: model.FieldString, Order: 5},
		},
	}); err != nil {
		t.Fatal(err)
	}
	city := h.city()
	alice, _ := h.login("alice")
	negZero := math.Copysign(0, -1)
	with := func(set map[string]any) map[string]any { return overlay(needBody(), set) }
	cases := []struct {
		name string
		body map[string]any
		// move takes the request somewhere after its submit.
		move func(r model.Request)
	}{
		{name: "negative zero longitude (the city station alone, no organizations)",
			body: with(map[string]any{"lat": 10.0, "lng": negZero, "category": "counselling", "fields": nil})},
		{name: "negative zero latitude, urgent",
			body: with(map[string]any{"lat": negZero, "lng": 129.5, "urgency": "urgent"})},
		{name: "markup and unicode in the texts, images with query strings",
			body: with(map[string]any{
				"description": "<script>alert('x')</script> & \"独居\" 老人 👵🏻 \u2028\u2029 \u0000 e\u0301 \\n",
				"address":     "北山<街道>&A社区 “3号楼” 🏠",
				"images":      []string{"https://img.example.com/a.jpg?x=1&y=<2>", "https://例子.中国/图片.png#frag"},
				"fields":      map[string]any{"people": 1e21},
			}),
			move: func(r model.Request) {
				holder := h.staff("holder-markup", model.Role{Role: model.RoleSocialWorker, StationID: r.Station.ID})
				moved := h.act(holder, r.ID, "reject", map[string]string{"reason": "本站人手不足"}, 200)
				next := h.staff("next-markup", model.Role{Role: model.RoleSocialWorker, StationID: moved.Station.ID})
				h.act(next, r.ID, "accept", nil, 200)
				h.act(next, r.ID, "start", nil, 200)
				h.act(next, r.ID, "resolve", map[string]any{"summary": "已上门", "service_minutes": 30}, 200)
				h.act(alice, r.ID, "rate", map[string]any{"score": 4, "comment": "好"}, 200)
			}},
		{name: "precise coordinates, tiny and negative numbers in fields, urgent",
			body: with(map[string]any{"lat": 42.92000000000001, "lng": 129.50000000000003, "urgency": "urgent",
				"fields": map[string]any{"people": -2.5e-7}}),
			move: func(r model.Request) {
				w := h.staff("holder-precise", model.Role{Role: model.RoleSocialWorker, StationID: r.Station.ID})
				h.act(w, r.ID, "transfer", map[string]any{"org_id": city.OrgElder, "reason": "老年协会有志愿者可上门"}, 200)
				org := h.staff("org-precise", model.Role{Role: model.RoleOrgAdmin, OrgID: city.OrgElder})
				h.act(org, r.ID, "accept", nil, 200)
			}},
		{name: "no phone, no images, no fields, a category no organization serves",
			body: with(map[string]any{"category": "low_income", "contact_phone": nil, "images": nil, "fields": nil}),
			move: func(r model.Request) { h.act(alice, r.ID, "cancel", map[string]string{"reason": "不需要了"}, 200) }},
		{name: "short phone, a null field, an empty image list",
			body: with(map[string]any{"contact_phone": "+12345", "images": []string{}, "fields": map[string]any{"people": nil}})},
		{name: "every kind of field, markup in the category name and the choices",
			body: with(map[string]any{"category": "odd_need", "lat": 42.905, "lng": 129.509, "fields": map[string]any{
				"note": "多行\n文本 <b>&amp;</b> 😀", "when": "2024-05-01T09:00:00.123456789+08:00",
				"kinds": []string{"c&d", "a<b"}, "count": 12345678901234567890.0, "extra": ""}})},
	}

	submitAll := func(keys []string, bodies []map[string]any) []reply {
		submits := make([]req, len(keys))
		for i := range keys {
			submits[i] = req{method: "POST", path: "/api/v1/requests", token: alice, body: bodies[i],
				header: map[string]string{"Idempotency-Key": keys[i]}}
		}
		return h.doAtOnce(submits...)
	}
	var keys []string
	var bodies []map[string]any
	for i, c := range cases {
		keys = append(keys, "replay-bytes-"+string(rune('a'+i)))
		bodies = append(bodies, c.body)
	}
	// The third case twice, at once.
	first := submitAll(append(keys, keys[2]), append(bodies, bodies[2]))
	if dup := first[len(first)-1]; !dup.replays(first[2]) {
		t.Fatalf("a key repeated at once:\n%d %s\nfirst:\n%d %s", dup.Status, dup.Body, first[2].Status, first[2].Body)
	}
	for i, c := range cases {
		if first[i].Status != http.StatusCreated {
			t.Fatalf("%s: submit %d %s", c.name, first[i].Status, first[i].Body)
		}
		if c.move != nil {
			var r model.Request
			first[i].decode(t, &r)
			c.move(r)
		}
	}
	again := submitAll(keys, bodies)
	for i, c := range cases {
		if !again[i].replays(first[i]) {
			t.Errorf("%s: the replay differs\n%d %s\nfirst:\n%d %s", c.name, again[i].Status, again[i].Body, first[i].Status, first[i].Body)
		}
	}
	if n := h.count(`SELECT COUNT(*) FROM requests`); n != len(cases) {
		t.Fatalf("%d requests, want %d", n, len(cases))
	}
}
