package model

import (
	"encoding/json"
	"testing"
)

func sampleCategory() Category {
	return Category{Code: "home_visit", Name: "上门探访", Area: AreaElderCare, Fields: []CategoryField{
		{Name: "people", Label: "人数", Type: FieldNumber, Required: true, Order: 1},
		{Name: "when", Label: "希望时间", Type: FieldDatetime, Order: 2},
		{Name: "kind", Label: "对象", Type: FieldSingleValue, Order: 3, Options: []FieldOption{{Key: "elder", Name: "老人"}, {Key: "child", Name: "儿童"}}},
		{Name: "needs", Label: "需求", Type: FieldMultiValue, Order: 4, Options: []FieldOption{{Key: "meal", Name: "助餐"}, {Key: "clean", Name: "助洁"}}},
		{Name: "note", Label: "备注", Type: FieldText, Order: 5},
	}}
}

func TestCheckFields(t *testing.T) {
	c := sampleCategory()
	cases := []struct {
		name  string
		json  string
		field string // "" = valid
	}{
		{"all fine", `{"people": 2, "when": "2024-05-01T09:00:00+08:00", "kind": "elder", "needs": ["meal","clean"], "note": "三楼"}`, ""},
		{"only required", `{"people": 1}`, ""},
		{"missing required", `{"kind": "elder"}`, "fields.people"},
		{"null required", `{"people": null}`, "fields.people"},
		{"wrong type number", `{"people": "two"}`, "fields.people"},
		{"bad datetime", `{"people": 1, "when": "tomorrow"}`, "fields.when"},
		{"datetime out of the client years", `{"people": 1, "when": "9999-05-01T09:00:00+08:00"}`, "fields.when"},
		{"unknown field", `{"people": 1, "color": "red"}`, "fields.color"},
		{"choice not offered", `{"people": 1, "kind": "dog"}`, "fields.kind"},
		{"multi not offered", `{"people": 1, "needs": ["meal", "fly"]}`, "fields.needs"},
		{"multi duplicate", `{"people": 1, "needs": ["meal", "meal"]}`, "fields.needs"},
		{"multi wrong type", `{"people": 1, "needs": "meal"}`, "fields.needs"},
		{"single wrong type", `{"people": 1, "kind": ["elder"]}`, "fields.kind"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v map[string]any
			if err := json.Unmarshal([]byte(tc.json), &v); err != nil {
				t.Fatal(err)
			}
			err := c.CheckFields(v)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Code != CodeInvalid || e.Fields[tc.field] == "" {
				t.Fatalf("got %v, want invalid_argument naming %s", err, tc.field)
			}
		})
	}
}

func TestCheckFieldsNoRequired(t *testing.T) {
	c := Category{Code: "x", Fields: []CategoryField{{Name: "note", Label: "备注", Type: FieldString}}}
	if err := c.CheckFields(nil); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckFields(map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if err := (Category{}).CheckFields(nil); err != nil {
		t.Fatal(err)
	}
}

func TestCheckDefinition(t *testing.T) {
	if err := sampleCategory().CheckDefinition(); err != nil {
		t.Fatal(err)
	}
	bad := sampleCategory()
	bad.Area = "space"
	bad.Fields = append(bad.Fields, CategoryField{Name: "people", Label: "重复", Type: FieldNumber},
		CategoryField{Name: "c", Label: "选择", Type: FieldSingleValue})
	err := bad.CheckDefinition().(*Error)
	for _, f := range []string{"area", "fields[5]", "fields[6]"} {
		if err.Fields[f] == "" {
			t.Errorf("no problem for %s: %v", f, err.Fields)
		}
	}
}

func TestOpeningHours(t *testing.T) {
	if err := CheckOpeningHours([]OpeningPeriod{{Weekday: 1, Opens: "08:30", Closes: "17:00"}, {Weekday: 2, Opens: "00:00", Closes: "24:00"}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []OpeningPeriod{{Weekday: 0, Opens: "08:00", Closes: "09:00"}, {Weekday: 1, Opens: "8:00", Closes: "09:00"},
		{Weekday: 1, Opens: "10:00", Closes: "09:00"}, {Weekday: 1, Opens: "25:00", Closes: "26:00"},
		{Weekday: 1, Opens: " 8:00", Closes: "09:00"}, {Weekday: 1, Opens: "+8:00", Closes: "09:00"},
		{Weekday: 1, Opens: "08:00", Closes: "24:01"}, {Weekday: 1, Opens: "08:60", Closes: "09:00"}} {
		if CheckOpeningHours([]OpeningPeriod{p}) == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}
