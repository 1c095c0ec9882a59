package api

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"jindalai/model"
	"jindalai/service"
)

func TestNotificationIsSentOnceWithTemplateFields(t *testing.T) {
	h := newHarness(t)
	token, userID, openid := h.notifyUser("n7send")
	grants := h.subscribe(token, "tpl_request_status")
	if len(grants) != 3 || grants[1].TemplateID != "tpl_request_status" || grants[1].Remaining != 1 ||
		strings.Join(grants[1].Kinds, ",") != "request_accepted,request_resolved" {
		t.Fatalf("grants: %+v", grants)
	}
	id := h.enqueue(model.Notification{
		UserID: userID, Kind: "request_accepted", Title: "诉求已受理", Body: "社工已签收您的诉求",
		Data: map[string]string{
			"title":  "小区路灯坏了三个月一直没有人来修理请尽快处理",
			"status": "已签收处理中",
			"time":   "2025-03-01 14:30",
			"note":   "第一行\n第二行",
		},
		Page: "pages/request/detail?id=42", RefType: "request", RefID: 42,
	})

	if n := runOnce(t, h.notify); n != 1 {
		t.Fatalf("claimed %d, want 1", n)
	}
	sends := sendsTo(h.wx, openid)
	if len(sends) != 1 {
		t.Fatalf("sends: %+v", sends)
	}
	s := sends[0]
	if s.TemplateID != "tpl_request_status" || s.Page != "pages/request/detail?id=42" || s.MiniProgramState != "developer" {
		t.Errorf("send: %+v", s)
	}
	want := map[string]string{
		"thing1":  "小区路灯坏了三个月一直没有人来修理请尽…",
		"phrase2": "已签收处理",
		"time3":   "2025年3月1日 14:30",
		"thing4":  "第一行 第二行",
	}
	for k, v := range want {
		if s.Data[k] != v {
			t.Errorf("%s = %q, want %q", k, s.Data[k], v)
		}
	}
	if n := utf8.RuneCountInString(s.Data["thing1"]); n != 20 {
		t.Errorf("thing1 has %d characters, want 20", n)
	}
	p := h.push(id)
	if p.State != model.PushSent || p.Attempts != 1 || p.SentAt == nil || p.TemplateID != "tpl_request_status" {
		t.Errorf("push: %+v", p)
	}
	if r := h.remaining(token, "tpl_request_status"); r != 0 {
		t.Errorf("grant not consumed: %d left", r)
	}

	// Nothing is due any more: no second send.
	if n := runOnce(t, h.notify); n != 0 {
		t.Errorf("claimed %d more", n)
	}
	if got := len(sendsTo(h.wx, openid)); got != 1 {
		t.Errorf("%d sends, want 1", got)
	}
	if v := h.metricValue(`jindalai_notify_sent_total{kind="request_accepted"}`); v != "1" {
		t.Errorf("sent metric %s", v)
	}

	// It is also an unread in-app message.
	r := h.do(req{method: "GET", path: "/api/v1/me/messages", token: token})
	var inbox model.Inbox
	r.decode(t, &inbox)
	if r.Status != 200 || len(inbox.Items) != 1 || inbox.Items[0].ID != id || inbox.UnreadCount != 1 ||
		inbox.Items[0].Data["status"] != "已签收处理中" || inbox.Items[0].RefID != 42 {
		t.Fatalf("inbox: %d %s", r.Status, r.Body)
	}
}

func TestNotificationWithoutGrantOrTemplateIsInAppOnly(t *testing.T) {
	h := newHarness(t)
	token, userID, openid := h.notifyUser("n7nogrant")
	// A grant for another template does not help.
	h.subscribe(token, "tpl_request_status")
	noGrant := h.enqueue(model.Notification{UserID: userID, Kind: "booking_confirmed", Title: "预约成功",
		Data: map[string]string{"title": "心理咨询", "time": "2025-03-02 09:00", "station": "进学街道社工站"}})
	noTemplate := h.enqueue(model.Notification{UserID: userID, Kind: "request_dispatched", Title: "新任务"})

	runOnce(t, h.notify)
	if p := h.push(noGrant); p.State != model.PushSkipped || p.SkipReason != model.SkipNoGrant {
		t.Errorf("without grant: %+v", p)
	}
	if p := h.push(noTemplate); p.State != model.PushSkipped || p.SkipReason != model.SkipNoTemplate {
		t.Errorf("without template: %+v", p)
	}
	if s := sendsTo(h.wx, openid); len(s) != 0 {
		t.Fatalf("sent without a grant: %+v", s)
	}
	if r := h.remaining(token, "tpl_request_status"); r != 1 {
		t.Errorf("grant used: %d left", r)
	}
	if v := h.metricValue(`jindalai_notify_skipped_total{reason="no_grant"}`); v != "1" {
		t.Errorf("skipped metric %s", v)
	}
	r := h.do(req{method: "GET", path: "/api/v1/me/messages", token: token})
	var inbox model.Inbox
	r.decode(t, &inbox)
	if len(inbox.Items) != 2 || inbox.UnreadCount != 2 {
		t.Fatalf("inbox: %s", r.Body)
	}
}

func TestGrantIsConsumedByOneSend(t *testing.T) {
	h := newHarness(t)
	token, userID, openid := h.notifyUser("n7grant")
	// One call naming a template twice is one grant.
	if g := h.subscribe(token, "tpl_test_ref", "tpl_test_ref"); g[2].TemplateID != "tpl_test_ref" || g[2].Remaining != 1 {
		t.Fatalf("grants: %+v", g)
	}
	first := h.enqueue(model.Notification{UserID: userID, Kind: "test_ref", Title: "一", Data: map[string]string{"ref": "a-1"}})
	second := h.enqueue(model.Notification{UserID: userID, Kind: "test_ref", Title: "二", Data: map[string]string{"ref": "a-2"}})
	runOnce(t, h.notify)
	sends := sendsTo(h.wx, openid)
	if len(sends) != 1 || sends[0].Data["character_string2"] != "a-1" {
		t.Fatalf("sends: %+v", sends)
	}
	if p := h.push(first); p.State != model.PushSent {
		t.Errorf("first: %+v", p)
	}
	if p := h.push(second); p.State != model.PushSkipped || p.SkipReason != model.SkipNoGrant {
		t.Errorf("second: %+v", p)
	}
	if r := h.remaining(token, "tpl_test_ref"); r != 0 {
		t.Errorf("%d grants left", r)
	}
}

func TestSendIsRetriedWithBackoffAndDeliveredOnceWeChatRecovers(t *testing.T) {
	h := newHarness(t)
	clock := newSenderClock()
	sender, _ := h.sender(clock, nil)
	token, userID, openid := h.notifyUser("n7retry")
	h.subscribe(token, "tpl_test_ref")
	id := h.enqueue(model.Notification{UserID: userID, Kind: "test_ref", Title: "重试", Data: map[string]string{"ref": "r-1"}})

	// WeChat is down (HTTP 503), then busy (errcode -1), then fine.
	h.wx.SetDown(true)
	runOnce(t, sender)
	h.wx.SetDown(false)
	p := h.push(id)
	if p.State != model.PushPending || p.Attempts != 1 || p.LastError == "" {
		t.Fatalf("after the first failure: %+v", p)
	}
	assertDelay(t, p.NextAttemptAt.Sub(clock.Now()), 1*time.Second, 2*time.Second)
	if n := runOnce(t, sender); n != 0 {
		t.Fatalf("retried before the backoff: claimed %d", n)
	}

	h.wx.FailNextSends(1, -1)
	clock.Advance(2 * time.Second)
	runOnce(t, sender)
	p = h.push(id)
	if p.State != model.PushPending || p.Attempts != 2 {
		t.Fatalf("after the second failure: %+v", p)
	}
	assertDelay(t, p.NextAttemptAt.Sub(clock.Now()), 2*time.Second, 4*time.Second)
	if s := sendsTo(h.wx, openid); len(s) != 0 {
		t.Fatalf("sent while failing: %+v", s)
	}

	clock.Advance(4 * time.Second)
	runOnce(t, sender)
	if p = h.push(id); p.State != model.PushSent || p.Attempts != 3 {
		t.Fatalf("after recovery: %+v", p)
	}
	clock.Advance(time.Hour)
	runOnce(t, sender)
	if s := sendsTo(h.wx, openid); len(s) != 1 || s[0].Data["character_string2"] != "r-1" {
		t.Fatalf("want exactly one send: %+v", s)
	}
	if r := h.remaining(token, "tpl_test_ref"); r != 0 {
		t.Errorf("a retried message took %d extra grants", 1-r)
	}
}

func assertDelay(t *testing.T, got, lo, hi time.Duration) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("backoff %s, want within [%s, %s]", got, lo, hi)
	}
}

func TestSendIsDeadLetteredAfterMaxAttempts(t *testing.T) {
	h := newHarness(t)
	clock := newSenderClock()
	sender, reg := h.sender(clock, func(c *service.NotificationsConfig) { c.MaxAttempts = 3 })
	token, userID, openid := h.notifyUser("n7dead")
	h.subscribe(token, "tpl_test_ref")
	id := h.enqueue(model.Notification{UserID: userID, Kind: "test_ref", Title: "失败", Data: map[string]string{"ref": "d-1"}})

	h.wx.FailNextSends(3, -1)
	for range 3 {
		runOnce(t, sender)
		clock.Advance(time.Minute)
	}
	h.wx.FailNextSends(0, 0)
	p := h.push(id)
	if p.State != model.PushDead || p.Attempts != 3 || p.GrantHeld {
		t.Fatalf("push: %+v", p)
	}
	runOnce(t, sender)
	if s := sendsTo(h.wx, openid); len(s) != 0 {
		t.Fatalf("dead message sent: %+v", s)
	}
	// The undelivered message gave its grant back.
	if r := h.remaining(token, "tpl_test_ref"); r != 1 {
		t.Errorf("%d grants left, want 1", r)
	}
	if got := gathered(t, reg, "jindalai_notify_dead_lettered_total"); got != 1 {
		t.Errorf("dead-lettered metric %v", got)
	}
	if got := gathered(t, reg, "jindalai_notify_retried_total"); got != 2 {
		t.Errorf("retried metric %v", got)
	}
	if got := gathered(t, reg, "jindalai_notify_failed_total"); got != 3 {
		t.Errorf("failed metric %v", got)
	}
}

// gathered sums every sample of a metric family in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

func TestRefusedSendIsSkippedAndKeepsTheGrant(t *testing.T) {
	h := newHarness(t)
	token, userID, openid := h.notifyUser("n7refused")
	h.wx.RefuseOpenID(openid)
	h.subscribe(token, "tpl_test_ref")
	id := h.enqueue(model.Notification{UserID: userID, Kind: "test_ref", Title: "拒收", Data: map[string]string{"ref": "x"}})
	runOnce(t, h.notify)
	p := h.push(id)
	if p.State != model.PushSkipped || p.SkipReason != model.SkipRefused || p.Attempts != 1 || p.GrantHeld {
		t.Fatalf("push: %+v", p)
	}
	if r := h.remaining(token, "tpl_test_ref"); r != 1 {
		t.Errorf("%d grants left, want 1 (WeChat consumed nothing)", r)
	}
	if n := runOnce(t, h.notify); n != 0 {
		t.Errorf("refused message retried")
	}
}

func TestTwoSendersSendEachMessageOnce(t *testing.T) {
	h := newHarness(t)
	const users, perUser = 3, 40
	ctx := context.Background()
	openids := map[string]bool{}
	want := map[string]bool{}
	for u := range users {
		_, userID, openid := h.notifyUser(fmt.Sprintf("n7two%d", u))
		openids[openid] = true
		ns := make([]model.Notification, perUser)
		for i := range ns {
			if _, err := h.store.AddSubscribeGrants(ctx, nil, userID, []string{"tpl_test_ref"}); err != nil {
				t.Fatal(err)
			}
			ref := fmt.Sprintf("u%d-%d", u, i)
			want[ref] = true
			ns[i] = model.Notification{UserID: userID, Kind: "test_ref", Title: "并发", Data: map[string]string{"ref": ref}}
		}
		if err := h.store.EnqueueNotifications(ctx, ns...); err != nil {
			t.Fatal(err)
		}
	}
	small := func(c *service.NotificationsConfig) { c.BatchSize = 7; c.Every = 5 * time.Millisecond }
	a, regA := h.sender(nil, small)
	b, regB := h.sender(nil, small)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, s := range []*service.Notifications{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Run(runCtx)
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pending, err := h.store.CountPendingNotifications(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sent := gathered(t, regA, "jindalai_notify_sent_total") + gathered(t, regB, "jindalai_notify_sent_total")
		if pending == 0 && sent == users*perUser {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending %d, sent %v after 30s", pending, sent)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	stop()
	wg.Wait()

	seen := map[string]int{}
	for _, s := range h.wx.Sends() {
		if openids[s.ToUser] {
			seen[s.Data["character_string2"]]++
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d distinct messages sent, want %d", len(seen), len(want))
	}
	for ref, n := range seen {
		if n != 1 || !want[ref] {
			t.Errorf("message %s sent %d times", ref, n)
		}
	}
	sentA, sentB := gathered(t, regA, "jindalai_notify_sent_total"), gathered(t, regB, "jindalai_notify_sent_total")
	t.Logf("sender A sent %v, sender B sent %v", sentA, sentB)
}

func TestClaimOfACrashedSenderIsSentAfterItsLease(t *testing.T) {
	h := newHarness(t)
	clock := newSenderClock()
	sender, _ := h.sender(clock, nil)
	token, userID, openid := h.notifyUser("n7crash")
	h.subscribe(token, "tpl_test_ref")
	id := h.enqueue(model.Notification{UserID: userID, Kind: "test_ref", Title: "崩溃", Data: map[string]string{"ref": "c-1"}})

	// A replica claims the message and dies before sending it.
	b, err := h.store.ClaimNotifications(context.Background(), model.OutboxClaim{
		Token: "crashed-replica", Now: clock.Now(), LeaseUntil: clock.Now().Add(time.Minute), Limit: 10,
		Templates: map[string]string{"test_ref": "tpl_test_ref"},
	})
	if err != nil || len(b.Send) != 1 {
		t.Fatalf("claim: %+v %v", b, err)
	}
	if n := runOnce(t, sender); n != 0 {
		t.Fatalf("another sender took a leased message: %d", n)
	}
	clock.Advance(time.Minute)
	runOnce(t, sender)
	if p := h.push(id); p.State != model.PushSent || p.Attempts != 2 {
		t.Fatalf("after the lease: %+v", p)
	}
	if s := sendsTo(h.wx, openid); len(s) != 1 {
		t.Fatalf("sends: %+v", s)
	}
	// The grant reserved by the dead replica was used, no second one taken.
	if r := h.remaining(token, "tpl_test_ref"); r != 0 {
		t.Errorf("%d grants left", r)
	}
}

func TestSenderStopsAtShutdown(t *testing.T) {
	h := newHarness(t)
	sender, _ := h.sender(nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		sender.Run(ctx)
		close(done)
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
