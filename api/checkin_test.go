package api

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"jindalai/model"
)

func (h *harness) onSite(token string, activityID int64, action string, body any) reply {
	return h.do(req{method: "POST", path: fmt.Sprintf("/api/v1/activities/%d/%s", activityID, action), token: token, body: body})
}

func at(lat, lng float64) map[string]float64 { return map[string]float64{"lat": lat, "lng": lng} }

func TestCheckinByLocation(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	tokens, _ := h.volunteers("loc", 3)
	a := h.createActivity(org, map[string]any{"capacity": 1})
	h.claim(tokens[0], a.ID)
	h.claim(tokens[1], a.ID)

	r := h.onSite(tokens[0], a.ID, "checkin", at(farLat, farLng))
	if r.Status != http.StatusConflict || r.errorCode() != model.CodeFailedPrecondition {
		t.Fatalf("check-in 5 km away: %d %s", r.Status, r.Body)
	}
	r = h.onSite(tokens[0], a.ID, "checkin", at(placeLat+0.001, placeLng))
	var c model.Claim
	r.decode(t, &c)
	if r.Status != http.StatusOK || c.CheckedInAt == nil || c.CheckinMethod != "location" {
		t.Fatalf("check-in at the place: %d %s", r.Status, r.Body)
	}
	if r := h.onSite(tokens[0], a.ID, "checkin", at(placeLat, placeLng)); r.Status != http.StatusConflict {
		t.Fatalf("second check-in: %d %s", r.Status, r.Body)
	}
	if r := h.onSite(tokens[1], a.ID, "checkin", at(placeLat, placeLng)); r.Status != http.StatusConflict {
		t.Fatalf("waitlisted check-in: %d %s", r.Status, r.Body)
	}
	if r := h.onSite(tokens[2], a.ID, "checkin", at(placeLat, placeLng)); r.Status != http.StatusNotFound {
		t.Fatalf("check-in without a claim: %d %s", r.Status, r.Body)
	}
	for _, body := range []any{map[string]any{}, map[string]any{"lat": placeLat}, map[string]any{"lat": 1.0, "lng": 2.0, "code": "123456"},
		map[string]any{"lat": 91.0, "lng": 2.0}} {
		if r := h.onSite(tokens[0], a.ID, "checkin", body); r.Status != http.StatusBadRequest || len(r.errorFields()) == 0 {
			t.Fatalf("check-in with %v: %d %s", body, r.Status, r.Body)
		}
	}
	if r := h.do(req{method: "POST", path: fmt.Sprintf("/api/v1/activities/%d/claims/cancel", a.ID), token: tokens[0]}); r.Status != http.StatusConflict {
		t.Fatalf("cancel a checked-in claim: %d %s", r.Status, r.Body)
	}
}

func TestCheckinWindow(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	tok, _ := h.volunteer("win", 0)
	now := h.clock.Now()
	a := h.createActivity(org, map[string]any{
		"starts_at":       now.Add(2 * time.Hour).Format(time.RFC3339),
		"ends_at":         now.Add(3 * time.Hour).Format(time.RFC3339),
		"signup_deadline": now.Add(time.Hour).Format(time.RFC3339),
		"credited_hours":  1,
	})
	h.claim(tok, a.ID)
	if r := h.onSite(tok, a.ID, "checkin", at(placeLat, placeLng)); r.Status != http.StatusConflict {
		t.Fatalf("check-in 2 h before the start: %d %s", r.Status, r.Body)
	}
	h.clock.Advance(3*time.Hour + time.Second)
	if r := h.onSite(tok, a.ID, "checkin", at(placeLat, placeLng)); r.Status != http.StatusConflict {
		t.Fatalf("check-in after the end: %d %s", r.Status, r.Body)
	}
}

// TestCheckoutNotBeforeTheStart: a volunteer who checked in early cannot
// check out before the start (a check-out is final and would credit
// nothing); from the start on, the minutes since the check-in count.
func TestCheckoutNotBeforeTheStart(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	tok, _ := h.volunteer("early", 0)
	a := h.createActivity(org, nil) // starts in 10 minutes
	h.claim(tok, a.ID)
	if r := h.onSite(tok, a.ID, "checkin", at(placeLat, placeLng)); r.Status != http.StatusOK {
		t.Fatalf("check-in 10 minutes early: %d %s", r.Status, r.Body)
	}
	h.clock.Advance(9 * time.Minute)
	r := h.onSite(tok, a.ID, "checkout", at(placeLat, placeLng))
	if r.Status != http.StatusConflict || r.errorCode() != model.CodeFailedPrecondition {
		t.Fatalf("check-out before the start: %d %s", r.Status, r.Body)
	}
	h.clock.Advance(21 * time.Minute)
	r = h.onSite(tok, a.ID, "checkout", at(placeLat, placeLng))
	var c model.Claim
	r.decode(t, &c)
	if r.Status != http.StatusOK || c.CreditedMinutes != 30 {
		t.Fatalf("check-out 20 minutes after the start: %d %s", r.Status, r.Body)
	}
}

// TestCancelChecksOutTheVolunteersOnSite: cancelling an activity under way
// checks out the volunteers on site, credited the minutes served so far (a
// cancelled activity takes no check-out); one who never checked in gets
// nothing.
func TestCancelChecksOutTheVolunteersOnSite(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	tokens, _ := h.volunteers("cut", 2)
	a := h.createActivity(org, nil) // starts in 10 minutes, 2 credited hours
	h.claim(tokens[0], a.ID)
	h.claim(tokens[1], a.ID)
	h.clock.Advance(10 * time.Minute)
	if r := h.onSite(tokens[0], a.ID, "checkin", at(placeLat, placeLng)); r.Status != http.StatusOK {
		t.Fatalf("check-in: %d %s", r.Status, r.Body)
	}
	h.clock.Advance(25 * time.Minute)
	r := h.do(req{method: "POST", path: fmt.Sprintf("/api/v1/activities/%d/cancel", a.ID), token: org,
		body: map[string]string{"reason": "暴雨，提前结束"}})
	if r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	for i, want := range []int64{25, 0} {
		var hours model.Hours
		r := h.do(req{method: "GET", path: "/api/v1/me/hours", token: tokens[i]})
		r.decode(t, &hours)
		if r.Status != http.StatusOK || hours.TotalMinutes != want {
			t.Fatalf("volunteer %d's hours after the cancel: %d %s, want %d minutes", i, r.Status, r.Body, want)
		}
	}
	if r := h.onSite(tokens[0], a.ID, "checkout", at(placeLat, placeLng)); r.Status != http.StatusConflict {
		t.Fatalf("check-out of the cancelled activity: %d %s", r.Status, r.Body)
	}
}

func TestCheckinCode(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	tokens, _ := h.volunteers("code", 3)
	other, _ := h.login("other-station")
	other = h.grant(other, model.Role{Role: model.RoleSocialWorker, StationID: h.actCity().Gongyuan})
	a := h.createActivity(org, nil)
	for _, tok := range tokens {
		h.claim(tok, a.ID)
	}
	codePath := fmt.Sprintf("/api/v1/activities/%d/checkin-code", a.ID)
	for _, tok := range []string{tokens[0], other} {
		if r := h.do(req{method: "GET", path: codePath, token: tok}); r.Status != http.StatusForbidden {
			t.Fatalf("code read by a non-organizer: %d %s", r.Status, r.Body)
		}
	}
	code := func() model.CheckinCode {
		r := h.do(req{method: "GET", path: codePath, token: org})
		var cc model.CheckinCode
		r.decode(t, &cc)
		if r.Status != http.StatusOK || len(cc.Code) != 6 {
			t.Fatalf("code: %d %s", r.Status, r.Body)
		}
		return cc
	}
	first := code()
	if again := code(); again != first {
		t.Fatalf("code changed within its minute: %v then %v", first, again)
	}
	if r := h.onSite(tokens[0], a.ID, "checkin", map[string]string{"code": wrongCode(first.Code)}); r.Status != http.StatusConflict {
		t.Fatalf("wrong code: %d %s", r.Status, r.Body)
	}
	r := h.onSite(tokens[0], a.ID, "checkin", map[string]string{"code": first.Code})
	var c model.Claim
	r.decode(t, &c)
	if r.Status != http.StatusOK || c.CheckinMethod != "code" {
		t.Fatalf("check-in with the code: %d %s", r.Status, r.Body)
	}

	// Just after the rotation the replaced code still works for the grace.
	h.clock.Advance(first.ExpiresAt.Sub(h.clock.Now()) + 5*time.Second)
	second := code()
	if second.Code == first.Code && second.ExpiresAt == first.ExpiresAt {
		t.Fatalf("code did not rotate: %v", second)
	}
	if r := h.onSite(tokens[1], a.ID, "checkin", map[string]string{"code": first.Code}); r.Status != http.StatusOK {
		t.Fatalf("previous code within the grace: %d %s", r.Status, r.Body)
	}
	// Once the grace is over the old code is refused.
	h.clock.Advance(10 * time.Second)
	if first.Code != second.Code {
		r := h.onSite(tokens[2], a.ID, "checkin", map[string]string{"code": first.Code})
		if r.Status != http.StatusConflict || r.errorCode() != model.CodeFailedPrecondition {
			t.Fatalf("expired code: %d %s", r.Status, r.Body)
		}
	}
	// A code nobody refreshed expires too.
	h.clock.Advance(time.Minute)
	if r := h.onSite(tokens[2], a.ID, "checkin", map[string]string{"code": second.Code}); r.Status != http.StatusConflict {
		t.Fatalf("expired current code: %d %s", r.Status, r.Body)
	}
}

func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestCheckoutCreditsMinutesServedCapped(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	tok, uid := h.volunteer("hours", 0)
	short := h.createActivity(org, map[string]any{"title": "短活动"})
	capped := h.createActivity(org, map[string]any{"title": "封顶活动", "credited_hours": 1})
	for _, a := range []model.Activity{short, capped} {
		h.claim(tok, a.ID)
	}
	if r := h.onSite(tok, short.ID, "checkout", at(placeLat, placeLng)); r.Status != http.StatusConflict {
		t.Fatalf("check-out before check-in: %d %s", r.Status, r.Body)
	}
	h.onSite(tok, short.ID, "checkin", at(placeLat, placeLng))
	h.onSite(tok, capped.ID, "checkin", at(placeLat, placeLng))
	h.clock.Advance(45*time.Minute + 20*time.Second)
	r := h.onSite(tok, short.ID, "checkout", at(placeLat, placeLng))
	var c model.Claim
	r.decode(t, &c)
	if r.Status != http.StatusOK || c.CreditedMinutes != 45 || c.CheckedOutAt == nil {
		t.Fatalf("check-out after 45 min: %d %s", r.Status, r.Body)
	}
	if r := h.onSite(tok, short.ID, "checkout", at(placeLat, placeLng)); r.Status != http.StatusConflict {
		t.Fatalf("second check-out: %d %s", r.Status, r.Body)
	}
	h.clock.Advance(55 * time.Minute)
	r = h.onSite(tok, capped.ID, "checkout", at(farLat, farLng))
	if r.Status != http.StatusConflict {
		t.Fatalf("check-out 5 km away: %d %s", r.Status, r.Body)
	}
	r = h.onSite(tok, capped.ID, "checkout", at(placeLat, placeLng))
	r.decode(t, &c)
	if r.Status != http.StatusOK || c.CreditedMinutes != 60 {
		t.Fatalf("check-out after 100 min, capped at 60: %d %s", r.Status, r.Body)
	}

	var hours model.Hours
	h.do(req{method: "GET", path: "/api/v1/me/hours", token: tok}).decode(t, &hours)
	if hours.TotalMinutes != 105 || len(hours.Items) != 2 || hours.Items[0].Title != "封顶活动" || hours.Items[0].Kind != model.HoursServed {
		t.Fatalf("hours %+v", hours)
	}

	// The organizer corrects (with a reason) and confirms.
	minutes := fmt.Sprintf("/api/v1/activities/%d/claims/%d/minutes", capped.ID, c.ID)
	if r := h.do(req{method: "PUT", path: minutes, token: org, body: map[string]any{"minutes": 30}}); r.Status != http.StatusBadRequest {
		t.Fatalf("correction without a reason: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "PUT", path: minutes, token: org, body: map[string]any{"minutes": 61, "reason": "多"}}); r.Status != http.StatusBadRequest {
		t.Fatalf("correction above the cap: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "PUT", path: minutes, token: tok, body: map[string]any{"minutes": 60}}); r.Status != http.StatusForbidden {
		t.Fatalf("correction by the volunteer: %d %s", r.Status, r.Body)
	}
	r = h.do(req{method: "PUT", path: minutes, token: org, body: map[string]any{"minutes": 30, "reason": "提前离开"}})
	r.decode(t, &c)
	if r.Status != http.StatusOK || c.CreditedMinutes != 30 || c.MinutesCheckedBy == 0 {
		t.Fatalf("correction: %d %s", r.Status, r.Body)
	}
	r = h.do(req{method: "PUT", path: minutes, token: org, body: map[string]any{"minutes": 30}})
	if r.Status != http.StatusOK {
		t.Fatalf("confirmation: %d %s", r.Status, r.Body)
	}
	h.do(req{method: "GET", path: "/api/v1/me/hours", token: tok}).decode(t, &hours)
	if hours.TotalMinutes != 75 || len(hours.Items) != 3 {
		t.Fatalf("hours after the correction %+v", hours)
	}
	fix := hours.Items[0]
	if fix.Kind != model.HoursCorrection || fix.Minutes != -30 || fix.FromMinutes == nil || *fix.FromMinutes != 60 ||
		*fix.ToMinutes != 30 || fix.Reason != "提前离开" || fix.RecordedBy == uid {
		t.Fatalf("correction row %+v", fix)
	}
}

func TestOrganizerMinutesAndCheckoutNeverCreditTwice(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	tokens, _ := h.volunteers("twice", 2)
	a := h.createActivity(org, nil)
	claims := make([]model.Claim, 2)
	for i, tok := range tokens {
		h.claim(tok, a.ID).decode(t, &claims[i])
	}
	h.onSite(tokens[0], a.ID, "checkin", at(placeLat, placeLng))
	minutes := func(i int) string { return fmt.Sprintf("/api/v1/activities/%d/claims/%d/minutes", a.ID, claims[i].ID) }
	if r := h.do(req{method: "PUT", path: minutes(0), token: org, body: map[string]any{"minutes": 30, "reason": "提前"}}); r.Status != http.StatusConflict {
		t.Fatalf("minutes before the start: %d %s", r.Status, r.Body)
	}
	h.clock.Advance(20 * time.Minute)
	if r := h.do(req{method: "PUT", path: minutes(0), token: org, body: map[string]any{"minutes": 30, "reason": "提前"}}); r.Status != http.StatusConflict {
		t.Fatalf("minutes of a volunteer still checked in: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "PUT", path: minutes(1), token: org, body: map[string]any{"minutes": 30, "reason": "手机没电，现场确认"}}); r.Status != http.StatusOK {
		t.Fatalf("vouch for a volunteer: %d %s", r.Status, r.Body)
	}
	h.onSite(tokens[1], a.ID, "checkin", at(placeLat, placeLng))
	if r := h.onSite(tokens[1], a.ID, "checkout", at(placeLat, placeLng)); r.Status != http.StatusConflict {
		t.Fatalf("check-out after the organizer set the minutes: %d %s", r.Status, r.Body)
	}
	var hours model.Hours
	h.do(req{method: "GET", path: "/api/v1/me/hours", token: tokens[1]}).decode(t, &hours)
	if hours.TotalMinutes != 30 || len(hours.Items) != 1 {
		t.Fatalf("hours %+v", hours)
	}
}
