package model

import "time"

// Push states of a notification's WeChat delivery (notifications.push_state).
const (
	// PushPending waits for the sender (next_attempt_at says when).
	PushPending = "pending"
	// PushSending is claimed by one sender until its lease runs out.
	PushSending = "sending"
	// PushSent was accepted by WeChat.
	PushSent = "sent"
	// PushSkipped is in-app only (SkipReason says why).
	PushSkipped = "skipped"
	// PushDead failed for good (dead-lettered) after the last attempt.
	PushDead = "dead"
)

// Why a notification stayed in-app only (notifications.skip_reason).
const (
	SkipNoTemplate = "no_template"
	SkipNoGrant    = "no_grant"
	SkipRefused    = "refused"
	SkipNoOpenID   = "no_openid"
)

// Message is a notification as its recipient sees it in the in-app inbox.
type Message struct {
	ID      int64             `json:"id"`
	Kind    string            `json:"kind"`
	Title   string            `json:"title"`
	Body    string            `json:"body"`
	Data    map[string]string `json:"data"`
	Page    string            `json:"page"`
	RefType string            `json:"ref_type"`
	RefID   int64             `json:"ref_id"`
	Read    bool              `json:"read"`
	// ReadAt is nil while unread.
	ReadAt    *time.Time `json:"read_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// Inbox is one page of a user's messages, newest first, with the number of
// all their unread messages.
type Inbox struct {
	Items       []Message `json:"items"`
	NextCursor  string    `json:"next_cursor"`
	UnreadCount int64     `json:"unread_count"`
}

// SubscriptionGrant is how many one-time subscribe messages of one template a
// user may still receive, and which notification kinds use the template.
type SubscriptionGrant struct {
	TemplateID string   `json:"template_id"`
	Kinds      []string `json:"kinds"`
	Remaining  int      `json:"remaining"`
}

// OutboxItem is a notification claimed by a sender for delivery as a
// subscribe message, with the grant it reserved.
type OutboxItem struct {
	ID         int64
	UserID     int64
	OpenID     string
	Kind       string
	Title      string
	Body       string
	Data       map[string]string
	Page       string
	TemplateID string
	// Attempts is the number of earlier send attempts.
	Attempts  int
	CreatedAt time.Time
}

// OutboxClaim asks ClaimNotifications for a batch of due notifications.
type OutboxClaim struct {
	// Token identifies the claimer; only it can finish or release the rows.
	Token string
	// Now is the claimer's clock: rows due at or before it are claimed.
	Now time.Time
	// LeaseUntil is when the claim lapses and the rows may be claimed again
	// (the sender sweeps expired leases).
	LeaseUntil time.Time
	Limit      int
	// Templates maps a notification kind to its subscribe-message template
	// id; a kind that is absent is in-app only.
	Templates map[string]string
}

// ClaimedBatch is what one claim took.
type ClaimedBatch struct {
	// Send are the rows to deliver now; each holds one grant of its template.
	Send []OutboxItem
	// Skipped counts the rows made in-app only, by reason (Skip*).
	Skipped map[string]int
}

// PushOutcome is how the delivery attempt of a claimed notification ended.
type PushOutcome struct {
	// State is the new push state: PushSent, PushPending (retry),
	// PushSkipped or PushDead.
	State string
	// At is the time of the attempt (sent_at when sent).
	At time.Time
	// NextAttemptAt is when a retried row is due again.
	NextAttemptAt time.Time
	SkipReason    string
	// Error is recorded as last_error.
	Error string
	// ReturnGrant gives the reserved grant back: the message was not delivered.
	ReturnGrant bool
}

// PushStatus is the delivery record of one notification.
type PushStatus struct {
	State         string
	SkipReason    string
	Attempts      int
	TemplateID    string
	GrantHeld     bool
	LastError     string
	NextAttemptAt time.Time
	SentAt        *time.Time
}
