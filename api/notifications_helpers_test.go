package api

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"jindalai/model"
	"jindalai/service"
	"jindalai/wechat"
	"jindalai/wechat/fakewechat"
)

var requestStatusFields = map[string]string{"thing1": "title", "phrase2": "status", "time3": "time", "thing4": "note"}

// testNotifyConfig is the notifications wiring of the harness: three
// templates (one shared by two kinds); other kinds are in-app only.
func testNotifyConfig() service.NotificationsConfig {
	return service.NotificationsConfig{
		Templates: map[string]service.Template{
			"request_accepted":  {ID: "tpl_request_status", Page: "pages/request/detail", Fields: requestStatusFields},
			"request_resolved":  {ID: "tpl_request_status", Page: "pages/request/detail", Fields: requestStatusFields},
			"booking_confirmed": {ID: "tpl_booking", Page: "pages/booking/detail", Fields: map[string]string{"thing1": "title", "time2": "time", "thing3": "station"}},
			"test_ref":          {ID: "tpl_test_ref", Fields: map[string]string{"thing1": "title", "character_string2": "ref"}},
		},
		MiniProgramState: "developer",
		Every:            20 * time.Millisecond,
		MaxAttempts:      4,
		BaseBackoff:      2 * time.Second,
		MaxBackoff:       time.Minute,
		BatchSize:        20,
		Lease:            time.Minute,
		SendTimeout:      5 * time.Second,
		IsRefused:        wechat.IsRefused,
		IsRetryable:      wechat.IsRetryable,
	}
}

// newSenderClock is a clock for a sender, starting a minute ahead of the
// wall clock so that new notifications are due at once.
func newSenderClock() *testClock { return &testClock{now: time.Now().Add(time.Minute)} }

// sender returns another notifications service over the harness's store and
// the fake WeChat, with its own clock and metrics registry.
func (h *harness) sender(clock *testClock, tweak func(*service.NotificationsConfig)) (*service.Notifications, *prometheus.Registry) {
	h.t.Helper()
	cfg := testNotifyConfig()
	if clock != nil {
		cfg.Now = clock.Now
	}
	if tweak != nil {
		tweak(&cfg)
	}
	client := wechat.New(wechat.Config{AppID: "wx_test", AppSecret: "secret"}, wechat.NewRedisCache(h.store.Redis, h.store.Keys.WeChat))
	reg := prometheus.NewRegistry()
	n, err := service.NewNotifications(h.store, client, cfg, reg, h.store.Loc, h.server.log)
	if err != nil {
		h.t.Fatal(err)
	}
	return n, reg
}

// notifyUser logs in a new user with a fresh openid (the fake WeChat is
// shared by every test) and returns its token, id and openid.
func (h *harness) notifyUser(prefix string) (string, int64, string) {
	h.t.Helper()
	code := prefix + "_" + rand.Text()[:10]
	token, u := h.login(code)
	return token, u.ID, "dev_" + code
}

// subscribe records grants through the API and returns the reply.
func (h *harness) subscribe(token string, ids ...string) []model.SubscriptionGrant {
	h.t.Helper()
	r := h.do(req{method: "POST", path: "/api/v1/me/subscriptions", token: token, body: map[string]any{"template_ids": ids}})
	if r.Status != http.StatusOK {
		h.t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	var out struct{ Items []model.SubscriptionGrant }
	r.decode(h.t, &out)
	return out.Items
}

// remaining returns the user's grants left for a template.
func (h *harness) remaining(token, templateID string) int {
	h.t.Helper()
	r := h.do(req{method: "GET", path: "/api/v1/me/subscriptions", token: token})
	var out struct{ Items []model.SubscriptionGrant }
	r.decode(h.t, &out)
	for _, g := range out.Items {
		if g.TemplateID == templateID {
			return g.Remaining
		}
	}
	h.t.Fatalf("template %s not listed: %s", templateID, r.Body)
	return 0
}

// enqueue adds a standalone notification and returns its id.
func (h *harness) enqueue(n model.Notification) int64 {
	h.t.Helper()
	ctx := context.Background()
	if err := h.store.EnqueueNotifications(ctx, n); err != nil {
		h.t.Fatal(err)
	}
	msgs, err := h.store.ListMessages(ctx, n.UserID, 0, 1, false)
	if err != nil || len(msgs) == 0 {
		h.t.Fatalf("enqueued message not found: %v", err)
	}
	return msgs[0].ID
}

func (h *harness) push(id int64) model.PushStatus {
	h.t.Helper()
	p, err := h.store.NotificationPush(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

func runOnce(t *testing.T, n *service.Notifications) int {
	t.Helper()
	count, err := n.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return count
}

// sendsTo returns the fake WeChat's recorded sends to openid.
func sendsTo(wx *fakewechat.Server, openid string) []fakewechat.Send {
	var out []fakewechat.Send
	for _, s := range wx.Sends() {
		if s.ToUser == openid {
			out = append(out, s)
		}
	}
	return out
}

// metricValue reads one sample of the /metrics text, 0 when absent.
func (h *harness) metricValue(sample string) string {
	h.t.Helper()
	r := h.do(req{method: "GET", path: "/metrics"})
	for _, line := range strings.Split(string(r.Body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			return v
		}
	}
	return "0"
}
