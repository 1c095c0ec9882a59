package api

import (
	"fmt"
	"net/http"
	"testing"

	"jindalai/model"
)

// TestActivityRefusalBeforeValidation: a caller who may not organize the
// activity gets 403 for a well-formed body whose values are wrong (an
// unknown category, a missing reason), never a 400 naming the field; the
// organizer gets the 400. (A malformed time is refused as any malformed
// JSON is, before anything is looked up.)
func TestActivityRefusalBeforeValidation(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("order-org")
	strangerToken, _ := h.login("order-stranger")
	stranger := h.grant(strangerToken, model.Role{Role: model.RoleSocialWorker, StationID: h.actCity().Gongyuan})
	a := h.createActivity(org, nil)
	path := fmt.Sprintf("/api/v1/activities/%d", a.ID)

	bad := map[string]any{"category": "no_such_service"}
	if r := h.do(req{method: "PATCH", path: path, token: stranger, body: bad}); r.Status != http.StatusForbidden {
		t.Fatalf("edit by a non-organizer with an unknown category: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "PATCH", path: path, token: org, body: bad}); r.Status != http.StatusBadRequest || r.errorFields()["category"] == "" {
		t.Fatalf("edit by the organizer with an unknown category: %d %s", r.Status, r.Body)
	}
	noReason := map[string]string{"reason": ""}
	if r := h.do(req{method: "POST", path: path + "/cancel", token: stranger, body: noReason}); r.Status != http.StatusForbidden {
		t.Fatalf("cancel by a non-organizer without a reason: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "POST", path: path + "/cancel", token: org, body: noReason}); r.Status != http.StatusBadRequest || r.errorFields()["reason"] == "" {
		t.Fatalf("cancel by the organizer without a reason: %d %s", r.Status, r.Body)
	}
}
