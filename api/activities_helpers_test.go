package api

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"jindalai/model"
	"jindalai/service"
)

// activityCities holds each harness's test city (h.city), made on first use.
var activityCities sync.Map

// actCity returns the harness's test city, creating it once.
func (h *harness) actCity() testCity {
	h.t.Helper()
	if c, ok := activityCities.Load(h); ok {
		return c.(testCity)
	}
	c := h.city()
	activityCities.Store(h, c)
	h.t.Cleanup(func() { activityCities.Delete(h) })
	return c
}

func testActivitiesConfig(clock *testClock) service.ActivitiesConfig {
	return service.ActivitiesConfig{
		CheckinRadiusM:       500,
		CheckinOpensBefore:   30 * time.Minute,
		CodeRotation:         time.Minute,
		CodeGrace:            10 * time.Second,
		CheckoutGrace:        2 * time.Hour,
		NearbyRadiusM:        20000,
		MaxCapacity:          10000,
		MaxCreditedHours:     24,
		MaxDuration:          72 * time.Hour,
		CheckinPerMinuteUser: 100000,
		Now:                  clock.Now,
	}
}

// The place of the test activities (进学街道) and a point about 5 km north.
const (
	placeLat, placeLng = 42.906, 129.497
	farLat, farLng     = 42.951, 129.497
)

// volunteer logs in with code, registers as a volunteer (of orgID, 0 for
// none) and returns the fresh token and the user id.
func (h *harness) volunteer(code string, orgID int64) (string, int64) {
	h.t.Helper()
	token, user := h.login(code)
	body := map[string]any{"real_name": "张三丰", "phone": "13812345678", "skills": []string{"陪伴"}}
	if orgID > 0 {
		body["org_id"] = orgID
	}
	r := h.do(req{method: "POST", path: "/api/v1/volunteers", token: token, body: body})
	if r.Status != http.StatusCreated {
		h.t.Fatalf("register %s: %d %s", code, r.Status, r.Body)
	}
	var out model.VolunteerRegistration
	r.decode(h.t, &out)
	return out.Token, user.ID
}

// volunteers registers n volunteers concurrently.
func (h *harness) volunteers(prefix string, n int) ([]string, []int64) {
	h.t.Helper()
	tokens, ids := make([]string, n), make([]int64, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			tokens[i], ids[i] = h.volunteer(fmt.Sprintf("%s%03d", prefix, i), 0)
		}()
	}
	wg.Wait()
	return tokens, ids
}

// organizer logs in with code and becomes a social worker of 北山 (the
// station of activityBody).
func (h *harness) organizer(code string) string {
	h.t.Helper()
	token, _ := h.login(code)
	return h.grant(token, model.Role{Role: model.RoleSocialWorker, StationID: h.actCity().Beishan})
}

// activityBody is a valid new activity of 北山 starting in 10 minutes; set
// changes fields (nil removes one).
func (h *harness) activityBody(set map[string]any) map[string]any {
	now := h.clock.Now()
	body := map[string]any{
		"title": "社区助老志愿服务", "description": "陪伴老人，打扫卫生", "category": "elder_care", "station_id": h.actCity().Beishan,
		"lat": placeLat, "lng": placeLng, "address": "进学街道社工站",
		"starts_at":       now.Add(10 * time.Minute).Format(time.RFC3339),
		"ends_at":         now.Add(130 * time.Minute).Format(time.RFC3339),
		"signup_deadline": now.Add(5 * time.Minute).Format(time.RFC3339),
		"capacity":        20, "credited_hours": 2, "waitlist": true,
	}
	return overlay(body, set)
}

// overlay sets set's fields in body (nil removes one) and returns body.
func overlay(body, set map[string]any) map[string]any {
	for k, v := range set {
		if v == nil {
			delete(body, k)
		} else {
			body[k] = v
		}
	}
	return body
}

// createActivity publishes an activity and fails the test otherwise.
func (h *harness) createActivity(token string, set map[string]any) model.Activity {
	h.t.Helper()
	r := h.do(req{method: "POST", path: "/api/v1/activities", token: token, body: h.activityBody(set)})
	if r.Status != http.StatusCreated {
		h.t.Fatalf("create activity: %d %s", r.Status, r.Body)
	}
	var a model.Activity
	r.decode(h.t, &a)
	return a
}

// claim claims a place and returns the reply.
func (h *harness) claim(token string, activityID int64) reply {
	return h.do(req{method: "POST", path: fmt.Sprintf("/api/v1/activities/%d/claims", activityID), token: token})
}

// notificationsOf counts the notifications of a kind per user.
func (h *harness) notificationsOf(kind string) map[int64]int {
	h.t.Helper()
	rows, err := h.store.DB.Query(`SELECT user_id FROM notifications WHERE kind = ?`, kind)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			h.t.Fatal(err)
		}
		out[id]++
	}
	return out
}
