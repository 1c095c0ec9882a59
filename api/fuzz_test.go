package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Hostile input: Go fuzz tests of every create (and profile change)
// endpoint's decoding and validation. `go test` runs each target's seed
// corpus; `go test -fuzz FuzzX ./api` explores further. Whatever the body
// (and Idempotency-Key), the API must never answer 5xx or panic (the
// recovery middleware would turn a panic into a 500), every 4xx must be in
// the error shape, an invalid_argument must name a field, and every reply
// must match openapi.yaml (harness.do checks that).

// hostileSeeds are bodies every target starts from.
var hostileSeeds = []string{
	``, ` `, `null`, `[]`, `{}`, `"x"`, `0`, `true`, `{`, `}`, `{"a":1}{"b":2}`, `{} trailing`,
	`{"__proto__":{}}`, `{"a":}`, `{"a":1,"a":2}`, "\xff\xfe{}", `{"` + strings.Repeat("k", 300) + `":1}`,
	`[` + strings.Repeat(`[`, 2000) + strings.Repeat(`]`, 2000) + `]`,
}

// fieldValues mutate every top-level field of a valid body into hostile
// values of other types and shapes.
var fieldValues = []string{
	`null`, `""`, `" "`, `"` + strings.Repeat("长", 5000) + `"`, `"\u0000\u001f"`, `"<script>"`, `"' OR 1=1 --"`,
	`0`, `-1`, `1e400`, `-9223372036854775809`, `9223372036854775807`, `1.5`, `NaN`, `true`, `[]`, `{}`,
	`["x"]`, `[null]`, `"2026-13-45T99:99:99Z"`, `"9999-12-31T23:59:59+14:00"`,
}

// fuzzTarget is one endpoint under fuzzing.
type fuzzTarget struct {
	method string
	path   func(w *matrixWorld) string
	// token returns the caller's token for one call.
	token func(w *matrixWorld) string
	valid []map[string]any
}

// asUser logs the fixture caller i (matrixCallers order) in afresh.
func asUser(i int) func(w *matrixWorld) string {
	return func(w *matrixWorld) string {
		if w.codes[i] == "" {
			return ""
		}
		tok, _ := w.h.login(w.codes[i])
		return tok
	}
}

func fixedPath(p string) func(*matrixWorld) string { return func(*matrixWorld) string { return p } }

// fuzzEndpoint runs one target: seeds from hostileSeeds, from the valid
// bodies and from every field of them replaced by each of fieldValues.
func fuzzEndpoint(f *testing.F, target fuzzTarget) {
	w := newMatrixWorld(f)
	for _, s := range hostileSeeds {
		f.Add([]byte(s), "")
	}
	for _, v := range target.valid {
		raw, _ := json.Marshal(v)
		f.Add(raw, "")
		f.Add(raw, "key-1")
		f.Add(raw, strings.Repeat("k", 65))
		f.Add(raw, "ключ\t")
		for field := range v {
			for _, bad := range fieldValues {
				m := map[string]json.RawMessage{}
				for k, val := range v {
					b, _ := json.Marshal(val)
					m[k] = b
				}
				m[field] = json.RawMessage(bad)
				raw, err := json.Marshal(m)
				if err != nil { // NaN is not JSON: send it raw
					raw = []byte(strings.Replace(string(mustJSON(v)), `"`+field+`":`, `"`+field+`":`+bad+`,"_x":`, 1))
				}
				f.Add(raw, "")
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		h := *w.h
		h.t = t
		ww := *w
		ww.h = &h
		var header map[string]string
		if !validHeaderValue(key) {
			t.Skip("not sendable as a header")
		}
		if key != "" {
			header = map[string]string{"Idempotency-Key": key}
		}
		r := h.do(req{method: target.method, path: target.path(&ww), token: target.token(&ww), body: body, header: header})
		checkHostileReply(t, target.method+" "+target.path(&ww), body, r)
	})
}

// validHeaderValue reports whether net/http can send s as a header value.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func mustJSON(v any) []byte {
	raw, _ := json.Marshal(v)
	return raw
}

// checkHostileReply asserts the answer to a hostile request.
func checkHostileReply(t *testing.T, what string, body []byte, r reply) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("%s with body %q: %d %s", what, body, r.Status, r.Body)
	}
	if r.Status < 400 {
		return
	}
	var e errorBody
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("%s with body %q: %d not in the error shape: %s", what, body, r.Status, r.Body)
	}
	if e.Error.Code == "invalid_argument" && len(e.Error.Fields) == 0 {
		t.Fatalf("%s with body %q: invalid_argument without a field: %s", what, body, r.Body)
	}
}

func FuzzLogin(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", path: fixedPath("/api/v1/auth/wechat/login"), token: asUser(0),
		valid: []map[string]any{{"code": "fuzz_user"}, {"code": "bad-code"}}})
}

func FuzzBindPhone(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", path: fixedPath("/api/v1/auth/wechat/phone"), token: asUser(1),
		valid: []map[string]any{{"code": "13812345678"}}})
}

func FuzzPatchMe(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "PATCH", path: fixedPath("/api/v1/me"), token: asUser(1),
		valid: []map[string]any{{"nickname": "小明", "avatar_url": "https://example.com/a.png"}}})
}

func FuzzCreateInvite(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", path: fixedPath("/api/v1/admin/invites"), token: asUser(5),
		valid: []map[string]any{{"role": "social_worker", "station_id": 1}, {"role": "org_admin", "org_id": 1}}})
}

func FuzzRedeemInvite(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", path: fixedPath("/api/v1/me/roles"), token: asUser(1),
		valid: []map[string]any{{"invite_code": "ABCDEFGHJKMN"}}})
}

func FuzzCreateStation(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", path: fixedPath("/api/v1/admin/stations"), token: asUser(5),
		valid: []map[string]any{{"name": "模糊测试社工点", "level": 3, "parent_id": 2, "lat": 42.91, "lng": 129.5, "address": "延吉市",
			"radius_m": 1500, "categories": []string{"home_visit"}, "daily_capacity": 10,
			"opening_hours": []map[string]any{{"weekday": 1, "opens": "08:30", "closes": "17:00"}}}}})
}

func FuzzCreateOrganization(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", path: fixedPath("/api/v1/admin/organizations"), token: asUser(5),
		valid: []map[string]any{{"name": "模糊测试协会", "lat": 42.91, "lng": 129.5, "categories": []string{"home_visit"},
			"contact_phone": "0433-1234567", "address": "延吉市"}}})
}

func FuzzCreateCategory(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", path: fixedPath("/api/v1/admin/categories"), token: asUser(5),
		valid: []map[string]any{{"code": "fuzz_service", "name": "模糊服务", "area": "elder_care",
			"fields": []map[string]any{{"name": "people", "label": "人数", "type": "number"}}}}})
}

func FuzzCreateOffering(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", path: fixedPath("/api/v1/admin/services"), token: asUser(4),
		valid: []map[string]any{{"station_id": 2, "name": "心理咨询", "category": "counselling", "duration_min": 60}}})
}

func FuzzCreateSlot(f *testing.F) {
	start := time.Now().Add(96 * time.Hour).Truncate(time.Hour)
	fuzzEndpoint(f, fuzzTarget{method: "POST", token: asUser(4),
		path: func(w *matrixWorld) string { return fmt.Sprintf("/api/v1/admin/services/%d/slots", w.ids.offering) },
		valid: []map[string]any{{"starts_at": start.Format(time.RFC3339), "ends_at": start.Add(time.Hour).Format(time.RFC3339),
			"capacity": 3}}})
}

func FuzzCreateSlotPattern(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", token: asUser(4),
		path: func(w *matrixWorld) string {
			return fmt.Sprintf("/api/v1/admin/services/%d/slots/pattern", w.ids.offering)
		},
		valid: []map[string]any{{"from": "2031-03-03", "to": "2031-03-30", "weekdays": []int{2, 4},
			"times": []map[string]string{{"start": "14:00", "end": "15:00"}}, "capacity": 3, "skip_dates": []string{"2031-03-11"}}}})
}

func FuzzAddClosedDate(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", token: asUser(4),
		path: func(w *matrixWorld) string {
			return fmt.Sprintf("/api/v1/admin/stations/%d/closed-dates", w.city.Beishan)
		},
		valid: []map[string]any{{"date": "2031-05-01", "reason": "劳动节"}}})
}

func FuzzBook(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", path: fixedPath("/api/v1/bookings"), token: asUser(1),
		valid: []map[string]any{{"slot_id": 1, "note": "需要轮椅通道"}}})
}

func FuzzRegisterVolunteer(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", path: fixedPath("/api/v1/volunteers"), token: asUser(1),
		valid: []map[string]any{{"real_name": "张三", "phone": "13812345678", "skills": []string{"陪伴", "理发"}}}})
}

func FuzzCreateActivity(f *testing.F) {
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	fuzzEndpoint(f, fuzzTarget{method: "POST", path: fixedPath("/api/v1/activities"), token: asUser(4),
		valid: []map[string]any{{"title": "社区助老", "description": "陪伴老人", "category": "home_visit", "station_id": 2,
			"lat": 42.906, "lng": 129.497, "address": "进学街道", "starts_at": start.Format(time.RFC3339),
			"ends_at": start.Add(2 * time.Hour).Format(time.RFC3339), "signup_deadline": start.Add(-time.Hour).Format(time.RFC3339),
			"capacity": 20, "credited_hours": 2, "waitlist": true}}})
}

func FuzzCheckin(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", token: asUser(2),
		path:  func(w *matrixWorld) string { return fmt.Sprintf("/api/v1/activities/%d/checkin", w.ids.activity) },
		valid: []map[string]any{{"lat": 42.906, "lng": 129.497}, {"code": "123456"}}})
}

func FuzzSubscribe(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", path: fixedPath("/api/v1/me/subscriptions"), token: asUser(1),
		valid: []map[string]any{{"template_ids": []string{"tmpl_booking_confirmed"}}}})
}

func FuzzSubmitRequest(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", path: fixedPath("/api/v1/requests"), token: asUser(1),
		valid: []map[string]any{{"category": "home_visit", "description": "独居老人需要上门探访", "address": "北山街道",
			"lat": 42.921, "lng": 129.501, "urgency": "urgent", "contact_phone": "13812345678",
			"images": []string{"https://example.com/1.jpg"}, "fields": map[string]any{"people": 2}}}})
}

func FuzzAddRequestNote(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", token: asUser(4),
		path:  func(w *matrixWorld) string { return fmt.Sprintf("/api/v1/requests/%d/notes", w.ids.request) },
		valid: []map[string]any{{"text": "老人独居，需定期回访"}}})
}

func FuzzRejectRequest(f *testing.F) {
	fuzzEndpoint(f, fuzzTarget{method: "POST", token: asUser(4),
		path:  func(w *matrixWorld) string { return fmt.Sprintf("/api/v1/requests/%d/reject", w.ids.request) },
		valid: []map[string]any{{"reason": "不在服务范围"}}})
}
