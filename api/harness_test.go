package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/prometheus/client_golang/prometheus"

	"jindalai/model"
	"jindalai/service"
	"jindalai/store"
	"jindalai/store/storetest"
	"jindalai/wechat"
	"jindalai/wechat/fakewechat"
)

// The fake WeChat is reached through the SDK's global HTTP client, so one
// fake serves every test of the package.
var (
	fakeOnce sync.Once
	fakeWX   *fakewechat.Server
)

func sharedFakeWeChat() *fakewechat.Server {
	fakeOnce.Do(func() {
		srv, ts := fakewechat.NewTLSServer()
		fakeWX = srv
		wechat.InstallHTTPClient(wechat.FakeDialClient(ts.Listener.Addr().String(), 5*time.Second))
	})
	return fakeWX
}

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

func openapiRouter(t testing.TB) routers.Router {
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(openapiYAML)
		if err != nil {
			specErr = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			specErr = err
			return
		}
		doc.Servers = nil
		specRouter, specErr = gorillamux.NewRouter(doc)
	})
	if specErr != nil {
		t.Fatalf("openapi.yaml: %v", specErr)
	}
	return specRouter
}

// harness is a whole API over a private database and Redis prefix, with the
// fake WeChat. Every reply is checked against openapi.yaml.
type harness struct {
	t        testing.TB
	store    *store.Store
	server   *Server
	http     *httptest.Server
	wx       *fakewechat.Server
	auth     *service.Auth
	stations *service.Stations
	requests *service.Requests
	// bookings and activities run on clock, which tests move instead of
	// sleeping.
	bookings *service.Bookings
	clock    *testClock
	// notify is the notifications service; its sender loop is not started
	// (tests call notify.RunOnce).
	notify *service.Notifications
	reg    *prometheus.Registry
}

// harnessOptions tweak the wiring of a harness.
type harnessOptions struct {
	loginPerMinute  int
	writesPerMinute int
	// dispatch changes the harness's dispatch rules (nil: none changed).
	dispatch func(*service.RequestsConfig)
}

func newHarness(t testing.TB) *harness { return newHarnessWith(t, harnessOptions{}) }

func newHarnessWith(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	wx := sharedFakeWeChat()
	st := storetest.New(t)
	if o.loginPerMinute == 0 {
		o.loginPerMinute = 100000
	}
	if o.writesPerMinute == 0 {
		o.writesPerMinute = 100000
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	pii, err := service.NewPII([]byte("test-only-pii-key-32-bytes-long!"))
	if err != nil {
		t.Fatal(err)
	}
	client := wechat.New(wechat.Config{AppID: "wx_test", AppSecret: "secret"}, wechat.NewRedisCache(st.Redis, st.Keys.WeChat))
	stations := service.NewStations(st, st, service.MatchConfig{SearchRadiiM: []int{3000, 10000, 30000}, LoadPenaltyM: 200, MaxOrgs: 3},
		st.Loc, log)
	auth := service.NewAuth(st, stations, client, st.NewRateLimiter(), pii, service.AuthConfig{
		SessionTTL:          time.Hour,
		SessionMaxAge:       24 * time.Hour,
		InviteTTL:           time.Hour,
		BootstrapAdmins:     []string{"dev_admin"},
		LoginPerMinuteIP:    o.loginPerMinute,
		InvitePerMinuteUser: 1000,
		WritesPerMinuteUser: o.writesPerMinute,
	}, st.Loc, log)
	dispatch := service.RequestsConfig{AcceptByUrgent: 30 * time.Minute, AcceptByNormal: 4 * time.Hour, MaxBounces: 3,
		AutoCloseAfter: 7 * 24 * time.Hour, SubmitPerMinuteUser: 100000}
	dispatch.WritesPerMinuteUser = o.writesPerMinute
	if o.dispatch != nil {
		o.dispatch(&dispatch)
	}
	requests := service.NewRequests(st, stations, st.NewRateLimiter(), pii, dispatch, st.Loc, log)
	clock := newTestClock()
	bookings := service.NewBookings(st, stations, pii, service.BookingsConfig{
		CloseBefore: time.Hour, CancelBefore: 2 * time.Hour, RemindBefore: 24 * time.Hour,
		NoShowLimit: 2, NoShowWindow: 90 * 24 * time.Hour, Now: clock.Now,
	}, st.Loc, log)
	reg := prometheus.NewRegistry()
	notify, err := service.NewNotifications(st, client, testNotifyConfig(), reg, st.Loc, log)
	if err != nil {
		t.Fatal(err)
	}
	activities := service.NewActivities(st, stations, auth, st.NewRateLimiter(), pii,
		testActivitiesConfig(clock), st.Loc, log)
	srv := New(Deps{
		Auth:          auth,
		Stations:      stations,
		Activities:    activities,
		Notifications: notify,
		Bookings:      bookings,
		Requests:      requests,
		Health:        st,
		PII:           pii,
		Log:           log,
		Registry:      reg,
		MaxBodyBytes:  1 << 20,
	})
	h := &harness{t: t, store: st, server: srv, wx: wx, auth: auth, stations: stations, notify: notify, reg: reg,
		bookings: bookings, clock: clock, requests: requests}
	h.serve(srv)
	return h
}

// serve points the harness at a new handler of srv.
func (h *harness) serve(srv *Server) {
	h.t.Helper()
	handler, err := srv.Handler()
	if err != nil {
		h.t.Fatal(err)
	}
	ts := httptest.NewServer(handler)
	h.t.Cleanup(ts.Close)
	h.http = ts
}

// reply is a finished HTTP exchange.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// decode unmarshals the body into v.
func (r reply) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// errorCode returns the error code of an error reply.
func (r reply) errorCode() model.Code {
	var e errorBody
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// errorFields returns the fields of an error reply.
func (r reply) errorFields() map[string]string {
	var e errorBody
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Fields
}

// replays tells whether r repeats first byte for byte: the same status and
// body (what a retried Idempotency-Key gets).
func (r reply) replays(first reply) bool {
	return r.Status == first.Status && bytes.Equal(r.Body, first.Body)
}

// refusesKey tells whether r is the 409 naming Idempotency-Key (the key
// reused with another body).
func (r reply) refusesKey() bool {
	return r.Status == http.StatusConflict && r.errorFields()["Idempotency-Key"] != ""
}

// req describes one call; body is JSON-encoded unless it is a string or []byte.
type req struct {
	method, path, token string
	body                any
	header              map[string]string
}

// do sends a request and validates the reply against the OpenAPI document.
func (h *harness) do(r req) reply {
	h.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	hr, err := http.NewRequest(r.method, h.http.URL+r.path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := h.http.Client().Do(hr)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := reply{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if resp.Header.Get("X-Request-Id") == "" {
		h.t.Errorf("%s %s: no X-Request-Id", r.method, r.path)
	}
	validateReply(h.t, hr, out)
	return out
}

// doAtOnce sends the requests concurrently and returns their replies in order.
func (h *harness) doAtOnce(rs ...req) []reply {
	h.t.Helper()
	out := make([]reply, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() { out[i] = h.do(r) })
	}
	wg.Wait()
	return out
}

// validateReply checks a reply against openapi.yaml: the route and status
// must be documented and the body must match the schema.
func validateReply(t testing.TB, hr *http.Request, out reply) {
	t.Helper()
	router := openapiRouter(t)
	vr := hr.Clone(context.Background())
	vr.URL.Scheme, vr.URL.Host, vr.Host = "", "", ""
	route, params, err := router.FindRoute(vr)
	if err != nil {
		if out.Status == http.StatusNotFound || out.Status == http.StatusMethodNotAllowed {
			return
		}
		t.Errorf("%s %s: not in openapi.yaml: %v", hr.Method, hr.URL.Path, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: vr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  out.Status,
		Header:  out.Header,
		Body:    io.NopCloser(bytes.NewReader(out.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match openapi.yaml: %v\nbody: %s", hr.Method, hr.URL.Path, out.Status, err, out.Body)
	}
}

// login logs in with a fake wx.login code and returns the token and user.
func (h *harness) login(code string) (string, model.User) {
	h.t.Helper()
	r := h.do(req{method: "POST", path: "/api/v1/auth/wechat/login", body: map[string]string{"code": code}})
	if r.Status != http.StatusOK {
		h.t.Fatalf("login %s: %d %s", code, r.Status, r.Body)
	}
	var out model.Login
	r.decode(h.t, &out)
	return out.Token, out.User
}

// grant gives a user a staff role through an invite from the city admin and
// returns the user's fresh token.
func (h *harness) grant(token string, role model.Role) string {
	h.t.Helper()
	admin, _ := h.login("admin")
	r := h.do(req{method: "POST", path: "/api/v1/admin/invites", token: admin, body: map[string]any{
		"role": role.Role, "station_id": role.StationID, "org_id": role.OrgID}})
	if r.Status != http.StatusCreated {
		h.t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	var inv model.Invite
	r.decode(h.t, &inv)
	r = h.do(req{method: "POST", path: "/api/v1/me/roles", token: token, body: map[string]string{"invite_code": inv.Code}})
	if r.Status != http.StatusOK {
		h.t.Fatalf("redeem: %d %s", r.Status, r.Body)
	}
	var out model.Login
	r.decode(h.t, &out)
	return out.Token
}

// count runs a COUNT query on the test database.
func (h *harness) count(query string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.store.DB.QueryRow(query, args...).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// sessionCount is how many sessions the store indexes under a user.
func (h *harness) sessionCount(userID int64) int64 {
	h.t.Helper()
	n, err := h.store.Redis.SCard(context.Background(), h.store.Keys.UserSessions(userID)).Result()
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// keptReplies returns the replies kept with userID's Idempotency-Keys.
func (h *harness) keptReplies(userID int64) []string {
	h.t.Helper()
	rows, err := h.store.DB.Query(`SELECT COALESCE(reply, '') FROM idempotency_keys WHERE user_id = ?`, userID)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// inClear tells whether kept holds secret as is, in base64 (how JSON writes
// bytes) or in hex.
func inClear(kept, secret string) bool {
	return strings.Contains(kept, secret) || strings.Contains(kept, base64.StdEncoding.EncodeToString([]byte(secret))) ||
		strings.Contains(kept, hex.EncodeToString([]byte(secret)))
}
