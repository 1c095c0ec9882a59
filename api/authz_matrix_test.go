package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"jindalai/model"
)

// The authorization matrix: every registered route, called by every kind of
// caller, must answer the class written here. A route without a row fails
// the test, so a new route cannot ship without saying who may call it.

// class is what a caller may expect from a route.
type class int

const (
	// ok: the caller is let through (2xx, or 400/409 for the matrix's
	// empty or repeated bodies).
	ok class = iota
	// unauth: 401, not logged in.
	unauth
	// denied: 403, logged in without the role.
	denied
	// hidden: 404, someone else's object (or no such object for this caller).
	hidden
)

func (c class) String() string {
	return [...]string{"ok (2xx/400/409)", "401", "403", "404"}[c]
}

// classOf classifies a status; ok is false for statuses no caller should
// ever see from the matrix (5xx, 405, 413, 429).
func classOf(status int) (class, bool) {
	switch {
	case status >= 200 && status < 300, status == http.StatusBadRequest, status == http.StatusConflict:
		return ok, true
	case status == http.StatusUnauthorized:
		return unauth, true
	case status == http.StatusForbidden:
		return denied, true
	case status == http.StatusNotFound:
		return hidden, true
	}
	return 0, false
}

// The callers, in the order of a row: anonymous; a resident (who owns the
// fixture booking and message); a volunteer (who owns the fixture claim); a
// social worker of another station (公园); the station admin of the
// fixtures' station (北山); a city admin; the organization admin of 老年协会
// (the organization the matrix's /organizations/:id paths name), which
// organizes none of the fixtures and holds none of the fixture requests.
var matrixCallers = [...]string{"anonymous", "resident", "volunteer", "worker of another station", "station admin", "city admin",
	"org admin"}

// matrixRow is one route's expectations, in matrixCallers order. body is
// sent to POST/PUT/PATCH routes (default {}): a valid body where validation
// would otherwise answer 400 before the scope check. before runs before each
// call (fresh fixtures for routes that delete or end them).
type matrixRow struct {
	want   [7]class
	body   func(w *matrixWorld) any
	before func(w *matrixWorld, ids *matrixIDs)
}

func row(anon, resident, volunteer, otherWorker, stationAdmin, cityAdmin, orgAdmin class) matrixRow {
	return matrixRow{want: [7]class{anon, resident, volunteer, otherWorker, stationAdmin, cityAdmin, orgAdmin}}
}

// sending returns the row with a body for its calls.
func (r matrixRow) sending(body any) matrixRow {
	r.body = func(*matrixWorld) any { return body }
	return r
}

// freshly returns the row with a fixture refresh before each call.
func (r matrixRow) freshly(before func(w *matrixWorld, ids *matrixIDs)) matrixRow {
	r.before = before
	return r
}

var (
	public   = row(ok, ok, ok, ok, ok, ok, ok)
	anyUser  = row(unauth, ok, ok, ok, ok, ok, ok)
	cityOnly = row(unauth, denied, denied, denied, denied, ok, denied)
	// orgAdmins: an organization's members and hours, for its own admins.
	orgAdmins = row(unauth, denied, denied, denied, denied, ok, ok)
	// stationStaff: staff routes on an object of 北山 (the station, its
	// offerings, slots and activities, all public): its admin and the city
	// admin pass, a worker of another station or an org admin is refused
	// (403: the object is public, so saying it exists reveals nothing).
	stationStaff = row(unauth, denied, denied, denied, ok, ok, denied)
	// organizers: creating an activity (social workers, station and org
	// admins; the station or organization is in the body).
	organizers = row(unauth, denied, denied, ok, ok, ok, ok)
	// offeringCreators: creating a bookable offering of a station (its
	// social workers and admins; the station is in the body): an
	// organization has no offerings.
	offeringCreators = row(unauth, denied, denied, ok, ok, ok, denied)
	// requestStaff: the dispatch queue and task lists of social workers and
	// station or organization admins.
	requestStaff = row(unauth, denied, denied, ok, ok, ok, ok)
	// requestTask: a staff action on the fixture request: its station's
	// staff pass; a worker of another station, or an org admin whose
	// organization does not hold it, does not see it.
	requestTask = row(unauth, denied, denied, hidden, ok, ok, hidden)
	// volunteerOnly: what only the volunteer with the fixture claim may do.
	volunteerOnly = row(unauth, hidden, ok, hidden, hidden, hidden, hidden)
)

var authzMatrix = map[string]matrixRow{
	"GET /healthz":      public,
	"GET /readyz":       public,
	"GET /metrics":      public,
	"GET /openapi.yaml": public,

	"POST /api/v1/auth/wechat/login": public,
	"POST /api/v1/auth/wechat/phone": anyUser,
	"POST /api/v1/auth/logout":       anyUser,
	"GET /api/v1/me":                 anyUser,
	"PATCH /api/v1/me":               anyUser,
	"POST /api/v1/me/roles":          anyUser,
	"POST /api/v1/admin/invites":     row(unauth, denied, denied, denied, ok, ok, denied),

	"GET /api/v1/categories":                  public,
	"GET /api/v1/stations":                    public,
	"GET /api/v1/stations/:id":                public,
	"GET /api/v1/organizations":               public,
	"GET /api/v1/organizations/:id":           public,
	"POST /api/v1/admin/stations":             cityOnly,
	"PATCH /api/v1/admin/stations/:id":        cityOnly,
	"POST /api/v1/admin/organizations":        cityOnly,
	"PATCH /api/v1/admin/organizations/:id":   cityOnly,
	"POST /api/v1/admin/categories":           cityOnly,
	"PATCH /api/v1/admin/categories/:code":    cityOnly,
	"GET /api/v1/organizations/:id/members":   orgAdmins,
	"GET /api/v1/organizations/:id/hours":     orgAdmins,
	"GET /api/v1/admin/stations/:id/bookings": stationStaff,

	"GET /api/v1/admin/stations/:id/closed-dates":          stationStaff,
	"POST /api/v1/admin/stations/:id/closed-dates":         stationStaff.sending(map[string]any{"date": "2031-02-03", "reason": "盘点"}),
	"DELETE /api/v1/admin/stations/:id/closed-dates/:date": stationStaff.freshly((*matrixWorld).freshClosedDate),
	"POST /api/v1/admin/services":                          offeringCreators,
	"PATCH /api/v1/admin/services/:id":                     stationStaff.sending(map[string]any{"name": "心理咨询（周二）"}),
	"POST /api/v1/admin/services/:id/slots":                {want: stationStaff.want, body: (*matrixWorld).slotBody},
	"POST /api/v1/admin/services/:id/slots/pattern": stationStaff.sending(map[string]any{"from": "2031-03-03", "to": "2031-03-09",
		"weekdays": []int{2}, "times": []map[string]string{{"start": "14:00", "end": "15:00"}}, "capacity": 3}),
	"DELETE /api/v1/admin/slots/:id":      stationStaff.freshly((*matrixWorld).freshSlot),
	"POST /api/v1/admin/slots/:id/cancel": stationStaff.sending(map[string]any{"reason": "社工外出"}).freshly((*matrixWorld).freshSlot),

	"GET /api/v1/services":              anyUser,
	"GET /api/v1/services/:id/slots":    anyUser,
	"POST /api/v1/bookings":             anyUser,
	"GET /api/v1/bookings":              anyUser,
	"GET /api/v1/bookings/:id":          row(unauth, ok, hidden, hidden, ok, ok, hidden),
	"POST /api/v1/bookings/:id/cancel":  row(unauth, ok, hidden, hidden, ok, ok, hidden),
	"POST /api/v1/bookings/:id/attend":  row(unauth, denied, denied, hidden, ok, ok, denied),
	"POST /api/v1/bookings/:id/no-show": row(unauth, denied, denied, hidden, ok, ok, denied),
	"GET /api/v1/me/messages":           anyUser,
	"POST /api/v1/me/messages/read-all": anyUser,
	"POST /api/v1/me/messages/:id/read": row(unauth, ok, hidden, hidden, hidden, hidden, hidden),
	"GET /api/v1/me/subscriptions":      anyUser,
	"POST /api/v1/me/subscriptions":     anyUser,
	"POST /api/v1/volunteers":           anyUser,
	"GET /api/v1/volunteers/me":         volunteerOnly,
	"PATCH /api/v1/volunteers/me":       volunteerOnly.sending(map[string]any{"skills": []string{"陪伴"}}),
	"GET /api/v1/me/hours":              anyUser,
	"GET /api/v1/me/claims":             anyUser,

	"GET /api/v1/activities":                              anyUser,
	"GET /api/v1/activities/:id":                          anyUser,
	"POST /api/v1/activities":                             organizers,
	"PATCH /api/v1/activities/:id":                        stationStaff,
	"POST /api/v1/activities/:id/cancel":                  stationStaff.sending(map[string]any{"reason": "天气原因"}).freshly((*matrixWorld).freshActivity),
	"GET /api/v1/activities/:id/checkin-code":             stationStaff,
	"GET /api/v1/activities/:id/claims":                   stationStaff,
	"PUT /api/v1/activities/:id/claims/:claim_id/minutes": stationStaff.sending(map[string]any{"minutes": 90, "reason": "提前到场"}),
	// Claiming needs the volunteer role itself: a city admin is not one.
	"POST /api/v1/activities/:id/claims":        row(unauth, denied, ok, denied, denied, denied, denied),
	"POST /api/v1/activities/:id/claims/cancel": volunteerOnly.freshly((*matrixWorld).freshClaim),
	"POST /api/v1/activities/:id/checkin":       row(unauth, denied, ok, denied, denied, hidden, denied).sending(at(placeLat, placeLng)),
	"POST /api/v1/activities/:id/checkout":      row(unauth, denied, ok, denied, denied, hidden, denied).sending(at(placeLat, placeLng)),

	// The fixture request is the resident's, dispatched to 北山: private, so
	// callers who may not see it get 404; its station's staff see it but may
	// not cancel or rate it for the resident (403).
	"POST /api/v1/requests":              anyUser,
	"GET /api/v1/requests":               anyUser,
	"GET /api/v1/requests/:id":           row(unauth, ok, hidden, hidden, ok, ok, hidden),
	"POST /api/v1/requests/:id/cancel":   row(unauth, ok, hidden, hidden, denied, denied, hidden).sending(map[string]any{"reason": "已经解决了"}).freshly((*matrixWorld).freshRequest),
	"POST /api/v1/requests/:id/rate":     row(unauth, ok, hidden, hidden, denied, denied, hidden).sending(map[string]any{"score": 5}),
	"GET /api/v1/queue":                  requestStaff,
	"GET /api/v1/tasks":                  requestStaff,
	"POST /api/v1/requests/:id/accept":   requestTask.freshly((*matrixWorld).freshRequest),
	"POST /api/v1/requests/:id/reject":   requestTask.sending(map[string]any{"reason": "不在服务范围"}).freshly((*matrixWorld).freshRequest),
	"POST /api/v1/requests/:id/transfer": requestTask.sending(map[string]any{"station_id": 3, "reason": "转公园站"}).freshly((*matrixWorld).freshRequest),
	"POST /api/v1/requests/:id/start":    requestTask,
	"POST /api/v1/requests/:id/resolve":  requestTask.sending(map[string]any{"summary": "已上门探访", "service_minutes": 60}),
	"POST /api/v1/requests/:id/notes":    requestTask.sending(map[string]any{"text": "老人独居，需定期回访"}),
	"GET /api/v1/admin/stats":            row(unauth, denied, denied, denied, ok, ok, denied),
}

// matrixIDs are the fixtures a route's path parameters name.
type matrixIDs struct {
	offering, slot, booking, message, activity, claim int64
	request                                           int64
	date                                              string
}

// matrixWorld holds the fixtures the matrix's paths point at.
type matrixWorld struct {
	h            *harness
	city         testCity
	codes        [7]string
	ids          matrixIDs
	stationAdmin string
	slots        int
}

func newMatrixWorld(t testing.TB) *matrixWorld {
	h := newHarness(t)
	w := &matrixWorld{h: h, city: h.actCity()}
	w.codes = [7]string{"", "mx_resident", "mx_volunteer", "mx_worker", "mx_admin", "admin", "mx_orgadmin"}
	resident, _ := h.login(w.codes[1])
	vol, _ := h.volunteer(w.codes[2], 0)
	worker, _ := h.login(w.codes[3])
	h.grant(worker, model.Role{Role: model.RoleSocialWorker, StationID: w.city.Gongyuan})
	sa, _ := h.login(w.codes[4])
	w.stationAdmin = h.grant(sa, model.Role{Role: model.RoleStationAdmin, StationID: w.city.Beishan})
	oa, _ := h.login(w.codes[6])
	h.grant(oa, model.Role{Role: model.RoleOrgAdmin, OrgID: w.city.OrgElder})

	r := h.do(req{method: "POST", path: "/api/v1/admin/services", token: w.stationAdmin, body: map[string]any{
		"station_id": w.city.Beishan, "name": "心理咨询", "category": "counselling", "duration_min": 60}})
	if r.Status != http.StatusCreated {
		t.Fatalf("offering: %d %s", r.Status, r.Body)
	}
	var o model.Offering
	r.decode(t, &o)
	w.ids.offering = o.ID
	w.ids.slot = w.newSlot()
	w.ids.date = "2031-01-06"
	r = h.do(req{method: "POST", path: "/api/v1/bookings", token: resident, body: map[string]any{"slot_id": w.ids.slot}})
	if r.Status != http.StatusCreated {
		t.Fatalf("booking: %d %s", r.Status, r.Body)
	}
	var b model.Booking
	r.decode(t, &b)
	w.ids.booking = b.ID
	r = h.do(req{method: "GET", path: "/api/v1/me/messages", token: resident})
	var inbox struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	r.decode(t, &inbox)
	if len(inbox.Items) == 0 {
		t.Fatalf("the resident has no message: %s", r.Body)
	}
	w.ids.message = inbox.Items[0].ID
	w.ids.activity = w.newActivity()
	r = h.claim(vol, w.ids.activity)
	if r.Status != http.StatusCreated {
		t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
	var c model.Claim
	r.decode(t, &c)
	w.ids.claim = c.ID
	w.ids.request = w.newRequest()
	return w
}

// newRequest submits a need of the resident that only 北山 serves nearby, so
// it is dispatched to 北山.
func (w *matrixWorld) newRequest() int64 {
	w.h.t.Helper()
	resident, _ := w.h.login(w.codes[1])
	r := w.h.do(req{method: "POST", path: "/api/v1/requests", token: resident, body: map[string]any{
		"category": "low_income", "description": "想了解低保申请条件", "address": "北山街道", "lat": 42.917, "lng": 129.505,
		"urgency": "normal"}})
	if r.Status != http.StatusCreated {
		w.h.t.Fatalf("request: %d %s", r.Status, r.Body)
	}
	var out struct {
		ID int64 `json:"id"`
	}
	r.decode(w.h.t, &out)
	return out.ID
}

func (w *matrixWorld) freshRequest(ids *matrixIDs) { ids.request = w.newRequest() }

// slotBody is a new slot of the fixture offering, a different hour each time.
func (w *matrixWorld) slotBody() any {
	w.slots++
	start := w.h.clock.Now().Add(time.Duration(72+w.slots) * time.Hour).Truncate(time.Minute)
	return map[string]any{"starts_at": start.Format(time.RFC3339), "ends_at": start.Add(time.Hour).Format(time.RFC3339), "capacity": 5}
}

// newSlot creates a slot of the fixture offering.
func (w *matrixWorld) newSlot() int64 {
	w.h.t.Helper()
	r := w.h.do(req{method: "POST", path: fmt.Sprintf("/api/v1/admin/services/%d/slots", w.ids.offering), token: w.stationAdmin,
		body: w.slotBody()})
	if r.Status != http.StatusCreated {
		w.h.t.Fatalf("slot: %d %s", r.Status, r.Body)
	}
	var sl model.Slot
	r.decode(w.h.t, &sl)
	return sl.ID
}

// newActivity publishes an activity of 北山 in two days.
func (w *matrixWorld) newActivity() int64 {
	now := w.h.clock.Now()
	return w.h.createActivity(w.stationAdmin, map[string]any{
		"starts_at":       now.Add(48 * time.Hour).Format(time.RFC3339),
		"ends_at":         now.Add(50 * time.Hour).Format(time.RFC3339),
		"signup_deadline": now.Add(47 * time.Hour).Format(time.RFC3339),
	}).ID
}

func (w *matrixWorld) freshSlot(ids *matrixIDs)     { ids.slot = w.newSlot() }
func (w *matrixWorld) freshActivity(ids *matrixIDs) { ids.activity = w.newActivity() }

// freshClaim makes a new activity that the volunteer claims.
func (w *matrixWorld) freshClaim(ids *matrixIDs) {
	ids.activity = w.newActivity()
	vol, _ := w.h.login(w.codes[2])
	if r := w.h.claim(vol, ids.activity); r.Status != http.StatusCreated {
		w.h.t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
}

// freshClosedDate closes 北山 on the fixture date (again).
func (w *matrixWorld) freshClosedDate(ids *matrixIDs) {
	r := w.h.do(req{method: "POST", path: fmt.Sprintf("/api/v1/admin/stations/%d/closed-dates", w.city.Beishan), token: w.stationAdmin,
		body: map[string]any{"date": ids.date, "reason": "盘点"}})
	if r.Status >= 300 && r.Status != http.StatusConflict {
		w.h.t.Fatalf("closed date: %d %s", r.Status, r.Body)
	}
}

// path fills a gin route's parameters with the fixtures' ids.
func (w *matrixWorld) path(route string, ids matrixIDs) string {
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if !strings.HasPrefix(p, ":") {
			continue
		}
		owner := parts[i-1]
		var v any
		switch {
		case p == ":claim_id":
			v = ids.claim
		case p == ":code":
			v = "home_visit"
		case p == ":date":
			v = ids.date
		case owner == "activities":
			v = ids.activity
		case owner == "organizations":
			v = w.city.OrgElder
		case owner == "services":
			v = ids.offering
		case owner == "slots":
			v = ids.slot
		case owner == "stations":
			v = w.city.Beishan
		case owner == "bookings":
			v = ids.booking
		case owner == "messages":
			v = ids.message
		case owner == "requests":
			v = ids.request
		default:
			w.h.t.Fatalf("route %s: no fixture for %s", route, p)
		}
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "/")
}

func TestAuthorizationMatrix(t *testing.T) {
	w := newMatrixWorld(t)
	handler, err := w.h.server.Handler()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, rt := range handler.(*gin.Engine).Routes() {
		key := rt.Method + " " + rt.Path
		seen[key] = true
		want, found := authzMatrix[key]
		if !found {
			t.Errorf("%s has no row in the authorization matrix (api/authz_matrix_test.go): say who may call it", key)
			continue
		}
		for i, caller := range matrixCallers {
			ids := w.ids
			if want.before != nil {
				want.before(w, &ids)
			}
			token := ""
			if w.codes[i] != "" {
				token, _ = w.h.login(w.codes[i])
			}
			var body any
			if rt.Method == "POST" || rt.Method == "PUT" || rt.Method == "PATCH" {
				body = map[string]any{}
				if want.body != nil {
					body = want.body(w)
				}
			}
			r := w.h.do(req{method: rt.Method, path: w.path(rt.Path, ids), token: token, body: body})
			got, known := classOf(r.Status)
			if !known || got != want.want[i] {
				t.Errorf("%s as %s: %d %s, want %v", key, caller, r.Status, r.Body, want.want[i])
			}
		}
	}
	for key := range authzMatrix {
		if !seen[key] {
			t.Errorf("the matrix has a row for %s, which is not a route", key)
		}
	}
}

// TestOrgAdminOrganizesItsOwnActivities is the matrix's org admin column
// seen from its own side: on an activity of its organization, every
// organizer route lets it through, while the admin of another organization
// and the staff of a station are refused (403), and it may not publish for
// another organization or a station.
func TestOrgAdminOrganizesItsOwnActivities(t *testing.T) {
	h := newHarness(t)
	city := h.actCity()
	own, _ := h.login("oa_elder")
	own = h.grant(own, model.Role{Role: model.RoleOrgAdmin, OrgID: city.OrgElder})
	other, _ := h.login("oa_med")
	other = h.grant(other, model.Role{Role: model.RoleOrgAdmin, OrgID: city.OrgMed})
	stationAdmin, _ := h.login("sa_beishan")
	stationAdmin = h.grant(stationAdmin, model.Role{Role: model.RoleStationAdmin, StationID: city.Beishan})

	for _, c := range []struct {
		name  string
		token string
		set   map[string]any
		want  int
	}{
		{"org admin for another organization", own, map[string]any{"station_id": nil, "org_id": city.OrgMed}, http.StatusForbidden},
		{"org admin for a station", own, nil, http.StatusForbidden},
		{"station admin for an organization", stationAdmin, map[string]any{"station_id": nil, "org_id": city.OrgElder}, http.StatusForbidden},
	} {
		if r := h.do(req{method: "POST", path: "/api/v1/activities", token: c.token, body: h.activityBody(c.set)}); r.Status != c.want {
			t.Errorf("publish, %s: %d %s, want %d", c.name, r.Status, r.Body, c.want)
		}
	}

	a := h.createActivity(own, map[string]any{"station_id": nil, "org_id": city.OrgElder})
	vol, _ := h.volunteer("oa_vol", city.OrgElder)
	r := h.claim(vol, a.ID)
	if r.Status != http.StatusCreated {
		t.Fatalf("claim: %d %s", r.Status, r.Body)
	}
	var claim model.Claim
	r.decode(t, &claim)
	base := fmt.Sprintf("/api/v1/activities/%d", a.ID)
	routes := []struct {
		method, path string
		body         any
	}{
		{"PATCH", base, map[string]any{"title": "敬老院探访"}},
		{"GET", base + "/checkin-code", nil},
		{"GET", base + "/claims", nil},
		{"PUT", fmt.Sprintf("%s/claims/%d/minutes", base, claim.ID), map[string]any{"minutes": 90, "reason": "提前到场"}},
		{"POST", base + "/cancel", map[string]any{"reason": "天气原因"}},
	}
	for _, rt := range routes {
		for _, c := range []struct {
			name  string
			token string
		}{{"another organization's admin", other}, {"a station admin", stationAdmin}} {
			if r := h.do(req{method: rt.method, path: rt.path, token: c.token, body: rt.body}); r.Status != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d %s, want 403", rt.method, rt.path, c.name, r.Status, r.Body)
			}
		}
		// The same body the others were refused with: a 409 here (minutes
		// before the start) is the state check after the scope check passed.
		r := h.do(req{method: rt.method, path: rt.path, token: own, body: rt.body})
		if got, known := classOf(r.Status); !known || got != ok {
			t.Errorf("%s %s as its org admin: %d %s, want %v", rt.method, rt.path, r.Status, r.Body, ok)
		}
	}
}
