package api

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"jindalai/model"
)

// TestClaimStormNeverOverbooks sends 500 concurrent claims for 20 places:
// exactly 20 confirmed and 480 waitlisted in order; without a waitlist the
// 480 others get 409.
func TestClaimStormNeverOverbooks(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	const n, places = 500, 20
	tokens, ids := h.volunteers("storm", n)

	for _, waitlist := range []bool{true, false} {
		t.Run(fmt.Sprintf("waitlist=%v", waitlist), func(t *testing.T) {
			a := h.createActivity(org, map[string]any{"capacity": places, "waitlist": waitlist})
			replies := make([]reply, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					replies[i] = h.claim(tokens[i], a.ID)
				}()
			}
			close(start)
			wg.Wait()

			var confirmed, waitlisted []model.Claim
			conflicts := 0
			for i, r := range replies {
				switch r.Status {
				case http.StatusCreated:
					var c model.Claim
					r.decode(t, &c)
					if c.VolunteerID != ids[i] {
						t.Fatalf("claim of volunteer %d has volunteer %d", ids[i], c.VolunteerID)
					}
					if c.Status == model.ClaimConfirmed {
						confirmed = append(confirmed, c)
					} else {
						waitlisted = append(waitlisted, c)
					}
				case http.StatusConflict:
					if r.errorCode() != model.CodeConflict {
						t.Fatalf("409 with code %s", r.errorCode())
					}
					conflicts++
				default:
					t.Fatalf("claim: %d %s", r.Status, r.Body)
				}
			}
			if len(confirmed) != places {
				t.Fatalf("%d confirmed, want %d", len(confirmed), places)
			}
			if waitlist && (len(waitlisted) != n-places || conflicts != 0) {
				t.Fatalf("%d waitlisted, %d conflicts, want %d and 0", len(waitlisted), conflicts, n-places)
			}
			if !waitlist && (len(waitlisted) != 0 || conflicts != n-places) {
				t.Fatalf("%d waitlisted, %d conflicts, want 0 and %d", len(waitlisted), conflicts, n-places)
			}
			// In order: the organizer's list shows the waitlist positions
			// 1, 2, 3, ... in claim order.
			if waitlist {
				next, cursor := 1, ""
				for {
					r := h.do(req{method: "GET", path: fmt.Sprintf("/api/v1/activities/%d/claims?limit=100&cursor=%s", a.ID, cursor), token: org})
					var page model.List[model.Claim]
					r.decode(t, &page)
					for _, c := range page.Items {
						if c.Status == model.ClaimWaitlisted {
							if c.WaitlistPosition != next {
								t.Fatalf("claim %d at position %d, want %d", c.ID, c.WaitlistPosition, next)
							}
							next++
						}
					}
					if cursor = page.NextCursor; cursor == "" {
						break
					}
				}
				if next != n-places+1 {
					t.Fatalf("%d waitlisted in the list, want %d", next-1, n-places)
				}
			}
			var dbConfirmed, rows int
			if err := h.store.DB.QueryRow(`SELECT confirmed FROM activities WHERE id = ?`, a.ID).Scan(&dbConfirmed); err != nil {
				t.Fatal(err)
			}
			if err := h.store.DB.QueryRow(`SELECT COUNT(*) FROM activity_claims WHERE activity_id = ? AND status = 'confirmed'`,
				a.ID).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if dbConfirmed != places || rows != places {
				t.Fatalf("activity.confirmed %d, confirmed rows %d, want %d", dbConfirmed, rows, places)
			}
			r := h.do(req{method: "GET", path: fmt.Sprintf("/api/v1/activities/%d", a.ID), token: tokens[0]})
			var got model.Activity
			r.decode(t, &got)
			if got.Remaining != 0 || got.Confirmed != places {
				t.Fatalf("detail: remaining %d confirmed %d", got.Remaining, got.Confirmed)
			}
		})
	}
	sent := 0
	for _, n := range h.notificationsOf("claim_confirmed") {
		sent += n
	}
	if sent != 2*places {
		t.Fatalf("%d claim_confirmed notifications, want %d", sent, 2*places)
	}
}

func TestSameVolunteerClaimingTwiceAtOnceGetsOneClaim(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	tok, _ := h.volunteer("twice", 0)
	a := h.createActivity(org, nil)
	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = h.claim(tok, a.ID).Status
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Fatalf("claim: %d", s)
		}
	}
	var rows, confirmed int
	_ = h.store.DB.QueryRow(`SELECT COUNT(*) FROM activity_claims WHERE activity_id = ?`, a.ID).Scan(&rows)
	_ = h.store.DB.QueryRow(`SELECT confirmed FROM activities WHERE id = ?`, a.ID).Scan(&confirmed)
	if created != 1 || rows != 1 || confirmed != 1 {
		t.Fatalf("created %d, rows %d, confirmed %d; want 1 each", created, rows, confirmed)
	}
}

func TestClaimIdempotencyKeyReplays(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	tok, _ := h.volunteer("idem", 0)
	a := h.createActivity(org, nil)
	path := fmt.Sprintf("/api/v1/activities/%d/claims", a.ID)
	hdr := map[string]string{"Idempotency-Key": "claim-1"}
	r1 := h.do(req{method: "POST", path: path, token: tok, header: hdr})
	r2 := h.do(req{method: "POST", path: path, token: tok, header: hdr})
	if r1.Status != http.StatusCreated || r2.Status != http.StatusCreated || string(r1.Body) != string(r2.Body) {
		t.Fatalf("replay: %d %s / %d %s", r1.Status, r1.Body, r2.Status, r2.Body)
	}
	if r := h.claim(tok, a.ID); r.Status != http.StatusConflict {
		t.Fatalf("claim without the key: %d %s", r.Status, r.Body)
	}
}

func TestCancelPromotesFirstInLine(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	tokens, ids := h.volunteers("line", 3)
	a := h.createActivity(org, map[string]any{"capacity": 1, "waitlist": true})
	for i, want := range []model.ClaimStatus{model.ClaimConfirmed, model.ClaimWaitlisted, model.ClaimWaitlisted} {
		r := h.claim(tokens[i], a.ID)
		var c model.Claim
		r.decode(t, &c)
		if r.Status != http.StatusCreated || c.Status != want {
			t.Fatalf("claim %d: %d %s", i, r.Status, r.Body)
		}
	}
	cancel := fmt.Sprintf("/api/v1/activities/%d/claims/cancel", a.ID)
	r := h.do(req{method: "POST", path: cancel, token: tokens[0]})
	var c model.Claim
	r.decode(t, &c)
	if r.Status != http.StatusOK || c.Status != model.ClaimCancelled {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	detail := func(i int) model.Activity {
		r := h.do(req{method: "GET", path: fmt.Sprintf("/api/v1/activities/%d", a.ID), token: tokens[i]})
		var got model.Activity
		r.decode(t, &got)
		return got
	}
	if got := detail(1); got.MyClaim == nil || got.MyClaim.Status != model.ClaimConfirmed || got.Remaining != 0 {
		t.Fatalf("first in line after the cancel: %+v", got.MyClaim)
	}
	if got := detail(2); got.MyClaim == nil || got.MyClaim.WaitlistPosition != 1 {
		t.Fatalf("second in line after the cancel: %+v", got.MyClaim)
	}
	if n := h.notificationsOf("claim_promoted"); n[ids[1]] != 1 || len(n) != 1 {
		t.Fatalf("claim_promoted notifications %v, want one to %d", n, ids[1])
	}
	var inbox model.Inbox
	h.do(req{method: "GET", path: "/api/v1/me/messages", token: tokens[1]}).decode(t, &inbox)
	if len(inbox.Items) == 0 || inbox.Items[0].Kind != "claim_promoted" || inbox.Items[0].RefID != a.ID ||
		inbox.Items[0].Data["title"] != a.Title || inbox.Items[0].Data["place"] != a.Address {
		t.Fatalf("inbox of the promoted volunteer: %+v", inbox.Items)
	}
	if r := h.do(req{method: "POST", path: cancel, token: tokens[0]}); r.Status != http.StatusNotFound {
		t.Fatalf("second cancel: %d %s", r.Status, r.Body)
	}
	// Claiming again after a cancel goes to the back of the line.
	r = h.claim(tokens[0], a.ID)
	r.decode(t, &c)
	if r.Status != http.StatusCreated || c.Status != model.ClaimWaitlisted || c.WaitlistPosition != 2 {
		t.Fatalf("claim again: %d %s", r.Status, r.Body)
	}
	// Growing the capacity promotes the line.
	r = h.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/activities/%d", a.ID), token: org, body: map[string]any{"capacity": 3}})
	var got model.Activity
	r.decode(t, &got)
	if r.Status != http.StatusOK || got.Confirmed != 3 || got.Remaining != 0 {
		t.Fatalf("grow capacity: %d %s", r.Status, r.Body)
	}
	r = h.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/activities/%d", a.ID), token: org, body: map[string]any{"capacity": 2}})
	if r.Status != http.StatusConflict {
		t.Fatalf("capacity below confirmed: %d %s", r.Status, r.Body)
	}
}

func TestClaimAfterDeadlineOrStartIsRefused(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	tokens, _ := h.volunteers("late", 2)
	a := h.createActivity(org, nil)
	if r := h.claim(tokens[0], a.ID); r.Status != http.StatusCreated {
		t.Fatalf("claim before the deadline: %d %s", r.Status, r.Body)
	}
	h.clock.Advance(6 * time.Minute)
	r := h.claim(tokens[1], a.ID)
	if r.Status != http.StatusConflict || r.errorCode() != model.CodeFailedPrecondition {
		t.Fatalf("claim after the deadline: %d %s", r.Status, r.Body)
	}
	h.clock.Advance(5 * time.Minute)
	r = h.do(req{method: "POST", path: fmt.Sprintf("/api/v1/activities/%d/claims/cancel", a.ID), token: tokens[0]})
	if r.Status != http.StatusConflict {
		t.Fatalf("cancel after the start: %d %s", r.Status, r.Body)
	}
}

func TestCancelActivityNotifiesClaimants(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	tokens, ids := h.volunteers("cx", 3)
	a := h.createActivity(org, map[string]any{"capacity": 1})
	h.claim(tokens[0], a.ID)
	h.claim(tokens[1], a.ID)
	path := fmt.Sprintf("/api/v1/activities/%d/cancel", a.ID)
	if r := h.do(req{method: "POST", path: path, token: tokens[2], body: map[string]string{"reason": "下雨"}}); r.Status != http.StatusForbidden {
		t.Fatalf("cancel by a volunteer: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "POST", path: path, token: org, body: map[string]string{"reason": ""}}); r.Status != http.StatusBadRequest {
		t.Fatalf("cancel without a reason: %d %s", r.Status, r.Body)
	}
	r := h.do(req{method: "POST", path: path, token: org, body: map[string]string{"reason": "天气原因"}})
	var got model.Activity
	r.decode(t, &got)
	if r.Status != http.StatusOK || got.Status != model.ActivityCancelled || got.CancelReason != "天气原因" {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	n := h.notificationsOf("activity_cancelled")
	if len(n) != 2 || n[ids[0]] != 1 || n[ids[1]] != 1 {
		t.Fatalf("activity_cancelled to %v, want %d and %d", n, ids[0], ids[1])
	}
	if r := h.claim(tokens[2], a.ID); r.Status != http.StatusConflict {
		t.Fatalf("claim of a cancelled activity: %d %s", r.Status, r.Body)
	}
	if r := h.do(req{method: "POST", path: path, token: org, body: map[string]string{"reason": "再取消"}}); r.Status != http.StatusConflict {
		t.Fatalf("second cancel: %d %s", r.Status, r.Body)
	}
}

func TestMyClaims(t *testing.T) {
	h := newHarness(t)
	org := h.organizer("org")
	tok, _ := h.volunteer("mine", 0)
	for range 3 {
		a := h.createActivity(org, nil)
		h.claim(tok, a.ID)
	}
	r := h.do(req{method: "GET", path: "/api/v1/me/claims?limit=2", token: tok})
	var page model.List[model.Claim]
	r.decode(t, &page)
	if r.Status != http.StatusOK || len(page.Items) != 2 || page.NextCursor == "" || page.Items[0].Activity == nil {
		t.Fatalf("page 1: %d %s", r.Status, r.Body)
	}
	r = h.do(req{method: "GET", path: "/api/v1/me/claims?limit=2&cursor=" + page.NextCursor, token: tok})
	r.decode(t, &page)
	if len(page.Items) != 1 || page.NextCursor != "" {
		t.Fatalf("page 2: %s", r.Body)
	}
}
