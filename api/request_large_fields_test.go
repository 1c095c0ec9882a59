package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"jindalai/model"
)

// TestSubmitLargestValidFields: the largest body the category allows (20
// text fields of 2000 characters, each one JSON escapes to six bytes) is
// stored and read back whole, never a 500 from a column too small for what
// validation accepts; one character more is a 400 naming the field.
func TestSubmitLargestValidFields(t *testing.T) {
	h := newHarness(t)
	var fields []model.CategoryField
	for i := range 20 {
		fields = append(fields, model.CategoryField{Name: fmt.Sprintf("f%02d", i), Label: fmt.Sprintf("字段%d", i),
			Type: model.FieldText, Order: i + 1})
	}
	if _, err := h.store.CreateCategory(context.Background(), nil, model.Category{
		Code: "long_form", Name: "长表单", Area: model.AreaSocialAffairs, Active: true, Fields: fields,
	}); err != nil {
		t.Fatal(err)
	}
	h.city()
	alice, _ := h.login("alice")
	values := map[string]any{}
	for _, f := range fields {
		values[f.Name] = strings.Repeat("\u2028", 2000)
	}
	body := needBody()
	body["category"], body["fields"] = "long_form", values
	r := h.do(req{method: "POST", path: "/api/v1/requests", token: alice, body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("largest valid fields: %d %s", r.Status, r.Body)
	}
	var out model.Request
	r.decode(t, &out)
	got := h.do(req{method: "GET", path: fmt.Sprintf("/api/v1/requests/%d", out.ID), token: alice})
	var read model.Request
	got.decode(t, &read)
	if got.Status != http.StatusOK || len(read.Fields) != 20 || read.Fields["f19"] != values["f19"] {
		t.Fatalf("read back: %d, %d fields", got.Status, len(read.Fields))
	}
	values["f07"] = strings.Repeat("长", 2001)
	if r := h.do(req{method: "POST", path: "/api/v1/requests", token: alice, body: body}); r.Status != http.StatusBadRequest ||
		r.errorFields()["fields.f07"] == "" {
		t.Fatalf("one character over: %d %s", r.Status, r.Body)
	}
}
