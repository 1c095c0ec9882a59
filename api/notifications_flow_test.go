package api

import (
	"net/http"
	"strings"
	"testing"

	"jindalai/model"
)

// TestAcceptedRequestSendsExactlyOneSubscribeMessage follows a real flow: a
// resident with a grant submits a need, a worker accepts it, and the outbox
// sender delivers one request_accepted message with the configured template
// and fields — once, however often the sender runs.
func TestAcceptedRequestSendsExactlyOneSubscribeMessage(t *testing.T) {
	h := newHarness(t)
	city := h.city()
	resident, _, openid := h.notifyUser("flow")
	h.subscribe(resident, "tpl_request_status")
	r := h.submitNeed(resident, needBody())
	worker := h.staff("flow_worker", model.Role{Role: model.RoleSocialWorker, StationID: city.PointA})
	for runOnce(t, h.notify) > 0 {
	}
	if got := sendsTo(h.wx, openid); len(got) != 0 {
		t.Fatalf("sent before acceptance: %+v", got)
	}

	h.act(worker, r.ID, "accept", nil, http.StatusOK)
	for runOnce(t, h.notify) > 0 {
	}
	for i := 0; i < 3; i++ {
		runOnce(t, h.notify)
	}
	sends := sendsTo(h.wx, openid)
	if len(sends) != 1 {
		t.Fatalf("%d sends, want exactly 1: %+v", len(sends), sends)
	}
	s := sends[0]
	if s.TemplateID != "tpl_request_status" || !strings.HasPrefix(s.Page, "pages/request/detail") {
		t.Fatalf("template/page: %+v", s)
	}
	if s.Data["thing1"] != "上门探访" || s.Data["phrase2"] != "已签收" || !strings.Contains(s.Data["time3"], "年") {
		t.Fatalf("fields: %+v", s.Data)
	}
	if left := h.remaining(resident, "tpl_request_status"); left != 0 {
		t.Fatalf("grant not consumed: %d left", left)
	}

	// The resolution uses the same template but no grant is left: in-app only.
	h.act(worker, r.ID, "start", nil, http.StatusOK)
	h.act(worker, r.ID, "resolve", map[string]any{"summary": "已上门探访，老人状况良好", "service_minutes": 45}, http.StatusOK)
	for runOnce(t, h.notify) > 0 {
	}
	if got := len(sendsTo(h.wx, openid)); got != 1 {
		t.Fatalf("%d sends after resolution without a grant, want still 1", got)
	}
	var inApp int
	if err := h.store.DB.QueryRow(`SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id
		WHERE u.openid = ? AND n.kind IN ('request_accepted', 'request_resolved')`, openid).Scan(&inApp); err != nil || inApp != 2 {
		t.Fatalf("in-app messages %d (%v), want 2", inApp, err)
	}
}
