package service

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"jindalai/model"
)

// NotificationStore is what the outbox sender, the subscribe grants and the
// inbox need from storage.
type NotificationStore interface {
	ClaimNotifications(ctx context.Context, c model.OutboxClaim) (model.ClaimedBatch, error)
	FinishNotification(ctx context.Context, id int64, token string, o model.PushOutcome) (bool, error)
	ReleaseNotifications(ctx context.Context, token string) (int64, error)
	ReclaimExpiredNotifications(ctx context.Context, at time.Time) (int64, error)
	CountPendingNotifications(ctx context.Context) (int64, error)
	AddSubscribeGrants(ctx context.Context, idem *model.Idempotency, userID int64, templateIDs []string) (map[string]int, error)
	SubscribeGrants(ctx context.Context, userID int64) (map[string]int, error)
	ListMessages(ctx context.Context, userID, beforeID int64, limit int, unreadOnly bool) ([]model.Message, error)
	CountUnreadMessages(ctx context.Context, userID int64) (int64, error)
	MarkMessageRead(ctx context.Context, userID, id int64, at time.Time) (model.Message, error)
	MarkAllMessagesRead(ctx context.Context, userID int64, at time.Time) (int64, error)
}

// SubscribeSender sends one WeChat subscribe message (the wechat adapter).
type SubscribeSender interface {
	SendSubscribe(ctx context.Context, msg model.SubscribeMessage) error
}

// Template is the subscribe-message template of a notification kind: its
// WeChat id, the mini-program page it opens when the notification names
// none, and which data key fills which keyword (thing1 → "title").
type Template struct {
	ID     string
	Page   string
	Fields map[string]string
}

// NotificationsConfig holds the sender's rules.
type NotificationsConfig struct {
	// Templates maps a notification kind to its template; other kinds are
	// in-app only.
	Templates        map[string]Template
	MiniProgramState string
	// Every is how often the loop looks for due messages.
	Every time.Duration
	// MaxAttempts failed attempts dead-letter a message.
	MaxAttempts int
	// BaseBackoff doubles after every failed attempt, up to MaxBackoff; each
	// delay is jittered to between half and all of it.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	BatchSize   int
	// Lease is how long a claim lasts; SendTimeout bounds one send (the
	// WeChat HTTP timeout). A send starts only while the lease has room for
	// two SendTimeouts (token fetch and send) and the bookkeeping after it.
	Lease       time.Duration
	SendTimeout time.Duration
	// IsRefused tells a send WeChat refused because the user holds no grant
	// (wechat.IsRefused); IsRetryable a failure worth trying again
	// (wechat.IsRetryable). Defaults classify by model error code.
	IsRefused   func(error) bool
	IsRetryable func(error) bool
	// Now is the sender's clock (default time.Now); Jitter returns a number
	// in [0, 1) (default math/rand/v2). Tests replace both.
	Now    func() time.Time
	Jitter func() float64
}

// Notifications delivers the outbox as WeChat subscribe messages, records
// the one-time grants users accept, and serves the in-app inbox.
type Notifications struct {
	store     NotificationStore
	wx        SubscribeSender
	cfg       NotificationsConfig
	templates map[string]string // kind → template id
	byID      map[string][]string
	loc       *time.Location
	log       *slog.Logger
	metrics   *notifyMetrics
}

// NewNotifications returns the notifications service and registers its
// metrics on reg (nil: none). It fails when a template has no id or a
// keyword of no known WeChat type, when the lease cannot cover a send
// (2 × SendTimeout + 10s), or when the metrics are already registered.
func NewNotifications(st NotificationStore, wx SubscribeSender, cfg NotificationsConfig, reg prometheus.Registerer, loc *time.Location, log *slog.Logger) (*Notifications, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if cfg.IsRefused == nil {
		cfg.IsRefused = func(err error) bool { return model.IsCode(err, model.CodeFailedPrecondition) }
	}
	if cfg.IsRetryable == nil {
		cfg.IsRetryable = func(err error) bool {
			return model.IsCode(err, model.CodeUnavailable) || model.IsCode(err, model.CodeTooManyRequests)
		}
	}
	cfg.BatchSize = max(cfg.BatchSize, 1)
	cfg.MaxAttempts = max(cfg.MaxAttempts, 1)
	if cfg.Every <= 0 {
		cfg.Every = time.Second
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 10 * time.Second
	}
	if cfg.BaseBackoff <= 0 || cfg.MaxBackoff < cfg.BaseBackoff {
		return nil, fmt.Errorf("notifications: backoff must be positive and at most the maximum")
	}
	if cfg.Lease < 2*cfg.SendTimeout+finishMargin+5*time.Second {
		return nil, fmt.Errorf("notifications: lease %s is too short for a send timeout of %s", cfg.Lease, cfg.SendTimeout)
	}
	n := &Notifications{store: st, wx: wx, cfg: cfg, templates: map[string]string{}, byID: map[string][]string{}, loc: loc, log: log}
	for kind, t := range cfg.Templates {
		if t.ID == "" {
			return nil, fmt.Errorf("notifications: template of %s has no id", kind)
		}
		for keyword := range t.Fields {
			if !knownKeywordTypes[keywordType(keyword)] {
				return nil, fmt.Errorf("notifications: template of %s: unknown keyword type %q", kind, keyword)
			}
		}
		n.templates[kind] = t.ID
		n.byID[t.ID] = append(n.byID[t.ID], kind)
	}
	for _, kinds := range n.byID {
		slices.Sort(kinds)
	}
	m, err := newNotifyMetrics(reg)
	if err != nil {
		return nil, err
	}
	n.metrics = m
	return n, nil
}

var knownKeywordTypes = map[string]bool{
	"thing": true, "number": true, "letter": true, "symbol": true, "character_string": true, "time": true,
	"date": true, "amount": true, "phone_number": true, "car_number": true, "name": true, "phrase": true, "enum": true,
}

// maxGrantIDs bounds the template ids of one subscription call (the
// mini-program asks for at most 3 at a time).
const maxGrantIDs = 20

// Subscribe records the one-time grants the caller just accepted in the
// mini-program (one message per template id; duplicates count once) and
// returns the caller's grants for every configured template. With idem set,
// a retry replays the first reply. Errors: invalid_argument (template_ids:
// empty, too many or not configured), conflict (idempotency key reused),
// unavailable, internal.
func (n *Notifications) Subscribe(ctx context.Context, p model.Principal, templateIDs []string, idem *model.Idempotency) ([]model.SubscriptionGrant, error) {
	if len(templateIDs) == 0 {
		return nil, model.InvalidField("template_ids", "至少需要一个模板 ID")
	}
	if len(templateIDs) > maxGrantIDs {
		return nil, model.InvalidField("template_ids", fmt.Sprintf("最多 %d 个模板 ID", maxGrantIDs))
	}
	var unknown []string
	for _, id := range templateIDs {
		if _, ok := n.byID[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return nil, model.InvalidField("template_ids", "未配置的模板 ID: "+valueCutEllipsis(strings.Join(unknown, ", "), 120))
	}
	grants, err := n.store.AddSubscribeGrants(ctx, idem, p.UserID, templateIDs)
	if err != nil {
		return nil, err
	}
	return n.grantList(grants), nil
}

// Subscriptions returns the caller's remaining grants for every configured
// template, with the kinds each template carries, so the mini-program knows
// which template ids to ask for. Errors: unavailable, internal.
func (n *Notifications) Subscriptions(ctx context.Context, p model.Principal) ([]model.SubscriptionGrant, error) {
	grants, err := n.store.SubscribeGrants(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return n.grantList(grants), nil
}

func (n *Notifications) grantList(grants map[string]int) []model.SubscriptionGrant {
	out := make([]model.SubscriptionGrant, 0, len(n.byID))
	for id, kinds := range n.byID {
		out = append(out, model.SubscriptionGrant{TemplateID: id, Kinds: kinds, Remaining: grants[id]})
	}
	slices.SortFunc(out, func(a, b model.SubscriptionGrant) int { return strings.Compare(a.TemplateID, b.TemplateID) })
	return out
}

// Inbox returns a page of the caller's messages, newest first (only unread
// ones when unreadOnly), with the count of all unread ones.
// Errors: invalid_argument (cursor), unavailable, internal.
func (n *Notifications) Inbox(ctx context.Context, p model.Principal, page model.Page, unreadOnly bool) (model.Inbox, error) {
	before, err := model.DecodeCursor(page.Cursor)
	if err != nil {
		return model.Inbox{}, err
	}
	limit := min(max(page.Limit, 1), 100)
	items, err := n.store.ListMessages(ctx, p.UserID, before, limit+1, unreadOnly)
	if err != nil {
		return model.Inbox{}, err
	}
	l := model.CutPage(items, limit, func(m model.Message) int64 { return m.ID })
	out := model.Inbox{Items: l.Items, NextCursor: l.NextCursor}
	if out.UnreadCount, err = n.store.CountUnreadMessages(ctx, p.UserID); err != nil {
		return model.Inbox{}, err
	}
	return out, nil
}

// MarkRead marks one of the caller's messages read (reading it again keeps
// the first time) and returns it. Errors: not_found (not the caller's),
// unavailable, internal.
func (n *Notifications) MarkRead(ctx context.Context, p model.Principal, id int64) (model.Message, error) {
	return n.store.MarkMessageRead(ctx, p.UserID, id, n.cfg.Now())
}

// MarkAllRead marks every unread message of the caller read and returns how
// many it marked. Errors: unavailable, internal.
func (n *Notifications) MarkAllRead(ctx context.Context, p model.Principal) (int64, error) {
	return n.store.MarkAllMessagesRead(ctx, p.UserID, n.cfg.Now())
}

// notifyMetrics count the sender's outcomes.
type notifyMetrics struct {
	sent    *prometheus.CounterVec
	failed  *prometheus.CounterVec
	retried *prometheus.CounterVec
	dead    *prometheus.CounterVec
	skipped *prometheus.CounterVec
	depth   prometheus.Gauge
}

func newNotifyMetrics(reg prometheus.Registerer) (*notifyMetrics, error) {
	counter := func(name, help string, label string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jindalai_notify_" + name, Help: help}, []string{label})
	}
	m := &notifyMetrics{
		sent:    counter("sent_total", "Subscribe messages accepted by WeChat, by kind.", "kind"),
		failed:  counter("failed_total", "Failed subscribe-message send attempts, by kind.", "kind"),
		retried: counter("retried_total", "Messages scheduled for another attempt after a failure, by kind.", "kind"),
		dead:    counter("dead_lettered_total", "Messages given up after their last attempt (dead-lettered), by kind.", "kind"),
		skipped: counter("skipped_total", "Messages left in-app only, by reason (no_template, no_grant, refused, no_openid).", "reason"),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "jindalai_notify_queue_depth",
			Help: "Notifications waiting for the sender (pending), sampled by the loop.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.sent, m.failed, m.retried, m.dead, m.skipped, m.depth} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("notifications: metrics: %w", err)
		}
	}
	return m, nil
}
