package service

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"jindalai/model"
)

// RequestStore is what requests and dispatch need from storage: MySQL rows
// (the truth) and the Redis queues and deadline set derived from them.
type RequestStore interface {
	// ServiceStatsReader gives Stats its bookings and activities figures.
	ServiceStatsReader
	CreateRequest(ctx context.Context, idem *model.Idempotency, r model.Request, events []model.RequestEvent, notices []model.RequestNotice) (model.Request, bool, error)
	PrepareRequest(nr model.NewRequest) (model.PreparedRequest, error)
	CreateRequests(ctx context.Context, batch []model.PreparedRequest, commitIf func() error) ([]model.Request, error)
	// KeptRequest reads what a stored submit key keeps; found is false
	// when the key is not stored.
	KeptRequest(ctx context.Context, idem *model.Idempotency) (kept model.Request, found bool, err error)
	GetRequest(ctx context.Context, id int64) (model.Request, error)
	// GetRequests leaves Candidates empty: list reads never dispatch.
	GetRequests(ctx context.Context, ids []int64) ([]model.Request, error)
	ListRequests(ctx context.Context, f model.RequestFilter, afterID int64, limit int) ([]model.Request, error)
	QueueFromDB(ctx context.Context, f model.QueueFilter, after *model.QueueCursor, limit int) ([]model.Request, error)
	// StationAdmins returns the ids of the users holding station_admin at
	// the station (none: empty).
	StationAdmins(ctx context.Context, stationID int64) ([]int64, error)
	RequestTimeline(ctx context.Context, requestID int64, withInternal bool) ([]model.RequestEvent, error)
	// AddRequestEvent writes the event in one transaction with idem (nil:
	// no key); a replayed key returns the first event.
	AddRequestEvent(ctx context.Context, idem *model.Idempotency, e model.RequestEvent) (model.RequestEvent, error)
	UpdateRequest(ctx context.Context, ch model.RequestChange) (model.Request, bool, error)
	OverdueRequests(ctx context.Context, t time.Time, limit int) ([]model.Request, error)
	ResolvedBefore(ctx context.Context, t time.Time, limit int) ([]int64, error)
	RequestStatRows(ctx context.Context, from, to time.Time, stationIDs []int64) ([]model.RequestStatRow, error)

	PlaceRequest(ctx context.Context, before *model.Request, after model.Request) error
	PlaceNewRequests(ctx context.Context, rs []model.Request) error
	ClaimDueRequests(ctx context.Context, t time.Time, n int) ([]int64, error)
	SetDeadline(ctx context.Context, id int64, at time.Time) error
	RestoreDeadlines(ctx context.Context, rs []model.Request) (int64, error)
	RestoreQueueEntries(ctx context.Context) (int64, error)
	QueueEntries(ctx context.Context, stationID, orgID int64, after *model.QueueCursor, limit int) (entries []model.QueueCursor, more, present bool, err error)
	DropStaleQueueEntries(ctx context.Context, stationID, orgID int64, stale []model.QueueCursor) error
	DispatchIndexPresent(ctx context.Context) (bool, error)
	RebuildDispatchIndex(ctx context.Context) (int, error)
}

// DispatchDirectory is what dispatch needs of the station tree, the
// catalogue and the matcher. The stations service implements it.
type DispatchDirectory interface {
	// Match returns candidate stations best first, ending with the parent
	// chain up to the city station, nearby organizations and the category
	// as the catalogue knows it; it refuses an unknown or inactive category
	// (invalid_argument naming category).
	Match(ctx context.Context, p model.Point, category string) (model.MatchResult, error)
	// Ancestors returns a station's parents, nearest first.
	Ancestors(ctx context.Context, stationID int64) ([]model.StationRef, error)
	StationRef(ctx context.Context, id int64) (model.StationRef, error)
	OrgRef(ctx context.Context, id int64) (model.OrgRef, error)
	// Subtree returns a station and every station below it.
	Subtree(ctx context.Context, stationID int64) ([]int64, error)
	// Queued tells Match that a new request was put in stationID's queue.
	Queued(stationID int64)
}

// RequestsConfig holds the dispatch rules from config.
type RequestsConfig struct {
	AcceptByUrgent      time.Duration
	AcceptByNormal      time.Duration
	MaxBounces          int
	AutoCloseAfter      time.Duration
	EscalationEvery     time.Duration
	SweepEvery          time.Duration
	SubmitPerMinuteUser int
	// WritesPerMinuteUser is the caller's write budget (see WriteLimit): the
	// api does not take it for a submit, which takes it with the submit
	// limit, in the same round trip. 0 leaves it out.
	WritesPerMinuteUser int
	// SubmitBatchMax is the most submits one transaction writes (group
	// commit, see request_batch.go); 0 means 64, 1 turns batching off.
	SubmitBatchMax int
	// SubmitBatchesInFlight is how many batch transactions may run at once;
	// 0 means 1 (two concurrent batches cost MySQL more CPU per submit
	// than they save on a small server: see cmd/dispatchbench).
	SubmitBatchesInFlight int
	// SubmitBatchWindow is the longest a batch waits for submits already
	// under way (matching) to join it; 0 never waits.
	SubmitBatchWindow time.Duration
	// Now is the clock (tests move it); nil is time.Now.
	Now func() time.Time
}

// Requests is the service of residents' requests and their dispatch: submit,
// the worker actions, the resident actions and the background loops
// (escalation, sweep, auto-close, reconciler).
type Requests struct {
	store RequestStore
	dir   DispatchDirectory
	limit RateLimiter
	pii   *PII
	cfg   RequestsConfig
	loc   *time.Location
	log   *slog.Logger
	// needRebuild is set when a Redis update failed after a commit; the
	// maintenance loop then rebuilds the queues from MySQL.
	needRebuild atomic.Bool
	kick        chan struct{}
	// admins: the station admins that submits tell, cached.
	admins *stationAdminCache
	// batch is the submit group commit; nil when turned off.
	batch *submitBatcher
	// limits are what a submit takes a token of: the write budget and the
	// submit limit, those configured; batchLimit is limit when it checks
	// many subjects, and several limits, at once (request_limits.go).
	limits     []model.RateLimit
	batchLimit BatchRateLimiter
	refused    refusedSubjects
}

// NewRequests returns the requests service.
func NewRequests(store RequestStore, dir DispatchDirectory, limit RateLimiter, pii *PII, cfg RequestsConfig, loc *time.Location, log *slog.Logger) *Requests {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.EscalationEvery <= 0 {
		cfg.EscalationEvery = time.Second
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = time.Minute
	}
	s := &Requests{store: store, dir: dir, limit: limit, pii: pii, cfg: cfg, loc: loc, log: log, kick: make(chan struct{}, 1)}
	if limit != nil {
		if cfg.WritesPerMinuteUser > 0 {
			s.limits = append(s.limits, model.RateLimit{Name: WriteLimit, PerMinute: cfg.WritesPerMinuteUser})
		}
		if cfg.SubmitPerMinuteUser > 0 {
			s.limits = append(s.limits, model.RateLimit{Name: "submit", PerMinute: cfg.SubmitPerMinuteUser})
		}
	}
	if bl, ok := limit.(BatchRateLimiter); ok && len(s.limits) > 0 {
		s.batchLimit = bl
	}
	s.admins = newStationAdminCache(s)
	s.batch = newSubmitBatcher(s)
	return s
}

func (s *Requests) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

// SubmitInput is a resident's new request. Lat and Lng are required.
type SubmitInput struct {
	Category     string
	Description  string
	Address      string
	Lat, Lng     *float64
	Urgency      model.Urgency
	ContactPhone string
	Images       []string
	Fields       map[string]any
}

// contactPhoneValid reports whether phone is an optional "+", a digit,
// then 4 to 19 digits or dashes.
func contactPhoneValid(phone string) bool {
	rest := strings.TrimPrefix(phone, "+")
	if len(rest) < 5 || len(rest) > 20 || rest[0] < '0' || rest[0] > '9' {
		return false
	}
	for i := 1; i < len(rest); i++ {
		if (rest[i] < '0' || rest[i] > '9') && rest[i] != '-' {
			return false
		}
	}
	return true
}

// validate checks everything but the category and its fields.
func (in *SubmitInput) validate() error {
	fe := model.FieldErrors{}
	in.Category = strings.TrimSpace(in.Category)
	if in.Category == "" {
		fe.Add("category", "必填")
	}
	in.Description = strings.TrimSpace(in.Description)
	if n := utf8.RuneCountInString(in.Description); n == 0 {
		fe.Add("description", "请描述您的诉求")
	} else if n > 1000 || !utf8.ValidString(in.Description) {
		fe.Add("description", "最多 1000 个字")
	}
	in.Address = strings.TrimSpace(in.Address)
	if utf8.RuneCountInString(in.Address) > 200 || hasControl(in.Address) {
		fe.Add("address", "最多 200 个字")
	}
	if in.Lat == nil {
		fe.Add("lat", "必填")
	}
	if in.Lng == nil {
		fe.Add("lng", "必填")
	}
	if in.Lat != nil && in.Lng != nil {
		fe.Merge((model.Point{Lat: *in.Lat, Lng: *in.Lng}).CheckPlace())
	}
	switch in.Urgency {
	case "":
		in.Urgency = model.UrgencyNormal
	case model.UrgencyNormal, model.UrgencyUrgent:
	default:
		fe.Add("urgency", "必须是 normal 或 urgent")
	}
	in.ContactPhone = strings.TrimSpace(in.ContactPhone)
	if in.ContactPhone != "" && !contactPhoneValid(in.ContactPhone) {
		fe.Add("contact_phone", "电话号码格式不正确")
	}
	if len(in.Images) > 9 {
		fe.Add("images", "最多 9 张图片")
	}
	for _, u := range in.Images {
		if len(u) > 512 || !strings.HasPrefix(u, "https://") {
			fe.Add("images", "图片必须是 https 地址，最长 512 个字符")
		}
	}
	if in.Images == nil {
		in.Images = []string{}
	}
	if in.Fields == nil {
		in.Fields = map[string]any{}
	}
	return fe.Err()
}

// Submit validates a resident's request against its category, matches it
// and stores it dispatched to the first candidate station, with its events
// and the station admins' notifications (the admins as read at most
// stationAdminsTTL before), in one transaction that also holds
// the idempotency key (idem may be nil); then puts it in the station's queue
// and the deadline set. A retry with the same key returns the first reply,
// also once the rate limit refuses new submits. Concurrent submits share one
// transaction (request_batch.go); the rate limit is decided before anything
// is kept, and before the input (request_limits.go).
// Errors: invalid_argument (category, description, address, lat, lng,
// urgency, contact_phone, images, fields.<name>), too_many_requests,
// conflict (key reused with another body), unavailable, internal.
func (s *Requests) Submit(ctx context.Context, p model.Principal, in SubmitInput, idem *model.Idempotency) (model.Request, error) {
	joined := s.batch.arriving()
	defer joined()
	if err := s.refused.check(p.UserID); err != nil {
		return s.limited(ctx, idem, err)
	}
	if !s.batchTakesTokens() {
		if err := s.allowSubmit(ctx, p.UserID); err != nil {
			return s.limited(ctx, idem, err)
		}
	}
	nr, err := s.newRequest(ctx, p, in)
	if err != nil {
		if s.batchTakesTokens() {
			if lerr := s.allowSubmit(ctx, p.UserID); lerr != nil {
				return s.limited(ctx, idem, lerr)
			}
		}
		return model.Request{}, err
	}
	nr.Idem = idem
	return s.create(ctx, nr, joined)
}

// newRequest validates and matches a submit and builds what create stores.
// Errors: invalid_argument, unavailable, internal.
func (s *Requests) newRequest(ctx context.Context, p model.Principal, in SubmitInput) (model.NewRequest, error) {
	if err := in.validate(); err != nil {
		return model.NewRequest{}, err
	}
	match, err := s.dir.Match(ctx, model.Point{Lat: *in.Lat, Lng: *in.Lng}, in.Category)
	if err != nil {
		return model.NewRequest{}, err
	}
	cat := match.Category
	if err := cat.CheckFields(in.Fields); err != nil {
		return model.NewRequest{}, err
	}
	candidates := dedupeCandidates(match.Stations)
	if len(candidates) == 0 {
		return model.NewRequest{}, model.Errorf(model.CodeUnavailable, "暂无可受理的社工站，请稍后再试")
	}
	t := s.now()
	r := model.Request{
		ResidentID:      p.UserID,
		Status:          model.StatusDispatched,
		Category:        cat.Code,
		CategoryName:    cat.Name,
		Description:     in.Description,
		Address:         in.Address,
		Lat:             model.PositiveZero(*in.Lat),
		Lng:             model.PositiveZero(*in.Lng),
		Urgency:         in.Urgency,
		ContactPhone:    MaskPhone(in.ContactPhone),
		ContactPhoneEnc: s.pii.Encrypt("requests.contact_phone", in.ContactPhone),
		Images:          in.Images,
		Fields:          in.Fields,
		Station:         candidates[0],
		Organizations:   match.Orgs,
		AcceptBy:        t.Add(s.acceptWithin(in.Urgency)).In(s.loc),
		Candidates:      candidates,
	}
	if r.Organizations == nil {
		r.Organizations = []model.OrgRef{}
	}
	events := []model.RequestEvent{
		{Kind: model.EventSubmit, To: model.StatusSubmitted, ActorID: p.UserID, ActorRole: string(model.RoleResident), StationID: r.Station.ID},
		{Kind: model.EventDispatch, From: model.StatusSubmitted, To: model.StatusDispatched, ActorRole: model.ActorSystem, StationID: r.Station.ID},
	}
	notices := s.admins.resolve(ctx, s.dispatchNotices(r, false))
	return model.NewRequest{Request: r, Events: events, Notices: notices}, nil
}

// replayRefused answers a keyed submit the rate limit refused: a retry
// whose key is stored gets the first reply, as API.md promises for every
// retry (the client may well be retrying because it was limited); anything
// else gets the refusal.
func (s *Requests) replayRefused(ctx context.Context, idem *model.Idempotency, refusal error) (model.Request, error) {
	kept, found, err := s.store.KeptRequest(ctx, idem)
	if err != nil {
		return model.Request{}, err
	}
	if !found {
		return model.Request{}, refusal
	}
	return s.created(ctx, kept)
}

// batchTakesTokens reports whether a submit's rate-limit tokens are taken
// by its batch, for every member in one round trip (request_limits.go),
// rather than by the submit itself first.
func (s *Requests) batchTakesTokens() bool { return s.batch != nil && s.batchLimit != nil }

// TakesWriteBudget reports whether Submit takes a token of the caller's
// write budget (WriteLimit) itself, in the same check as the submit limit;
// when it does not, the caller of Submit must take it.
func (s *Requests) TakesWriteBudget() bool {
	return slices.ContainsFunc(s.limits, func(l model.RateLimit) bool { return l.Name == WriteLimit })
}

// acceptWithin is the accept-by allowance of an urgency.
func (s *Requests) acceptWithin(u model.Urgency) time.Duration {
	if u == model.UrgencyUrgent {
		return s.cfg.AcceptByUrgent
	}
	return s.cfg.AcceptByNormal
}

// dedupeCandidates keeps the first occurrence of each station.
func dedupeCandidates(cs []model.Candidate) []model.StationRef {
	seen := make(map[int64]bool, len(cs))
	out := make([]model.StationRef, 0, len(cs))
	for _, c := range cs {
		if c.Station.ID != 0 && !seen[c.Station.ID] {
			seen[c.Station.ID] = true
			out = append(out, c.Station)
		}
	}
	return out
}

// place mirrors a committed change in Redis. A failure is logged and the
// maintenance loop is asked to rebuild the queues from MySQL.
func (s *Requests) place(ctx context.Context, before *model.Request, after model.Request) {
	if err := s.store.PlaceRequest(ctx, before, after); err != nil {
		s.log.Warn("dispatch index update failed; queues will be rebuilt", "request_id", after.ID, "err", err)
		s.requestRebuild()
	}
}

// Get returns a request with its timeline, if the caller may see it: its
// resident (without internal notes, phone masked) or staff in scope.
// Errors: not_found (also for someone else's request), unavailable, internal.
func (s *Requests) Get(ctx context.Context, p model.Principal, id int64) (model.Request, error) {
	r, a, err := s.load(ctx, p, id)
	if err != nil {
		return model.Request{}, err
	}
	events, err := s.store.RequestTimeline(ctx, id, a.staff)
	if err != nil {
		return model.Request{}, err
	}
	out := s.present(r, a.staff)
	out.Timeline = make([]model.TimelineEntry, len(events))
	for i, e := range events {
		out.Timeline[i] = model.TimelineEntry{At: e.At, Kind: e.Kind, From: e.From, To: e.To, ActorRole: e.ActorRole,
			Note: e.Note, Internal: e.Internal}
	}
	return out, nil
}

// ListQuery selects a list of requests: Mine lists the caller's own
// requests as a resident; otherwise the requests in the caller's staff scope.
type ListQuery struct {
	Mine   bool
	Status model.RequestStatus
}

// List returns the caller's requests (Mine) or those in their staff scope,
// newest first. Errors: invalid_argument (status, cursor), permission_denied
// (not staff and not Mine), unavailable, internal.
func (s *Requests) List(ctx context.Context, p model.Principal, q ListQuery, page model.Page) (model.List[model.Request], error) {
	if q.Status != "" && !q.Status.Valid() {
		return model.List[model.Request]{}, model.InvalidField("status", "未知的状态")
	}
	f := model.RequestFilter{Status: q.Status}
	staff := false
	if q.Mine {
		f.ResidentID = p.UserID
	} else {
		scope, err := s.staffScope(ctx, p)
		if err != nil {
			return model.List[model.Request]{}, err
		}
		if !scope.All && len(scope.StationIDs) == 0 && len(scope.OrgIDs) == 0 {
			return model.List[model.Request]{}, model.Errorf(model.CodePermissionDenied, "只有工作人员可以查看站点的诉求")
		}
		f.StationIDs, f.OrgIDs, staff = scope.StationIDs, scope.OrgIDs, true
	}
	return s.listBy(ctx, f, page, staff)
}

// Tasks returns the requests the caller accepted, newest first, optionally
// in one status. Errors: invalid_argument (status, cursor), unavailable, internal.
func (s *Requests) Tasks(ctx context.Context, p model.Principal, status model.RequestStatus, page model.Page) (model.List[model.Request], error) {
	if status != "" && !status.Valid() {
		return model.List[model.Request]{}, model.InvalidField("status", "未知的状态")
	}
	return s.listBy(ctx, model.RequestFilter{WorkerID: p.UserID, Status: status}, page, true)
}

func (s *Requests) listBy(ctx context.Context, f model.RequestFilter, page model.Page, staff bool) (model.List[model.Request], error) {
	after, err := model.DecodeCursor(page.Cursor)
	if err != nil {
		return model.List[model.Request]{}, err
	}
	rs, err := s.store.ListRequests(ctx, f, after, page.Limit+1)
	if err != nil {
		return model.List[model.Request]{}, err
	}
	out := model.List[model.Request]{Items: make([]model.Request, 0, len(rs))}
	if len(rs) > page.Limit {
		rs = rs[:page.Limit]
		out.NextCursor = model.EncodeCursor(rs[len(rs)-1].ID)
	}
	for _, r := range rs {
		out.Items = append(out.Items, s.present(r, staff))
	}
	return out, nil
}

// present prepares a request for a reply: the contact phone in full for
// staff in scope, masked for everyone else.
func (s *Requests) present(r model.Request, staff bool) model.Request {
	phone, err := s.pii.Decrypt("requests.contact_phone", r.ContactPhoneEnc)
	if err != nil {
		s.log.Error("contact phone does not decrypt", "request_id", r.ID, "err", err)
	}
	if staff {
		r.ContactPhone = phone
	} else {
		r.ContactPhone = MaskPhone(phone)
	}
	if r.Images == nil {
		r.Images = []string{}
	}
	if r.Fields == nil {
		r.Fields = map[string]any{}
	}
	if r.Organizations == nil {
		r.Organizations = []model.OrgRef{}
	}
	r.AcceptBy = r.AcceptBy.In(s.loc)
	r.CreatedAt = r.CreatedAt.In(s.loc)
	r.UpdatedAt = r.UpdatedAt.In(s.loc)
	return r
}
