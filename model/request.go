package model

import "time"

// RequestStatus is the state of a resident's request (诉求).
type RequestStatus string

// The request states of DESIGN.md "Matching and dispatch".
const (
	StatusSubmitted  RequestStatus = "submitted"
	StatusDispatched RequestStatus = "dispatched"
	StatusAccepted   RequestStatus = "accepted"
	StatusInProgress RequestStatus = "in_progress"
	StatusResolved   RequestStatus = "resolved"
	StatusClosed     RequestStatus = "closed"
	StatusCancelled  RequestStatus = "cancelled"
	StatusReopened   RequestStatus = "reopened"
)

// RequestStatuses lists every state, in lifecycle order.
var RequestStatuses = []RequestStatus{StatusSubmitted, StatusDispatched, StatusAccepted, StatusInProgress,
	StatusResolved, StatusClosed, StatusCancelled, StatusReopened}

// Valid reports whether s is a known state.
func (s RequestStatus) Valid() bool {
	for _, v := range RequestStatuses {
		if v == s {
			return true
		}
	}
	return false
}

// Open reports whether the request still waits for someone to accept it
// (it sits in a queue).
func (s RequestStatus) Open() bool { return s == StatusDispatched || s == StatusReopened }

// requestTransitions is the whole state machine: the states each state may
// move to. dispatched → dispatched is a re-dispatch (reject, transfer,
// escalation). A reopened request waits in its station's queue again.
var requestTransitions = map[RequestStatus][]RequestStatus{
	StatusSubmitted:  {StatusDispatched, StatusCancelled},
	StatusDispatched: {StatusDispatched, StatusAccepted, StatusCancelled},
	StatusAccepted:   {StatusInProgress},
	StatusInProgress: {StatusResolved},
	StatusResolved:   {StatusClosed, StatusReopened},
	StatusReopened:   {StatusAccepted},
	StatusClosed:     nil,
	StatusCancelled:  nil,
}

// CanTransition reports whether the state machine allows from → to.
func CanTransition(from, to RequestStatus) bool {
	for _, s := range requestTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// CheckTransition returns nil when from → to is allowed, else a
// failed_precondition Error naming the current state.
func CheckTransition(from, to RequestStatus) error {
	if CanTransition(from, to) {
		return nil
	}
	return Errorf(CodeFailedPrecondition, "诉求当前状态为「%s」，不能变为「%s」", from.Label(), to.Label())
}

// Label is the Chinese name of a state, for messages.
func (s RequestStatus) Label() string {
	switch s {
	case StatusSubmitted:
		return "已提交"
	case StatusDispatched:
		return "待签收"
	case StatusAccepted:
		return "已签收"
	case StatusInProgress:
		return "处理中"
	case StatusResolved:
		return "已办结"
	case StatusClosed:
		return "已关闭"
	case StatusCancelled:
		return "已撤销"
	case StatusReopened:
		return "重新办理"
	}
	return string(s)
}

// Urgency of a request: urgent ones are dispatched with a shorter accept-by
// deadline and come first in a queue.
type Urgency string

// The urgencies.
const (
	UrgencyNormal Urgency = "normal"
	UrgencyUrgent Urgency = "urgent"
)

// EventKind names what a request event records.
type EventKind string

// The request event kinds. Every state change writes one; notes change no state.
const (
	EventSubmit   EventKind = "submit"
	EventDispatch EventKind = "dispatch"
	EventAccept   EventKind = "accept"
	EventReject   EventKind = "reject"
	EventTransfer EventKind = "transfer"
	EventEscalate EventKind = "escalate"
	EventStart    EventKind = "start"
	EventResolve  EventKind = "resolve"
	EventRate     EventKind = "rate"
	EventReopen   EventKind = "reopen"
	EventClose    EventKind = "close"
	EventCancel   EventKind = "cancel"
	EventNote     EventKind = "note"
)

// ActorSystem is the actor role of changes made by the background loops.
const ActorSystem = "system"

// Resolution is how a worker closed out a request.
type Resolution struct {
	Summary        string    `json:"summary"`
	ServiceMinutes int       `json:"service_minutes"`
	ResolvedAt     time.Time `json:"resolved_at"`
}

// Rating is the resident's verdict on a resolved request.
type Rating struct {
	Score   int       `json:"score"`
	Comment string    `json:"comment"`
	RatedAt time.Time `json:"rated_at"`
}

// Request is a resident's need and where it stands in dispatch. The fields
// tagged "-" are the dispatch state kept on the row.
type Request struct {
	ID           int64          `json:"id"`
	Status       RequestStatus  `json:"status"`
	Category     string         `json:"category"`
	CategoryName string         `json:"category_name"`
	Description  string         `json:"description"`
	Address      string         `json:"address"`
	Lat          float64        `json:"lat"`
	Lng          float64        `json:"lng"`
	Urgency      Urgency        `json:"urgency"`
	ContactPhone string         `json:"contact_phone"`
	Images       []string       `json:"images"`
	Fields       map[string]any `json:"fields"`
	// Station holds the request (dispatched to it, or accepted by its worker).
	Station StationRef `json:"station"`
	// Org is the organization the request was transferred to, if any.
	Org           *OrgRef     `json:"org"`
	Organizations []OrgRef    `json:"organizations"`
	AcceptBy      time.Time   `json:"accept_by"`
	Bounces       int         `json:"bounces"`
	MustTake      bool        `json:"must_take"`
	WorkerID      *int64      `json:"worker_id"`
	AcceptedAt    *time.Time  `json:"accepted_at"`
	Resolution    *Resolution `json:"resolution"`
	Rating        *Rating     `json:"rating"`
	ClosedAt      *time.Time  `json:"closed_at"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
	// Timeline is filled only for a single request read.
	Timeline []TimelineEntry `json:"timeline,omitempty"`

	ResidentID      int64  `json:"-"`
	ContactPhoneEnc []byte `json:"-"`
	// Candidates are the matched stations in dispatch order (ending with the
	// parent chain up to the city station); CandidatePos is the index of the
	// last one used.
	Candidates   []StationRef `json:"-"`
	CandidatePos int          `json:"-"`
	// Version increments with every update; updates are conditional on it.
	Version int64 `json:"-"`
}

// OrgID returns the id of the organization holding the request, or 0.
func (r Request) OrgID() int64 {
	if r.Org == nil {
		return 0
	}
	return r.Org.ID
}

// QueueScore orders a station's queue: urgent first, then by accept-by time.
func (r Request) QueueScore() int64 {
	score := r.AcceptBy.UnixMilli()
	if r.Urgency == UrgencyUrgent {
		score -= 1e13
	}
	return score
}

// RequestEvent is one row of a request's history: a state change (From → To)
// or an internal note.
type RequestEvent struct {
	ID        int64
	RequestID int64
	Kind      EventKind
	From      RequestStatus
	To        RequestStatus
	ActorID   int64
	ActorRole string
	StationID int64
	OrgID     int64
	Note      string
	// Internal events (notes) are never shown to the resident.
	Internal bool
	At       time.Time
}

// TimelineEntry is an event as GET /requests/{id} shows it.
type TimelineEntry struct {
	At        time.Time     `json:"at"`
	Kind      EventKind     `json:"kind"`
	From      RequestStatus `json:"from"`
	To        RequestStatus `json:"to"`
	ActorRole string        `json:"actor_role"`
	Note      string        `json:"note"`
	Internal  bool          `json:"internal,omitempty"`
}

// RequestFilter selects requests for a list. Zero fields do not filter.
type RequestFilter struct {
	ResidentID int64
	WorkerID   int64
	// StationIDs and OrgIDs restrict to requests held by these (either).
	StationIDs []int64
	OrgIDs     []int64
	Status     RequestStatus
}

// Audience selects who receives a notification: one user, or the holders of
// Roles at a station or an organization.
type Audience struct {
	UserID    int64
	StationID int64
	OrgID     int64
	Roles     []RoleName
}

// RequestNotice is a notification to an audience, resolved to user rows by
// the store inside the transaction of the change it reports.
type RequestNotice struct {
	To           Audience
	Notification Notification
}

// RequestChange is one conditional update of a request: it applies only if
// the row still has Before's version and status (and, when DueBy is set, an
// accept_by at or before it), and writes Event and Notices in the same
// transaction.
type RequestChange struct {
	Before  Request
	After   Request
	DueBy   time.Time
	Event   RequestEvent
	Notices []RequestNotice
}

// QueueCursor is a position in a queue: after (Score, ID).
type QueueCursor struct {
	Score int64
	ID    int64
}

// QueueFilter selects the open requests of queues: held by any of
// StationIDs (not transferred to an organization) or any of OrgIDs; All
// selects every open request.
type QueueFilter struct {
	StationIDs []int64
	OrgIDs     []int64
	All        bool
}
