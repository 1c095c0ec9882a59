package service

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"jindalai/model"
)

func TestFitValueKeepsWeChatLimits(t *testing.T) {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	created := time.Date(2025, 3, 1, 8, 5, 0, 0, shanghai)
	long := strings.Repeat("很", 30)
	cases := []struct{ keyword, in, want string }{
		{"thing1", "小区路灯坏了", "小区路灯坏了"},
		{"thing1", long, strings.Repeat("很", 19) + "…"},
		{"thing1", strings.Repeat("a", 21), strings.Repeat("a", 19) + "…"},
		{"thing1", "第一行\n\t第二行", "第一行 第二行"},
		{"thing1", "", "无"},
		{"thing12", "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀", strings.Repeat("😀", 19) + "…"},
		{"phrase2", "已受理", "已受理"},
		{"phrase2", "处理中OK了吗还有", "处理中了吗"},
		{"phrase2", "OK", "有更新"},
		{"character_string3", "REQ-2025-0001 号", "REQ-2025-0001"},
		{"character_string3", strings.Repeat("x", 40), strings.Repeat("x", 32)},
		{"number4", "共 12.5 小时", "12.5"},
		{"number4", "1.2.3", "1.23"},
		{"number4", "", "0"},
		{"letter5", "abc123", "abc"},
		{"symbol6", "a-b+c", "-+"},
		{"name7", "张三丰李四王五赵六钱七孙八", "张三丰李四王五赵六钱"},
		{"name7", "Alexander Hamilton Smith", "Alexander Hamilton S"},
		{"phone_number8", "tel 0433-1234567", "0433-1234567"},
		{"time3", "2025-03-01 14:30", "2025年3月1日 14:30"},
		{"time3", "2025-03-01 14:30~15:30", "2025年3月1日 14:30~15:30"},
		{"time3", "2025-03-01 14:30~2025-03-02 09:00", "2025年3月1日 14:30~2025年3月2日 09:00"},
		{"time3", "2025-03-01T06:30:00Z", "2025年3月1日 14:30"},
		{"time3", "下周一", "2025年3月1日 08:05"},
		{"time3", "", "2025年3月1日 08:05"},
		{"date4", "2025-03-01", "2025年3月1日"},
		{"date4", "2025-03-01 14:30", "2025年3月1日 14:30"},
		{"date4", "2025-03-01 00:00", "2025年3月1日"},
		{"amount9", "¥8.88", "¥8.88"},
		{"enum10", "", "-"},
	}
	for _, c := range cases {
		if got := fitValue(c.keyword, c.in, created); got != c.want {
			t.Errorf("fitValue(%s, %q) = %q, want %q", c.keyword, c.in, got, c.want)
		}
	}
	limits := map[string]int{"thing1": 20, "phrase1": 5, "character_string1": 32, "number1": 32, "name1": 10}
	for keyword, limit := range limits {
		got := fitValue(keyword, long+strings.Repeat("9", 40), created)
		if n := utf8.RuneCountInString(got); n > limit || !utf8.ValidString(got) {
			t.Errorf("%s: %q has %d characters, limit %d", keyword, got, n, limit)
		}
	}
}

func TestTemplateValuesFallBackToTitleAndBody(t *testing.T) {
	it := model.OutboxItem{Title: "诉求已受理", Body: "请留意电话", Data: map[string]string{"status": "已签收"},
		CreatedAt: time.Date(2025, 3, 1, 8, 5, 0, 0, time.UTC)}
	got := templateValues(map[string]string{"thing1": "title", "thing2": "body", "phrase3": "status", "thing4": "station"}, it, time.UTC)
	want := map[string]string{"thing1": "诉求已受理", "thing2": "请留意电话", "phrase3": "已签收", "thing4": "无"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestBackoffDoublesUpToTheMaximumWithJitter(t *testing.T) {
	jitter := 0.0
	n, err := NewNotifications(nil, nil, NotificationsConfig{
		BaseBackoff: 2 * time.Second, MaxBackoff: 30 * time.Second, Lease: time.Minute, SendTimeout: 5 * time.Second,
		Jitter: func() float64 { return jitter },
	}, nil, time.UTC, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for failures, full := range map[int]time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 4: 16 * time.Second, 5: 30 * time.Second, 40: 30 * time.Second} {
		jitter = 0
		if got := n.backoff(failures); got != full/2 {
			t.Errorf("failures %d, no jitter: %s, want %s", failures, got, full/2)
		}
		jitter = 0.999999
		if got := n.backoff(failures); got < full-time.Millisecond || got > full {
			t.Errorf("failures %d, most jitter: %s, want about %s", failures, got, full)
		}
	}
}

func TestNewNotificationsRejectsBadConfig(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	base := func() NotificationsConfig {
		return NotificationsConfig{BaseBackoff: time.Second, MaxBackoff: time.Minute, Lease: time.Minute, SendTimeout: 5 * time.Second}
	}
	bad := map[string]func(*NotificationsConfig){
		"unknown keyword": func(c *NotificationsConfig) {
			c.Templates = map[string]Template{"k": {ID: "t", Fields: map[string]string{"title1": "title"}}}
		},
		"no id": func(c *NotificationsConfig) {
			c.Templates = map[string]Template{"k": {Fields: map[string]string{"thing1": "title"}}}
		},
		"short lease": func(c *NotificationsConfig) { c.Lease = 15 * time.Second },
		"no backoff":  func(c *NotificationsConfig) { c.BaseBackoff = 0 },
	}
	for name, tweak := range bad {
		cfg := base()
		tweak(&cfg)
		if _, err := NewNotifications(nil, nil, cfg, nil, time.UTC, log); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestDeadlineTextRoundsUp: a deadline is named by the minute at or after
// it, never the minute before.
func TestDeadlineTextRoundsUp(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	s := &Requests{loc: loc}
	for at, want := range map[time.Time]string{
		time.Date(2031, 5, 6, 15, 40, 58, 0, loc):      "请于 05-06 15:41 前签收",
		time.Date(2031, 5, 6, 15, 40, 0, 0, loc):       "请于 05-06 15:40 前签收",
		time.Date(2031, 5, 6, 23, 59, 0, 1e6, loc):     "请于 05-07 00:00 前签收",
		time.Date(2031, 5, 6, 7, 40, 0, 1e6, time.UTC): "请于 05-06 15:41 前签收",
	} {
		if got := s.deadlineText(at); got != want {
			t.Errorf("deadlineText(%v) = %q, want %q", at, got, want)
		}
	}
}
