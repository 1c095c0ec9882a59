package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"jindalai/model"
)

// changeWorld is an activity of capacity 2 with two confirmed volunteers
// (ids[0], ids[2]: ids[2] was promoted when ids[1] cancelled), one
// waitlisted (ids[3]), one who cancelled (ids[1]) and one who never claimed
// (ids[4]).
type changeWorld struct {
	*harness
	org    string
	tokens []string
	ids    []int64
	act    model.Activity
}

func newChangeWorld(t *testing.T) changeWorld {
	h := newHarness(t)
	w := changeWorld{harness: h, org: h.organizer("org")}
	w.tokens, w.ids = h.volunteers("chg", 5)
	w.act = h.createActivity(w.org, map[string]any{"capacity": 2})
	for i := range 4 {
		if r := h.claim(w.tokens[i], w.act.ID); r.Status != http.StatusCreated {
			t.Fatalf("claim %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := h.do(req{method: "POST", path: fmt.Sprintf("/api/v1/activities/%d/claims/cancel", w.act.ID), token: w.tokens[1]})
	if r.Status != http.StatusOK {
		t.Fatalf("cancel claim: %d %s", r.Status, r.Body)
	}
	return w
}

func (w changeWorld) patch(body map[string]any) reply {
	return w.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/activities/%d", w.act.ID), token: w.org, body: body})
}

// wantChanged fails unless exactly the live claimants got n activity_changed each.
func (w changeWorld) wantChanged(n int) {
	w.t.Helper()
	got := w.notificationsOf("activity_changed")
	if n == 0 {
		if len(got) != 0 {
			w.t.Fatalf("activity_changed to %v, want none", got)
		}
		return
	}
	if len(got) != 3 || got[w.ids[0]] != n || got[w.ids[2]] != n || got[w.ids[3]] != n {
		w.t.Fatalf("activity_changed to %v, want %d each to %d, %d and %d (not %d, %d)",
			got, n, w.ids[0], w.ids[2], w.ids[3], w.ids[1], w.ids[4])
	}
}

// lastChange returns the newest activity_changed message of a volunteer.
func (w changeWorld) lastChange(token string) model.Message {
	w.t.Helper()
	r := w.do(req{method: "GET", path: "/api/v1/me/messages", token: token})
	var inbox model.Inbox
	r.decode(w.t, &inbox)
	for _, m := range inbox.Items {
		if m.Kind == "activity_changed" {
			return m
		}
	}
	w.t.Fatalf("no activity_changed message: %s", r.Body)
	return model.Message{}
}

func TestActivityTimeChangeNotifiesLiveClaimants(t *testing.T) {
	w := newChangeWorld(t)
	loc := w.store.Loc
	start, end := w.act.StartsAt.Add(time.Hour), w.act.EndsAt.Add(time.Hour)
	r := w.patch(map[string]any{"starts_at": start.Format(time.RFC3339), "ends_at": end.Format(time.RFC3339)})
	if r.Status != http.StatusOK {
		t.Fatalf("move the activity: %d %s", r.Status, r.Body)
	}
	w.wantChanged(1)
	m := w.lastChange(w.tokens[3])
	oldStart, newStart := w.act.StartsAt.In(loc).Format("2006-01-02 15:04"), start.In(loc).Format("2006-01-02 15:04")
	if m.Title != "活动时间有变" || !strings.Contains(m.Body, "由 "+oldStart) || !strings.Contains(m.Body, "改为 "+newStart) ||
		!strings.Contains(m.Body, w.act.Title) {
		t.Fatalf("message: %+v", m)
	}
	if m.Data["title"] != w.act.Title || m.Data["time"] != newStart || m.Data["place"] != w.act.Address ||
		!strings.Contains(m.Data["note"], newStart) {
		t.Fatalf("data: %v", m.Data)
	}
	if m.RefType != "activity" || m.RefID != w.act.ID || m.Page != fmt.Sprintf("pages/activity/detail?id=%d", w.act.ID) {
		t.Fatalf("ref: %+v", m)
	}
}

func TestActivityEditsBesideTimeAndPlaceNotifyNobody(t *testing.T) {
	w := newChangeWorld(t)
	for _, body := range []map[string]any{
		{"description": "新的说明"},
		{"title": "社区助老志愿服务（二）", "credited_hours": 1, "waitlist": false},
		{"capacity": 5},
		{"starts_at": w.act.StartsAt.Format(time.RFC3339), "address": w.act.Address, "lat": w.act.Lat},
	} {
		if r := w.patch(body); r.Status != http.StatusOK {
			t.Fatalf("edit %v: %d %s", body, r.Status, r.Body)
		}
	}
	w.wantChanged(0)
	if n := w.notificationsOf("claim_promoted"); n[w.ids[3]] != 1 {
		t.Fatalf("claim_promoted %v, want the waitlisted %d promoted by the capacity", n, w.ids[3])
	}
}

func TestActivityPlaceChangesNotify(t *testing.T) {
	w := newChangeWorld(t)
	if r := w.patch(map[string]any{"address": "进学街道文化活动中心"}); r.Status != http.StatusOK {
		t.Fatalf("new address: %d %s", r.Status, r.Body)
	}
	w.wantChanged(1)
	m := w.lastChange(w.tokens[0])
	if m.Title != "活动地点有变" || !strings.Contains(m.Body, "由 进学街道社工站 改为 进学街道文化活动中心") ||
		m.Data["place"] != "进学街道文化活动中心" {
		t.Fatalf("address change: %+v", m)
	}
	if r := w.patch(map[string]any{"lat": placeLat + 0.001, "lng": placeLng + 0.001}); r.Status != http.StatusOK {
		t.Fatalf("new coordinates: %d %s", r.Status, r.Body)
	}
	w.wantChanged(2)
	if m := w.lastChange(w.tokens[0]); m.Title != "活动地点有变" || !strings.Contains(m.Body, "地图位置已调整") {
		t.Fatalf("coordinates change: %+v", m)
	}
	r := w.patch(map[string]any{"ends_at": w.act.EndsAt.Add(30 * time.Minute).Format(time.RFC3339), "address": "北山社区"})
	if r.Status != http.StatusOK {
		t.Fatalf("new end and address: %d %s", r.Status, r.Body)
	}
	w.wantChanged(3)
	if m := w.lastChange(w.tokens[2]); m.Title != "活动时间和地点有变" || !strings.Contains(m.Body, "时间由") ||
		!strings.Contains(m.Body, "地点由 进学街道文化活动中心 改为 北山社区") {
		t.Fatalf("time and place change: %+v", m)
	}
}

func TestRefusedActivityChangeNotifiesNobody(t *testing.T) {
	w := newChangeWorld(t)
	later := w.act.StartsAt.Add(time.Hour).Format(time.RFC3339)
	r := w.patch(map[string]any{"starts_at": later, "ends_at": w.act.EndsAt.Add(time.Hour).Format(time.RFC3339), "capacity": 1})
	if r.Status != http.StatusConflict || r.errorCode() != model.CodeFailedPrecondition {
		t.Fatalf("capacity below confirmed: %d %s", r.Status, r.Body)
	}
	if r := w.patch(map[string]any{"address": "北山社区", "ends_at": w.act.StartsAt.Format(time.RFC3339)}); r.Status != http.StatusBadRequest {
		t.Fatalf("end before start: %d %s", r.Status, r.Body)
	}
	r = w.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/activities/%d", w.act.ID), token: w.tokens[0],
		body: map[string]any{"address": "北山社区"}})
	if r.Status != http.StatusForbidden {
		t.Fatalf("edit by a volunteer: %d %s", r.Status, r.Body)
	}
	w.wantChanged(0)
	var a model.Activity
	w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/activities/%d", w.act.ID), token: w.org}).decode(t, &a)
	if a.Address != w.act.Address || !a.StartsAt.Equal(w.act.StartsAt) || a.Capacity != 2 {
		t.Fatalf("activity after refused edits: %+v", a)
	}
}
