package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/service"
)

// needBody is a valid request near 北山A社区社工点.
func needBody() map[string]any {
	return map[string]any{"category": "home_visit", "description": "家中老人独居，行动不便，希望社工上门探访",
		"address": "北山街道A社区3号楼", "lat": 42.920, "lng": 129.500, "urgency": "normal",
		"contact_phone": "13812345678", "fields": map[string]any{"people": 2}}
}

func (h *harness) submitNeed(token string, body map[string]any) model.Request {
	h.t.Helper()
	r := h.do(req{method: "POST", path: "/api/v1/requests", token: token, body: body})
	if r.Status != http.StatusCreated {
		h.t.Fatalf("submit: %d %s", r.Status, r.Body)
	}
	var out model.Request
	r.decode(h.t, &out)
	return out
}

// staff logs a new user in and grants a station or organization role.
func (h *harness) staff(code string, role model.Role) string {
	h.t.Helper()
	tok, _ := h.login(code)
	return h.grant(tok, role)
}

func reqPath(id int64, action string) string {
	p := fmt.Sprintf("/api/v1/requests/%d", id)
	if action != "" {
		p += "/" + action
	}
	return p
}

func (h *harness) getRequest(token string, id int64) model.Request {
	h.t.Helper()
	r := h.do(req{method: "GET", path: reqPath(id, ""), token: token})
	if r.Status != http.StatusOK {
		h.t.Fatalf("get %d: %d %s", id, r.Status, r.Body)
	}
	var out model.Request
	r.decode(h.t, &out)
	return out
}

func (h *harness) act(token string, id int64, action string, body any, want int) model.Request {
	h.t.Helper()
	r := h.do(req{method: "POST", path: reqPath(id, action), token: token, body: body})
	if r.Status != want {
		h.t.Fatalf("%s %d: %d %s, want %d", action, id, r.Status, r.Body, want)
	}
	var out model.Request
	if want == http.StatusOK {
		r.decode(h.t, &out)
	}
	return out
}

func TestRequestLifecycleOverHTTP(t *testing.T) {
	h := newHarness(t)
	city := h.city()
	alice, _ := h.login("alice")
	r := h.submitNeed(alice, needBody())
	if r.Status != model.StatusDispatched || r.Station.ID != city.PointA || r.Station.Level != 3 ||
		r.ContactPhone != "138****5678" || r.AcceptBy.IsZero() || len(r.Organizations) == 0 {
		t.Fatalf("submitted: %+v", r)
	}
	w := h.staff("w1", model.Role{Role: model.RoleSocialWorker, StationID: city.PointA})
	var n int
	if err := h.store.DB.QueryRow(`SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id
		WHERE u.openid = 'dev_w1' AND n.kind = 'request_dispatched'`).Scan(&n); err != nil || n != 0 {
		// w1 joined after the dispatch: nothing for them yet.
		t.Fatalf("notifications before joining: %d %v", n, err)
	}

	qr := h.do(req{method: "GET", path: "/api/v1/queue", token: w})
	var queue model.List[model.Request]
	qr.decode(t, &queue)
	if qr.Status != 200 || len(queue.Items) != 1 || queue.Items[0].ContactPhone != "13812345678" {
		t.Fatalf("queue: %d %s", qr.Status, qr.Body)
	}
	acc := h.act(w, r.ID, "accept", nil, 200)
	if acc.Status != model.StatusAccepted || acc.WorkerID == nil {
		t.Fatalf("accept: %+v", acc)
	}
	h.act(w, r.ID, "accept", nil, http.StatusConflict)
	h.act(w, r.ID, "start", nil, 200)
	if nr := h.do(req{method: "POST", path: reqPath(r.ID, "notes"), token: w, body: map[string]string{"text": "家属电话已核实"}}); nr.Status != 201 {
		t.Fatalf("note: %d %s", nr.Status, nr.Body)
	}
	h.act(w, r.ID, "resolve", map[string]any{"summary": "已上门探访并联系家属", "service_minutes": 60}, 200)
	if err := h.store.DB.QueryRow(`SELECT COUNT(*) FROM notifications WHERE ref_id = ? AND kind IN ('request_accepted', 'request_resolved')`,
		r.ID).Scan(&n); err != nil || n != 2 {
		t.Fatalf("resident notifications: %d %v", n, err)
	}
	closed := h.act(alice, r.ID, "rate", map[string]any{"score": 5, "comment": "很满意"}, 200)
	if closed.Status != model.StatusClosed || closed.Rating == nil || closed.Resolution.ServiceMinutes != 60 {
		t.Fatalf("rated: %+v", closed)
	}

	mine := h.getRequest(alice, r.ID)
	var steps []string
	for _, e := range mine.Timeline {
		steps = append(steps, string(e.From)+">"+string(e.To))
		if e.Kind == model.EventNote {
			t.Fatal("resident sees an internal note")
		}
	}
	want := []string{">submitted", "submitted>dispatched", "dispatched>accepted", "accepted>in_progress",
		"in_progress>resolved", "resolved>closed"}
	if !slices.Equal(steps, want) || mine.ContactPhone != "138****5678" {
		t.Fatalf("timeline %v (phone %s), want %v", steps, mine.ContactPhone, want)
	}
	theirs := h.getRequest(w, r.ID)
	if len(theirs.Timeline) != len(want)+1 || theirs.ContactPhone != "13812345678" {
		t.Fatalf("staff view: %d events, phone %s", len(theirs.Timeline), theirs.ContactPhone)
	}
	lr := h.do(req{method: "GET", path: "/api/v1/requests?mine=true&status=closed", token: alice})
	var list model.List[model.Request]
	lr.decode(t, &list)
	if lr.Status != 200 || len(list.Items) != 1 || list.Items[0].ID != r.ID {
		t.Fatalf("my requests: %d %s", lr.Status, lr.Body)
	}
	tr := h.do(req{method: "GET", path: "/api/v1/tasks?status=closed", token: w})
	tr.decode(t, &list)
	if tr.Status != 200 || len(list.Items) != 1 {
		t.Fatalf("tasks: %d %s", tr.Status, tr.Body)
	}
}

// TestConcurrentAcceptsOneWins: 50 concurrent accepts of one request by
// five workers of the station: exactly one 200, the rest 409.
func TestConcurrentAcceptsOneWins(t *testing.T) {
	h := newHarness(t)
	city := h.city()
	alice, _ := h.login("alice")
	r := h.submitNeed(alice, needBody())
	var workers []string
	for i := 0; i < 5; i++ {
		workers = append(workers, h.staff(fmt.Sprintf("w%d", i), model.Role{Role: model.RoleSocialWorker, StationID: city.PointA}))
	}
	statuses := make([]int, 50)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = h.do(req{method: "POST", path: reqPath(r.ID, "accept"), token: workers[i%5]}).Status
		}()
	}
	wg.Wait()
	ok, conflict := 0, 0
	for _, s := range statuses {
		switch s {
		case 200:
			ok++
		case 409:
			conflict++
		}
	}
	if ok != 1 || conflict != 49 {
		t.Fatalf("200s: %d, 409s: %d (%v)", ok, conflict, statuses)
	}
	var events int
	if err := h.store.DB.QueryRow(`SELECT COUNT(*) FROM request_events WHERE request_id = ? AND kind = 'accept'`, r.ID).Scan(&events); err != nil || events != 1 {
		t.Fatalf("accept events: %d %v", events, err)
	}
}

// TestConcurrentSubmitsSameIdempotencyKey: 20 concurrent submits with one
// key create one row and get identical replies.
func TestConcurrentSubmitsSameIdempotencyKey(t *testing.T) {
	h := newHarness(t)
	h.city()
	alice, _ := h.login("alice")
	replies := make([]reply, 20)
	var wg sync.WaitGroup
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = h.do(req{method: "POST", path: "/api/v1/requests", token: alice, body: needBody(),
				header: map[string]string{"Idempotency-Key": "submit-once-42"}})
		}()
	}
	wg.Wait()
	for i, r := range replies {
		if r.Status != http.StatusCreated || string(r.Body) != string(replies[0].Body) {
			t.Fatalf("reply %d: %d %s\nfirst: %s", i, r.Status, r.Body, replies[0].Body)
		}
	}
	var rows int
	if err := h.store.DB.QueryRow(`SELECT COUNT(*) FROM requests`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("rows: %d %v", rows, err)
	}
	other := needBody()
	other["description"] = "另一件事"
	r := h.do(req{method: "POST", path: "/api/v1/requests", token: alice, body: other,
		header: map[string]string{"Idempotency-Key": "submit-once-42"}})
	if r.Status != http.StatusConflict {
		t.Fatalf("key reused for another body: %d %s", r.Status, r.Body)
	}
}

func TestRequestScopeOverHTTP(t *testing.T) {
	h := newHarness(t)
	city := h.city()
	alice, _ := h.login("alice")
	bob, _ := h.login("bob")
	r := h.submitNeed(alice, needBody())
	other := h.staff("gy", model.Role{Role: model.RoleSocialWorker, StationID: city.Gongyuan})
	mine := h.staff("pa", model.Role{Role: model.RoleSocialWorker, StationID: city.PointA})
	parentAdmin := h.staff("bsadmin", model.Role{Role: model.RoleStationAdmin, StationID: city.Beishan})

	for _, c := range []struct {
		token, method, action string
		body                  any
		want                  int
	}{
		{bob, "GET", "", nil, 404},
		{bob, "POST", "cancel", map[string]string{"reason": "x"}, 404},
		{bob, "POST", "accept", nil, 403}, // not staff at all
		{other, "GET", "", nil, 404},
		{other, "POST", "accept", nil, 404},
		{other, "POST", "reject", map[string]string{"reason": "不是我们的"}, 404},
		{parentAdmin, "POST", "accept", nil, 403}, // sees it (subtree) but it is PointA's
		{mine, "POST", "reject", map[string]string{"reason": ""}, 400},
	} {
		rr := h.do(req{method: c.method, path: reqPath(r.ID, c.action), token: c.token, body: c.body})
		if rr.Status != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.action, rr.Status, rr.Body, c.want)
		}
	}
	if got := h.getRequest(parentAdmin, r.ID); got.ContactPhone != "13812345678" {
		t.Fatalf("station admin above: phone %q", got.ContactPhone)
	}
	qr := h.do(req{method: "GET", path: "/api/v1/queue", token: parentAdmin})
	if qr.Status != 200 || !strings.Contains(string(qr.Body), fmt.Sprintf(`"id":%d`, r.ID)) {
		t.Fatalf("parent admin queue: %d %s", qr.Status, qr.Body)
	}
	qr = h.do(req{method: "GET", path: "/api/v1/queue", token: other})
	if qr.Status != 200 || !strings.Contains(string(qr.Body), `"items":[]`) {
		t.Fatalf("other station queue: %d %s", qr.Status, qr.Body)
	}
	for _, c := range []struct {
		token string
		want  int
		sees  bool
	}{{parentAdmin, 200, true}, {mine, 200, true}, {other, 200, false}, {bob, 403, false}} {
		lr := h.do(req{method: "GET", path: "/api/v1/requests?mine=false", token: c.token})
		if lr.Status != c.want || strings.Contains(string(lr.Body), fmt.Sprintf(`"id":%d,`, r.ID)) != c.sees {
			t.Errorf("staff list: %d %s", lr.Status, lr.Body)
		}
	}
	h.act(mine, r.ID, "accept", nil, 200)
	h.act(alice, r.ID, "cancel", map[string]string{"reason": "不需要了"}, http.StatusConflict)

	r2 := h.submitNeed(alice, needBody())
	out := h.act(alice, r2.ID, "cancel", nil, 200)
	if out.Status != model.StatusCancelled {
		t.Fatalf("cancel: %+v", out)
	}
	h.act(mine, r2.ID, "accept", nil, http.StatusConflict)
}

func TestSubmitValidationOverHTTP(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{dispatch: func(c *service.RequestsConfig) { c.SubmitPerMinuteUser = 8 }})
	h.city()
	alice, _ := h.login("alice")
	for field, mutate := range map[string]func(map[string]any){
		"lat":           func(b map[string]any) { b["lat"] = 100.0 },
		"lng":           func(b map[string]any) { delete(b, "lng") },
		"category":      func(b map[string]any) { b["category"] = "no_such_service" },
		"description":   func(b map[string]any) { b["description"] = "   " },
		"urgency":       func(b map[string]any) { b["urgency"] = "asap" },
		"contact_phone": func(b map[string]any) { b["contact_phone"] = "call me" },
		"fields.people": func(b map[string]any) { b["fields"] = map[string]any{"people": "两个"} },
	} {
		b := needBody()
		mutate(b)
		r := h.do(req{method: "POST", path: "/api/v1/requests", token: alice, body: b})
		if r.Status != 400 || r.errorFields()[field] == "" {
			t.Errorf("%s: %d %s", field, r.Status, r.Body)
		}
	}
	long := needBody()
	long["description"] = strings.Repeat("长", 1001)
	if r := h.do(req{method: "POST", path: "/api/v1/requests", token: alice, body: long}); r.Status != 400 || r.errorFields()["description"] == "" {
		t.Errorf("long description: %d %s", r.Status, r.Body)
	}
	var rows int
	if err := h.store.DB.QueryRow(`SELECT COUNT(*) FROM requests`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("rows after bad input: %d %v", rows, err)
	}
	// 8 attempts so far; the limit is 8 a minute.
	if r := h.do(req{method: "POST", path: "/api/v1/requests", token: alice, body: needBody()}); r.Status != http.StatusTooManyRequests {
		t.Fatalf("rate limit: %d %s", r.Status, r.Body)
	}
}

// TestTransferToOrganizationOverHTTP: a station hands a request to an
// organization, whose admin sees it in the queue and accepts it.
func TestTransferToOrganizationOverHTTP(t *testing.T) {
	h := newHarness(t)
	city := h.city()
	alice, _ := h.login("alice")
	r := h.submitNeed(alice, needBody())
	w := h.staff("pa", model.Role{Role: model.RoleSocialWorker, StationID: city.PointA})
	org := h.staff("orgadm", model.Role{Role: model.RoleOrgAdmin, OrgID: city.OrgElder})
	h.act(w, r.ID, "transfer", map[string]any{"org_id": 999999, "reason": "协会"}, 400)
	h.act(org, r.ID, "accept", nil, 404)
	out := h.act(w, r.ID, "transfer", map[string]any{"org_id": city.OrgElder, "reason": "老年协会有志愿者可上门"}, 200)
	if out.Org == nil || out.Org.ID != city.OrgElder {
		t.Fatalf("transfer: %+v", out)
	}
	qr := h.do(req{method: "GET", path: "/api/v1/queue", token: org})
	if qr.Status != 200 || !strings.Contains(string(qr.Body), fmt.Sprintf(`"id":%d`, r.ID)) {
		t.Fatalf("org queue: %d %s", qr.Status, qr.Body)
	}
	if out := h.act(org, r.ID, "accept", nil, 200); out.Status != model.StatusAccepted {
		t.Fatalf("org accept: %+v", out)
	}
	got := h.getRequest(alice, r.ID)
	kinds := []model.EventKind{}
	for _, e := range got.Timeline {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Equal(kinds, []model.EventKind{"submit", "dispatch", "transfer", "accept"}) || got.Timeline[3].ActorRole != "org_admin" {
		t.Fatalf("timeline: %+v", got.Timeline)
	}
}

func TestStatsOverHTTP(t *testing.T) {
	h := newHarness(t)
	city := h.city()
	alice, _ := h.login("alice")
	w := h.staff("pa", model.Role{Role: model.RoleSocialWorker, StationID: city.PointA})
	for i := 0; i < 3; i++ {
		r := h.submitNeed(alice, needBody())
		if i < 2 {
			h.act(w, r.ID, "accept", nil, 200)
		}
		if i == 0 {
			h.act(w, r.ID, "start", nil, 200)
			h.act(w, r.ID, "resolve", map[string]any{"summary": "已办结", "service_minutes": 30}, 200)
			h.act(alice, r.ID, "rate", map[string]any{"score": 4}, 200)
		}
	}
	admin, _ := h.login("admin")
	r := h.do(req{method: "GET", path: "/api/v1/admin/stats", token: admin})
	var st model.Stats
	r.decode(t, &st)
	if r.Status != 200 || st.Requests.Total != 3 || st.Requests.ByStatus["closed"] != 1 || st.Requests.ByStatus["accepted"] != 1 ||
		st.Requests.ByStatus["dispatched"] != 1 || st.Requests.ByCategory["home_visit"] != 3 || st.ServicePersonTimes != 1 ||
		*st.Requests.AcceptedWithinSLAPct != 100 || st.SatisfactionAvg == nil || *st.SatisfactionAvg != 4 || len(st.ByStation) != 1 {
		t.Fatalf("city stats: %d %s", r.Status, r.Body)
	}
	gyAdmin := h.staff("gyadm", model.Role{Role: model.RoleStationAdmin, StationID: city.Gongyuan})
	r = h.do(req{method: "GET", path: "/api/v1/admin/stats", token: gyAdmin})
	r.decode(t, &st)
	if r.Status != 200 || st.Requests.Total != 0 || st.Requests.AcceptedWithinSLAPct != nil {
		t.Fatalf("other subtree: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "GET", path: fmt.Sprintf("/api/v1/admin/stats?station_id=%d", city.Beishan), token: gyAdmin}); r.Status != 403 {
		t.Fatalf("foreign station: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "GET", path: "/api/v1/admin/stats", token: w}); r.Status != 403 {
		t.Fatalf("social worker: %d %s", r.Status, r.Body)
	}
	bsAdmin := h.staff("bsadm", model.Role{Role: model.RoleStationAdmin, StationID: city.Beishan})
	from := time.Now().In(h.store.Loc).AddDate(0, 0, -1).Format("2006-01-02")
	to := url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
	r = h.do(req{method: "GET", path: "/api/v1/admin/stats?from=" + from + "&to=" + to, token: bsAdmin})
	r.decode(t, &st)
	if r.Status != 200 || st.Requests.Total != 3 {
		t.Fatalf("parent subtree: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "GET", path: "/api/v1/admin/stats?from=yesterday", token: admin}); r.Status != 400 || r.errorFields()["from"] == "" {
		t.Fatalf("bad from: %d %s", r.Status, r.Body)
	}
}
