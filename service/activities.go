package service

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"jindalai/model"
)

// ActivityStore is what volunteers, activities, claims and hours need from storage.
type ActivityStore interface {
	CreateVolunteer(ctx context.Context, idem *model.Idempotency, v model.Volunteer,
		reply func(model.Volunteer, model.User) (json.RawMessage, error)) (json.RawMessage, error)
	GetVolunteer(ctx context.Context, userID int64) (model.Volunteer, error)
	UpdateVolunteer(ctx context.Context, v model.Volunteer) error
	ListOrgMembers(ctx context.Context, orgID, afterUserID int64, limit int) ([]model.Volunteer, error)
	OrgMemberHours(ctx context.Context, orgID int64, from, to time.Time, afterUserID int64, limit int) ([]model.MemberHours, error)

	CreateActivity(ctx context.Context, idem *model.Idempotency, a model.Activity) (model.Activity, bool, error)
	GetActivity(ctx context.Context, id int64) (model.Activity, error)
	ListActivities(ctx context.Context, f model.ActivityFilter) ([]model.Activity, error)
	UpdateActivity(ctx context.Context, id int64, edit func(*model.Activity) error,
		promoted func(model.Activity, model.Claim) model.Notification,
		changed func(before, after model.Activity) func(volunteerID int64) model.Notification) (model.Activity, error)
	CancelActivity(ctx context.Context, id int64, at time.Time, reason string, check func(model.Activity) error,
		credit func(a model.Activity, checkedIn, at time.Time) int,
		notify func(a model.Activity, volunteerIDs []int64) []model.Notification) (model.Activity, error)

	ClaimActivity(ctx context.Context, idem *model.Idempotency, activityID, volunteerID int64, now time.Time,
		check func(model.Activity) error, notify func(model.Activity, model.Claim) []model.Notification) (model.Claim, bool, error)
	CancelClaim(ctx context.Context, activityID, volunteerID int64, check func(model.Activity, model.Claim) error,
		promoted func(model.Activity, model.Claim) model.Notification) (model.Claim, error)
	GetLiveClaim(ctx context.Context, activityID, volunteerID int64) (model.Claim, error)
	GetClaim(ctx context.Context, id int64) (model.Claim, error)
	ListActivityClaims(ctx context.Context, activityID, afterID int64, limit int) ([]model.Claim, error)
	ListVolunteerClaims(ctx context.Context, volunteerID, beforeID int64, limit int) ([]model.Claim, error)
	CheckIn(ctx context.Context, claimID int64, at time.Time, method string) (model.Claim, error)
	CheckOut(ctx context.Context, claimID int64, at time.Time, minutes int) (model.Claim, error)
	SetCreditedMinutes(ctx context.Context, claimID, by int64, to int, reason string, check func(model.Claim) error) (model.Claim, error)
	VolunteerHours(ctx context.Context, volunteerID, beforeID int64, limit int) (int64, []model.HoursEntry, error)

	CurrentCheckinCode(ctx context.Context, activityID int64, candidate string, now time.Time, rotation, grace time.Duration) (model.CheckinCode, error)
	CheckinCodes(ctx context.Context, activityID int64) ([]model.CheckinCode, error)
}

// Directory is what activities need to know of stations, organizations and
// the service catalogue (the stations service implements it).
type Directory interface {
	ScopeChecker
	Category(ctx context.Context, code string) (model.Category, error)
}

// SessionReissuer gives a user whose roles change a fresh session, ends it
// when the change does not commit, and ends the others once it does (the
// Auth service implements it).
type SessionReissuer interface {
	ReplaceSessions(ctx context.Context, user model.User) (model.Login, error)
	EndSession(ctx context.Context, userID int64, token string) error
	EndOtherSessions(ctx context.Context, userID int64, token string) error
}

// ActivitiesConfig holds the activity rules from config.
type ActivitiesConfig struct {
	CheckinRadiusM       int
	CheckinOpensBefore   time.Duration
	CodeRotation         time.Duration
	CodeGrace            time.Duration
	CheckoutGrace        time.Duration
	NearbyRadiusM        int
	MaxCapacity          int
	MaxCreditedHours     int
	MaxDuration          time.Duration
	CheckinPerMinuteUser int
	// Now is the clock (nil: time.Now); tests move it instead of sleeping.
	Now func() time.Time
}

// Activities runs volunteers, activities, claims, check-in and the hours ledger.
type Activities struct {
	store    ActivityStore
	dir      Directory
	sessions SessionReissuer
	limit    RateLimiter
	pii      *PII
	cfg      ActivitiesConfig
	loc      *time.Location
	log      *slog.Logger
	now      func() time.Time
}

// NewActivities returns the activities service. dir may be nil (tools,
// tests): station and organization ids and categories are then not checked.
func NewActivities(store ActivityStore, dir Directory, sessions SessionReissuer, limit RateLimiter, pii *PII,
	cfg ActivitiesConfig, loc *time.Location, log *slog.Logger) *Activities {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Activities{store: store, dir: dir, sessions: sessions, limit: limit, pii: pii, cfg: cfg, loc: loc, log: log, now: now}
}

// ActivityInput is a new activity.
type ActivityInput struct {
	Title, Description, Category string
	StationID, OrgID             int64
	Lat, Lng                     float64
	Address                      string
	StartsAt, EndsAt             time.Time
	// SignupDeadline zero means the start.
	SignupDeadline time.Time
	Capacity       int
	CreditedHours  float64
	Waitlist       bool
}

// ActivityPatch is an edit of an activity; nil fields stay.
type ActivityPatch struct {
	Title, Description, Category, Address *string
	Lat, Lng                              *float64
	StartsAt, EndsAt, SignupDeadline      *time.Time
	Capacity                              *int
	CreditedHours                         *float64
	Waitlist                              *bool
}

// canOrganize reports whether p may publish and manage activities of the
// station or organization: its staff, its org admin, or a city admin.
func canOrganize(p model.Principal, stationID, orgID int64) bool {
	switch {
	case p.IsCityAdmin():
		return true
	case stationID != 0:
		return p.HasStationRole(stationID, model.RoleSocialWorker, model.RoleStationAdmin)
	case orgID != 0:
		return p.HasOrgRole(orgID, model.RoleOrgAdmin)
	}
	return false
}

func errNotOrganizer() error {
	return model.Errorf(model.CodePermissionDenied, "只有活动的组织者可以执行此操作")
}

// CreateActivity publishes an activity for a station (its social workers and
// admins) or an organization (its admins); city admins may publish for any.
// Errors: invalid_argument (the fields), permission_denied, conflict
// (idempotency key reused), unavailable, internal.
func (s *Activities) CreateActivity(ctx context.Context, p model.Principal, idem *model.Idempotency, in ActivityInput) (model.Activity, error) {
	if (in.StationID > 0) == (in.OrgID > 0) || in.StationID < 0 || in.OrgID < 0 {
		return model.Activity{}, model.InvalidField("station_id", "必须且只能提供 station_id 或 org_id 之一")
	}
	if !canOrganize(p, in.StationID, in.OrgID) {
		return model.Activity{}, model.Errorf(model.CodePermissionDenied, "只能为本站点或本组织发布活动")
	}
	if in.SignupDeadline.IsZero() {
		in.SignupDeadline = in.StartsAt
	}
	a := model.Activity{
		Title: strings.TrimSpace(in.Title), Description: strings.TrimSpace(in.Description), Category: in.Category,
		StationID: in.StationID, OrgID: in.OrgID, Lat: model.PositiveZero(in.Lat), Lng: model.PositiveZero(in.Lng), Address: strings.TrimSpace(in.Address),
		StartsAt: in.StartsAt, EndsAt: in.EndsAt, SignupDeadline: in.SignupDeadline, Capacity: in.Capacity,
		CreditedMinutes: int(math.Round(in.CreditedHours * 60)), Waitlist: in.Waitlist, CreatedBy: p.UserID,
	}
	fe := model.FieldErrors{}
	s.validateActivity(fe, a, in.CreditedHours)
	now := s.now()
	if !a.StartsAt.After(now) {
		fe.Add("starts_at", "必须晚于当前时间")
	}
	if !a.SignupDeadline.After(now) {
		fe.Add("signup_deadline", "必须晚于当前时间")
	}
	if err := fe.Err(); err != nil {
		return model.Activity{}, err
	}
	if err := checkScope(ctx, s.dir, in.StationID, in.OrgID); err != nil {
		return model.Activity{}, err
	}
	if err := s.checkCategory(ctx, a.Category); err != nil {
		return model.Activity{}, err
	}
	out, _, err := s.store.CreateActivity(ctx, idem, a)
	return out, err
}

// checkCategory accepts a service area (elder_care, ...) or an active
// category of the catalogue. Errors: invalid_argument (category), unavailable.
func (s *Activities) checkCategory(ctx context.Context, code string) error {
	if _, ok := model.AreaNames[code]; ok || s.dir == nil {
		return nil
	}
	c, err := s.dir.Category(ctx, code)
	if model.IsCode(err, model.CodeNotFound) || err == nil && !c.Active {
		return model.InvalidField("category", "不是服务领域或在用的服务类别")
	}
	return err
}

// validateActivity checks an activity's fields against each other and the
// configured limits; hours is the credited_hours as sent.
func (s *Activities) validateActivity(fe model.FieldErrors, a model.Activity, hours float64) {
	if n := utf8.RuneCountInString(a.Title); n == 0 || n > 64 || hasControl(a.Title) {
		fe.Add("title", "必须是 1–64 个字符")
	}
	if utf8.RuneCountInString(a.Description) > 2000 {
		fe.Add("description", "最长 2000 个字符")
	}
	if !model.ValidCategoryCode(a.Category) {
		fe.Add("category", "必须是服务类别代码")
	}
	fe.Merge((model.Point{Lat: a.Lat, Lng: a.Lng}).CheckPlace())
	if n := utf8.RuneCountInString(a.Address); n == 0 || n > 256 || hasControl(a.Address) {
		fe.Add("address", "必须是 1–256 个字符")
	}
	if a.StartsAt.IsZero() {
		fe.Add("starts_at", "必填")
	}
	switch {
	case a.EndsAt.IsZero():
		fe.Add("ends_at", "必填")
	case !a.EndsAt.After(a.StartsAt):
		fe.Add("ends_at", "必须晚于开始时间")
	case a.EndsAt.Sub(a.StartsAt) > s.cfg.MaxDuration:
		fe.Add("ends_at", "活动时长不能超过 "+s.cfg.MaxDuration.String())
	}
	if a.SignupDeadline.After(a.StartsAt) {
		fe.Add("signup_deadline", "不能晚于开始时间")
	}
	if a.Capacity < 1 || a.Capacity > s.cfg.MaxCapacity {
		fe.Add("capacity", "必须是 1–"+formatID(int64(s.cfg.MaxCapacity))+" 的整数")
	}
	switch {
	case !(hours > 0) || hours > float64(s.cfg.MaxCreditedHours) || a.CreditedMinutes < 1:
		fe.Add("credited_hours", "必须大于 0 且不超过 "+formatID(int64(s.cfg.MaxCreditedHours)))
	case a.EndsAt.After(a.StartsAt) && time.Duration(a.CreditedMinutes)*time.Minute > a.EndsAt.Sub(a.StartsAt):
		fe.Add("credited_hours", "不能超过活动时长")
	}
}

// UpdateActivity edits an activity (its organizers only). Growing the
// capacity promotes waitlisted volunteers in the same transaction. A change
// of the start or end time or of the place (address or coordinates) gives
// every volunteer holding a live claim an activity_changed notification in
// the same transaction; other edits notify nobody.
// Errors: invalid_argument (the fields), permission_denied, not_found,
// failed_precondition (cancelled or ended, capacity below the confirmed
// claims), unavailable, internal.
func (s *Activities) UpdateActivity(ctx context.Context, p model.Principal, id int64, patch ActivityPatch) (model.Activity, error) {
	// The category is looked up before the transaction, but a bad one is
	// reported only to an organizer: permission comes before validation.
	var badCategory error
	if patch.Category != nil {
		err := s.checkCategory(ctx, strings.TrimSpace(*patch.Category))
		if err != nil && !model.IsCode(err, model.CodeInvalid) {
			return model.Activity{}, err
		}
		badCategory = err
	}
	edit := func(a *model.Activity) error {
		if !canOrganize(p, a.StationID, a.OrgID) {
			return errNotOrganizer()
		}
		if badCategory != nil {
			return badCategory
		}
		now := s.now()
		if a.Status != model.ActivityPublished {
			return model.Errorf(model.CodeFailedPrecondition, "已取消的活动不能修改")
		}
		if !now.Before(a.EndsAt) {
			return model.Errorf(model.CodeFailedPrecondition, "已结束的活动不能修改")
		}
		hours := a.CreditedHours
		applyPatch(a, patch, &hours)
		fe := model.FieldErrors{}
		s.validateActivity(fe, *a, hours)
		if patch.StartsAt != nil && !patch.StartsAt.After(now) {
			fe.Add("starts_at", "必须晚于当前时间")
		}
		if err := fe.Err(); err != nil {
			return err
		}
		if a.Capacity < a.Confirmed {
			return &model.Error{Code: model.CodeFailedPrecondition, Message: "名额不能少于已确认人数",
				Fields: map[string]string{"capacity": "不能少于已确认的 " + formatID(int64(a.Confirmed)) + " 人"}}
		}
		return nil
	}
	return s.store.UpdateActivity(ctx, id, edit, s.promotedNote, s.changedNote)
}

func applyPatch(a *model.Activity, patch ActivityPatch, hours *float64) {
	setString := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	setString(&a.Title, patch.Title)
	setString(&a.Description, patch.Description)
	setString(&a.Category, patch.Category)
	setString(&a.Address, patch.Address)
	for _, f := range []struct {
		dst *float64
		v   *float64
	}{{&a.Lat, patch.Lat}, {&a.Lng, patch.Lng}} {
		if f.v != nil {
			*f.dst = model.PositiveZero(*f.v)
		}
	}
	for _, f := range []struct {
		dst *time.Time
		v   *time.Time
	}{{&a.StartsAt, patch.StartsAt}, {&a.EndsAt, patch.EndsAt}, {&a.SignupDeadline, patch.SignupDeadline}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if patch.Capacity != nil {
		a.Capacity = *patch.Capacity
	}
	if patch.Waitlist != nil {
		a.Waitlist = *patch.Waitlist
	}
	if patch.CreditedHours != nil {
		*hours = *patch.CreditedHours
		a.CreditedMinutes = int(math.Round(*hours * 60))
	}
}

// CancelActivity cancels an activity before its end (its organizers only);
// every volunteer holding a claim gets an activity_cancelled notification in
// the same transaction, and those on site are checked out, credited the
// minutes served so far (they cannot check out of a cancelled activity). Errors: invalid_argument (reason), permission_denied,
// not_found, failed_precondition (already cancelled or ended), unavailable, internal.
func (s *Activities) CancelActivity(ctx context.Context, p model.Principal, id int64, reason string) (model.Activity, error) {
	reason = strings.TrimSpace(reason)
	check := func(a model.Activity) error {
		if !canOrganize(p, a.StationID, a.OrgID) {
			return errNotOrganizer()
		}
		if n := utf8.RuneCountInString(reason); n == 0 || n > 256 || hasControl(reason) {
			return model.InvalidField("reason", "必须是 1–256 个字符")
		}
		if a.Status != model.ActivityPublished {
			return model.Errorf(model.CodeFailedPrecondition, "活动已取消")
		}
		if !s.now().Before(a.EndsAt) {
			return model.Errorf(model.CodeFailedPrecondition, "活动已结束，不能取消")
		}
		return nil
	}
	notify := func(a model.Activity, volunteers []int64) []model.Notification {
		out := make([]model.Notification, 0, len(volunteers))
		for _, uid := range volunteers {
			n := s.activityNote(a, uid, "activity_cancelled", "活动已取消", "已取消",
				"你报名的活动「"+a.Title+"」（"+s.timeText(a.StartsAt)+"）已取消："+reason)
			n.Data["note"] = reason
			out = append(out, n)
		}
		return out
	}
	return s.store.CancelActivity(ctx, id, s.now(), reason, check, servedMinutes, notify)
}

// GetActivity returns an activity with the caller's live claim, if any.
// Errors: not_found, unavailable, internal.
func (s *Activities) GetActivity(ctx context.Context, p model.Principal, id int64) (model.Activity, error) {
	a, err := s.store.GetActivity(ctx, id)
	if err != nil {
		return model.Activity{}, err
	}
	c, err := s.store.GetLiveClaim(ctx, id, p.UserID)
	switch {
	case err == nil:
		a.MyClaim = &c
	case !model.IsCode(err, model.CodeNotFound):
		return model.Activity{}, err
	}
	return a, nil
}

// notification texts

func (s *Activities) timeText(t time.Time) string { return t.In(s.loc).Format("2006-01-02 15:04") }

func (s *Activities) activityNote(a model.Activity, userID int64, kind, title, status, body string) model.Notification {
	return model.Notification{
		UserID: userID, Kind: kind, Title: title, Body: body,
		Data: map[string]string{"title": a.Title, "status": status, "time": s.timeText(a.StartsAt), "place": a.Address},
		Page: "pages/activity/detail?id=" + formatID(a.ID), RefType: "activity", RefID: a.ID,
	}
}

func (s *Activities) confirmedNote(a model.Activity, c model.Claim) []model.Notification {
	if c.Status != model.ClaimConfirmed {
		return nil
	}
	return []model.Notification{s.activityNote(a, c.VolunteerID, "claim_confirmed", "活动报名成功", "已确认",
		"你已成功报名活动「"+a.Title+"」，时间 "+s.timeText(a.StartsAt)+"，地点 "+a.Address+"。")}
}

func (s *Activities) promotedNote(a model.Activity, c model.Claim) model.Notification {
	return s.activityNote(a, c.VolunteerID, "claim_promoted", "候补转为正式名额", "已确认",
		"你在活动「"+a.Title+"」的候补已转为正式名额，时间 "+s.timeText(a.StartsAt)+"，地点 "+a.Address+"。")
}
