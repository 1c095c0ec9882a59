package api

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"jindalai/model"
)

func TestCreateActivityPermissionsAndValidation(t *testing.T) {
	h := newHarness(t)
	city := h.actCity()
	org := h.organizer("org")
	resident, _ := h.login("resident")
	vol, _ := h.volunteer("vol", 0)
	orgAdmin, _ := h.login("orgadmin")
	orgAdmin = h.grant(orgAdmin, model.Role{Role: model.RoleOrgAdmin, OrgID: city.OrgElder})
	admin, _ := h.login("admin")

	for _, tok := range []string{resident, vol} {
		if r := h.do(req{method: "POST", path: "/api/v1/activities", token: tok, body: h.activityBody(nil)}); r.Status != http.StatusForbidden {
			t.Fatalf("create by a non-organizer: %d %s", r.Status, r.Body)
		}
	}
	for _, c := range []struct {
		token string
		set   map[string]any
		want  int
	}{
		{org, map[string]any{"station_id": city.Gongyuan}, http.StatusForbidden},
		{orgAdmin, nil, http.StatusForbidden},
		{orgAdmin, map[string]any{"station_id": nil, "org_id": city.OrgMed}, http.StatusForbidden},
		{orgAdmin, map[string]any{"station_id": nil, "org_id": city.OrgElder}, http.StatusCreated},
		{admin, map[string]any{"station_id": city.City}, http.StatusCreated},
		{admin, map[string]any{"station_id": 999999}, http.StatusBadRequest},
		{org, map[string]any{"org_id": city.OrgElder}, http.StatusBadRequest},
		{org, map[string]any{"signup_deadline": nil}, http.StatusCreated},
		{org, map[string]any{"category": "home_visit"}, http.StatusCreated},
		{org, map[string]any{"category": "no_such_service"}, http.StatusBadRequest},
	} {
		r := h.do(req{method: "POST", path: "/api/v1/activities", token: c.token, body: h.activityBody(c.set)})
		if r.Status != c.want {
			t.Fatalf("create %v: %d %s, want %d", c.set, r.Status, r.Body, c.want)
		}
	}
	now := h.clock.Now()
	for field, set := range map[string]map[string]any{
		"title":           {"title": ""},
		"category":        {"category": "养老"},
		"lat":             {"lat": 95.0},
		"address":         {"address": ""},
		"starts_at":       {"starts_at": "tomorrow"},
		"ends_at":         {"ends_at": now.Format(time.RFC3339)},
		"signup_deadline": {"signup_deadline": now.Add(20 * time.Minute).Format(time.RFC3339)},
		"capacity":        {"capacity": 0},
		"credited_hours":  {"credited_hours": 3},
	} {
		r := h.do(req{method: "POST", path: "/api/v1/activities", token: org, body: h.activityBody(set)})
		if r.Status != http.StatusBadRequest || r.errorFields()[field] == "" {
			t.Fatalf("create with %v: %d %s, want 400 naming %s", set, r.Status, r.Body, field)
		}
	}
	past := map[string]any{"starts_at": now.Add(-time.Hour).Format(time.RFC3339), "signup_deadline": now.Add(-2 * time.Hour).Format(time.RFC3339)}
	if r := h.do(req{method: "POST", path: "/api/v1/activities", token: org, body: h.activityBody(past)}); r.Status != http.StatusBadRequest {
		t.Fatalf("create in the past: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "POST", path: "/api/v1/activities", token: org, body: `{"title":"x","bogus":1}`}); r.Status != http.StatusBadRequest || r.errorFields()["bogus"] == "" {
		t.Fatalf("unknown field: %d %s", r.Status, r.Body)
	}

	body := h.activityBody(nil)
	hdr := map[string]string{"Idempotency-Key": "create-1"}
	r1 := h.do(req{method: "POST", path: "/api/v1/activities", token: org, body: body, header: hdr})
	r2 := h.do(req{method: "POST", path: "/api/v1/activities", token: org, body: body, header: hdr})
	if r1.Status != http.StatusCreated || string(r1.Body) != string(r2.Body) {
		t.Fatalf("idempotent create: %d %s / %d %s", r1.Status, r1.Body, r2.Status, r2.Body)
	}

	// Edits: organizers only, validated.
	var a model.Activity
	r1.decode(t, &a)
	path := fmt.Sprintf("/api/v1/activities/%d", a.ID)
	if r := h.do(req{method: "PATCH", path: path, token: orgAdmin, body: map[string]any{"title": "新标题"}}); r.Status != http.StatusForbidden {
		t.Fatalf("edit by another organizer: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "PATCH", path: path, token: org, body: map[string]any{"ends_at": now.Format(time.RFC3339)}}); r.Status != http.StatusBadRequest {
		t.Fatalf("edit ends before start: %d %s", r.Status, r.Body)
	}
	r := h.do(req{method: "PATCH", path: path, token: org, body: map[string]any{"title": "新标题", "waitlist": false}})
	r.decode(t, &a)
	if r.Status != http.StatusOK || a.Title != "新标题" || a.Waitlist {
		t.Fatalf("edit: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "GET", path: "/api/v1/activities/999999", token: org}); r.Status != http.StatusNotFound {
		t.Fatalf("unknown activity: %d %s", r.Status, r.Body)
	}
}

func TestListActivitiesNearestFirst(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	tok, _ := h.volunteer("browser", 0)
	now := h.clock.Now()
	// 0.009° of latitude is about 1 km.
	far := h.createActivity(org, map[string]any{"title": "3 km", "lat": placeLat + 0.027})
	near := h.createActivity(org, map[string]any{"title": "1 km", "lat": placeLat + 0.009, "capacity": 2})
	later := h.createActivity(org, map[string]any{"title": "2 km later", "lat": placeLat - 0.018,
		"starts_at": now.Add(48 * time.Hour).Format(time.RFC3339), "ends_at": now.Add(49 * time.Hour).Format(time.RFC3339),
		"signup_deadline": now.Add(47 * time.Hour).Format(time.RFC3339), "credited_hours": 1, "category": "child_welfare"})
	outside := h.createActivity(org, map[string]any{"title": "30 km", "lat": placeLat + 0.27})
	cancelled := h.createActivity(org, map[string]any{"title": "cancelled"})
	h.do(req{method: "POST", path: fmt.Sprintf("/api/v1/activities/%d/cancel", cancelled.ID), token: org, body: map[string]string{"reason": "取消"}})
	h.claim(tok, near.ID)

	list := func(query string) model.List[model.Activity] {
		t.Helper()
		r := h.do(req{method: "GET", path: "/api/v1/activities?" + query, token: tok})
		if r.Status != http.StatusOK {
			t.Fatalf("list %s: %d %s", query, r.Status, r.Body)
		}
		var l model.List[model.Activity]
		r.decode(t, &l)
		return l
	}
	ids := func(l model.List[model.Activity]) []int64 {
		out := []int64{}
		for _, a := range l.Items {
			out = append(out, a.ID)
		}
		return out
	}
	q := url.Values{"lat": {fmt.Sprint(placeLat)}, "lng": {fmt.Sprint(placeLng)}}
	l := list(q.Encode())
	if got, want := fmt.Sprint(ids(l)), fmt.Sprint([]int64{near.ID, later.ID, far.ID}); got != want {
		t.Fatalf("near list %s, want %s", got, want)
	}
	if d := *l.Items[0].DistanceM; d < 950 || d > 1050 || l.Items[0].Remaining != 1 {
		t.Fatalf("nearest: distance %d remaining %d", d, l.Items[0].Remaining)
	}
	q.Set("limit", "2")
	l = list(q.Encode())
	q.Set("cursor", l.NextCursor)
	l2 := list(q.Encode())
	if len(l.Items) != 2 || l.NextCursor == "" || fmt.Sprint(ids(l2)) != fmt.Sprint([]int64{far.ID}) || l2.NextCursor != "" {
		t.Fatalf("near pages %v / %v", ids(l), ids(l2))
	}
	q = url.Values{"lat": {fmt.Sprint(placeLat)}, "lng": {fmt.Sprint(placeLng)}, "radius_m": {"50000"}, "category": {"elder_care"}}
	if got := ids(list(q.Encode())); fmt.Sprint(got) != fmt.Sprint([]int64{near.ID, far.ID, outside.ID}) {
		t.Fatalf("wide elder_care list %v", got)
	}
	byTime := list("limit=3")
	if fmt.Sprint(ids(byTime)) != fmt.Sprint([]int64{far.ID, near.ID, outside.ID}) || byTime.NextCursor == "" {
		t.Fatalf("by time %v", ids(byTime))
	}
	rest := list("limit=3&cursor=" + byTime.NextCursor)
	if fmt.Sprint(ids(rest)) != fmt.Sprint([]int64{later.ID}) {
		t.Fatalf("by time, page 2 %v", ids(rest))
	}
	from := url.Values{"from": {now.Add(24 * time.Hour).Format(time.RFC3339)}}
	if got := ids(list(from.Encode())); fmt.Sprint(got) != fmt.Sprint([]int64{later.ID}) {
		t.Fatalf("from tomorrow %v", got)
	}
	for _, bad := range []string{"lat=42", "lat=x&lng=1", "lat=95&lng=1", "from=today", "radius_m=-1", "cursor=zzz", "category=养老", "category=no_such_service"} {
		if r := h.do(req{method: "GET", path: "/api/v1/activities?" + bad, token: tok}); r.Status != http.StatusBadRequest {
			t.Fatalf("list %s: %d %s", bad, r.Status, r.Body)
		}
	}
	// Ended activities leave the list.
	h.clock.Advance(3 * time.Hour)
	if got := ids(list("")); fmt.Sprint(got) != fmt.Sprint([]int64{later.ID}) {
		t.Fatalf("after 3 h %v", got)
	}
}

func TestOrganizationMembersAndHours(t *testing.T) {
	h := newHarness(t)
	city := h.actCity()
	org := h.organizer("org")
	member, memberID := h.volunteer("member", city.OrgElder)
	h.volunteer("outsider", city.OrgMed)
	admin5, _ := h.login("admin5")
	admin5 = h.grant(admin5, model.Role{Role: model.RoleOrgAdmin, OrgID: city.OrgElder})
	admin6, _ := h.login("admin6")
	admin6 = h.grant(admin6, model.Role{Role: model.RoleOrgAdmin, OrgID: city.OrgMed})
	membersPath := fmt.Sprintf("/api/v1/organizations/%d/members", city.OrgElder)
	hoursPath := fmt.Sprintf("/api/v1/organizations/%d/hours?", city.OrgElder)

	r := h.do(req{method: "GET", path: membersPath, token: admin5})
	var members model.List[model.Volunteer]
	r.decode(t, &members)
	if r.Status != http.StatusOK || len(members.Items) != 1 || members.Items[0].UserID != memberID ||
		members.Items[0].RealName != "张三丰" || members.Items[0].Phone != "13812345678" {
		t.Fatalf("members: %d %s", r.Status, r.Body)
	}
	for _, tok := range []string{admin6, member} {
		if r := h.do(req{method: "GET", path: membersPath, token: tok}); r.Status != http.StatusForbidden {
			t.Fatalf("members of another org: %d %s", r.Status, r.Body)
		}
	}

	a := h.createActivity(org, nil)
	h.claim(member, a.ID)
	h.onSite(member, a.ID, "checkin", at(placeLat, placeLng))
	h.clock.Advance(40 * time.Minute)
	h.onSite(member, a.ID, "checkout", at(placeLat, placeLng))

	now := h.clock.Now()
	q := url.Values{"from": {now.Add(-24 * time.Hour).Format(time.RFC3339)}, "to": {now.Add(time.Hour).Format(time.RFC3339)}}
	r = h.do(req{method: "GET", path: hoursPath + q.Encode(), token: admin5})
	var hours model.List[model.MemberHours]
	r.decode(t, &hours)
	if r.Status != http.StatusOK || len(hours.Items) != 1 || hours.Items[0].Minutes != 40 || hours.Items[0].Activities != 1 ||
		hours.Items[0].RealName != "张三丰" {
		t.Fatalf("org hours: %d %s", r.Status, r.Body)
	}
	q.Set("to", now.Add(-23*time.Hour).Format(time.RFC3339))
	r = h.do(req{method: "GET", path: hoursPath + q.Encode(), token: admin5})
	r.decode(t, &hours)
	if len(hours.Items) != 1 || hours.Items[0].Minutes != 0 {
		t.Fatalf("org hours of an earlier period: %s", r.Body)
	}
	q.Set("to", now.Add(-48*time.Hour).Format(time.RFC3339))
	if r := h.do(req{method: "GET", path: hoursPath + q.Encode(), token: admin5}); r.Status != http.StatusBadRequest {
		t.Fatalf("to before from: %d %s", r.Status, r.Body)
	}

	// The organizer sees the claimants' names in full; PATCH changes them.
	r = h.do(req{method: "GET", path: fmt.Sprintf("/api/v1/activities/%d/claims", a.ID), token: org})
	var claims model.List[model.Claim]
	r.decode(t, &claims)
	if r.Status != http.StatusOK || len(claims.Items) != 1 || claims.Items[0].Volunteer.Phone != "13812345678" {
		t.Fatalf("activity claims: %d %s", r.Status, r.Body)
	}
	var mine model.Volunteer
	h.do(req{method: "GET", path: "/api/v1/volunteers/me", token: member}).decode(t, &mine)
	if got := claims.Items[0].Volunteer.CreatedAt; !got.Equal(mine.CreatedAt) || got.Location().String() == "UTC" {
		t.Fatalf("the claimant registered at %v, the list says %s", mine.CreatedAt, r.Body)
	}
	r = h.do(req{method: "PATCH", path: "/api/v1/volunteers/me", token: member, body: map[string]any{"phone": "13700001111", "skills": []string{}}})
	var v model.Volunteer
	r.decode(t, &v)
	if r.Status != http.StatusOK || v.Phone != "137****1111" || len(v.Skills) != 0 || v.RealName != "张**" {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "PATCH", path: "/api/v1/volunteers/me", token: member, body: map[string]any{"phone": "12"}}); r.Status != http.StatusBadRequest {
		t.Fatalf("patch bad phone: %d %s", r.Status, r.Body)
	}
	resident, _ := h.login("nobody")
	if r := h.do(req{method: "GET", path: "/api/v1/volunteers/me", token: resident}); r.Status != http.StatusNotFound {
		t.Fatalf("me of a non-volunteer: %d %s", r.Status, r.Body)
	}
}
