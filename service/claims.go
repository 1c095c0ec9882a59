package service

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"jindalai/model"
)

// Claim claims a place in an activity for the calling volunteer: confirmed
// while places remain, otherwise waitlisted in arrival order when the
// activity has a waitlist. A confirmed claim notifies the volunteer
// (claim_confirmed) in the same transaction.
// Errors: permission_denied (not a volunteer), not_found, failed_precondition
// (cancelled, sign-up closed), conflict (full without waitlist, already
// claimed, idempotency key reused), unavailable, internal.
func (s *Activities) Claim(ctx context.Context, p model.Principal, idem *model.Idempotency, activityID int64) (model.Claim, error) {
	if !p.Has(model.RoleVolunteer) {
		return model.Claim{}, model.Errorf(model.CodePermissionDenied, "请先注册成为志愿者")
	}
	check := func(a model.Activity) error {
		if a.Status != model.ActivityPublished {
			return model.Errorf(model.CodeFailedPrecondition, "活动已取消")
		}
		if !s.now().Before(a.SignupDeadline) {
			return model.Errorf(model.CodeFailedPrecondition, "报名已截止")
		}
		return nil
	}
	c, _, err := s.store.ClaimActivity(ctx, idem, activityID, p.UserID, s.now(), check, s.confirmedNote)
	return c, err
}

// CancelClaim cancels the caller's claim before the activity starts. A freed
// confirmed place goes to the first waitlisted volunteer, who is notified
// (claim_promoted), in the same transaction.
// Errors: not_found (activity, or no claim), failed_precondition (started,
// cancelled, checked in), unavailable, internal.
func (s *Activities) CancelClaim(ctx context.Context, p model.Principal, activityID int64) (model.Claim, error) {
	check := func(a model.Activity, c model.Claim) error {
		if a.Status != model.ActivityPublished {
			return model.Errorf(model.CodeFailedPrecondition, "活动已取消")
		}
		if !s.now().Before(a.StartsAt) {
			return model.Errorf(model.CodeFailedPrecondition, "活动已开始，不能取消报名")
		}
		return nil
	}
	return s.store.CancelClaim(ctx, activityID, p.UserID, check, s.promotedNote)
}

// CheckinProof is how a volunteer shows they are on site: a location or
// the organizer's code (exactly one).
type CheckinProof struct {
	Lat, Lng *float64
	Code     string
}

// CheckIn checks the caller in on site, within the check-in window (from
// checkin_opens_before the start until the end), by location within the
// configured radius or by the current check-in code. Only confirmed claims
// check in. Errors: invalid_argument (lat/lng/code), not_found (activity or
// claim), failed_precondition (outside the window, too far, wrong or expired
// code, waitlisted, cancelled), conflict (already checked in),
// too_many_requests, unavailable, internal.
func (s *Activities) CheckIn(ctx context.Context, p model.Principal, activityID int64, proof CheckinProof) (model.Claim, error) {
	a, c, method, err := s.onSite(ctx, p, activityID, proof)
	if err != nil {
		return model.Claim{}, err
	}
	now := s.now()
	if now.Before(a.StartsAt.Add(-s.cfg.CheckinOpensBefore)) || !now.Before(a.EndsAt) {
		return model.Claim{}, model.Errorf(model.CodeFailedPrecondition, "不在签到时间内（开始前 %d 分钟至结束）",
			int(s.cfg.CheckinOpensBefore.Minutes()))
	}
	if c.CheckedInAt != nil {
		return model.Claim{}, model.Errorf(model.CodeConflict, "已签到")
	}
	if err := s.proveOnSite(ctx, a, proof, now); err != nil {
		return model.Claim{}, err
	}
	return s.store.CheckIn(ctx, c.ID, now, method)
}

// CheckOut checks the caller out, proven like CheckIn, from the start until
// checkout_grace after the end, and credits the minutes served since
// check-in, capped by the activity's credited hours; the credit is a row of
// the hours ledger. A check-out is final, so one before the start (a slip
// of an early arrival, who would be credited only the wait since check-in)
// is refused.
// Errors: invalid_argument, not_found, failed_precondition (not checked in,
// not started, too late, too far, wrong code), conflict (already checked
// out), too_many_requests, unavailable, internal.
func (s *Activities) CheckOut(ctx context.Context, p model.Principal, activityID int64, proof CheckinProof) (model.Claim, error) {
	a, c, _, err := s.onSite(ctx, p, activityID, proof)
	if err != nil {
		return model.Claim{}, err
	}
	now := s.now()
	switch {
	case c.CheckedInAt == nil:
		return model.Claim{}, model.Errorf(model.CodeFailedPrecondition, "尚未签到")
	case c.CheckedOutAt != nil:
		return model.Claim{}, model.Errorf(model.CodeConflict, "已签退")
	case c.MinutesCheckedAt != nil:
		return model.Claim{}, model.Errorf(model.CodeConflict, "服务时长已由组织者确认")
	case now.Before(a.StartsAt):
		return model.Claim{}, model.Errorf(model.CodeFailedPrecondition, "活动尚未开始，开始后才能签退")
	case now.After(a.EndsAt.Add(s.cfg.CheckoutGrace)):
		return model.Claim{}, model.Errorf(model.CodeFailedPrecondition, "已超过签退时间，请联系组织者确认时长")
	}
	if err := s.proveOnSite(ctx, a, proof, now); err != nil {
		return model.Claim{}, err
	}
	return s.store.CheckOut(ctx, c.ID, now, servedMinutes(a, *c.CheckedInAt, now))
}

// servedMinutes is what a check-out at `at` credits: the whole minutes since
// check-in, capped by the activity's credited minutes.
func servedMinutes(a model.Activity, checkedIn, at time.Time) int {
	return max(0, min(int(at.Sub(checkedIn)/time.Minute), a.CreditedMinutes))
}

// onSite validates the proof's shape, rate-limits the attempt and loads the
// activity and the caller's confirmed claim.
func (s *Activities) onSite(ctx context.Context, p model.Principal, activityID int64, proof CheckinProof) (model.Activity, model.Claim, string, error) {
	method := "location"
	switch {
	case proof.Code != "" && (proof.Lat != nil || proof.Lng != nil):
		return model.Activity{}, model.Claim{}, "", model.InvalidField("code", "只能提供位置或签到码之一")
	case proof.Code != "":
		method = "code"
		if len(proof.Code) > 16 {
			return model.Activity{}, model.Claim{}, "", model.InvalidField("code", "签到码无效")
		}
	case proof.Lat == nil || proof.Lng == nil:
		return model.Activity{}, model.Claim{}, "", model.InvalidField("lat", "必须提供位置（lat、lng）或签到码")
	default:
		if err := (model.Point{Lat: *proof.Lat, Lng: *proof.Lng}).CheckPlace(); err != nil {
			return model.Activity{}, model.Claim{}, "", err
		}
	}
	if err := allowLimit(ctx, s.limit, "checkin", formatID(p.UserID), s.cfg.CheckinPerMinuteUser); err != nil {
		return model.Activity{}, model.Claim{}, "", err
	}
	a, err := s.store.GetActivity(ctx, activityID)
	if err != nil {
		return model.Activity{}, model.Claim{}, "", err
	}
	if a.Status != model.ActivityPublished {
		return model.Activity{}, model.Claim{}, "", model.Errorf(model.CodeFailedPrecondition, "活动已取消")
	}
	c, err := s.store.GetLiveClaim(ctx, activityID, p.UserID)
	if model.IsCode(err, model.CodeNotFound) {
		return model.Activity{}, model.Claim{}, "", model.NotFound("你在此活动的报名")
	}
	if err != nil {
		return model.Activity{}, model.Claim{}, "", err
	}
	if c.Status != model.ClaimConfirmed {
		return model.Activity{}, model.Claim{}, "", model.Errorf(model.CodeFailedPrecondition, "候补中，不能签到")
	}
	return a, c, method, nil
}

// proveOnSite checks the location against the radius, or the code against
// the current and the previous code (the previous one for code_grace after it
// was replaced, so a code read just before the rotation still works).
func (s *Activities) proveOnSite(ctx context.Context, a model.Activity, proof CheckinProof, now time.Time) error {
	if proof.Code == "" {
		d := distanceM(model.Point{Lat: *proof.Lat, Lng: *proof.Lng}, model.Point{Lat: a.Lat, Lng: a.Lng})
		if d > float64(s.cfg.CheckinRadiusM) {
			return model.Errorf(model.CodeFailedPrecondition, "距离活动地点约 %d 米，超出签到范围（%d 米）",
				int(d), s.cfg.CheckinRadiusM)
		}
		return nil
	}
	codes, err := s.store.CheckinCodes(ctx, a.ID)
	if err != nil {
		return err
	}
	given := strings.TrimSpace(proof.Code)
	for _, c := range codes {
		if subtle.ConstantTimeCompare([]byte(c.Code), []byte(given)) == 1 && now.Before(c.ExpiresAt.Add(s.cfg.CodeGrace)) {
			return nil
		}
	}
	return model.Errorf(model.CodeFailedPrecondition, "签到码错误或已过期")
}

// CheckinCode returns the activity's current check-in code for its organizer
// to show; it rotates every code_rotation. Errors: not_found,
// permission_denied (not an organizer), failed_precondition (cancelled or
// over), unavailable, internal.
func (s *Activities) CheckinCode(ctx context.Context, p model.Principal, activityID int64) (model.CheckinCode, error) {
	a, err := s.store.GetActivity(ctx, activityID)
	if err != nil {
		return model.CheckinCode{}, err
	}
	if !canOrganize(p, a.StationID, a.OrgID) {
		return model.CheckinCode{}, errNotOrganizer()
	}
	now := s.now()
	if a.Status != model.ActivityPublished || now.After(a.EndsAt.Add(s.cfg.CheckoutGrace)) {
		return model.CheckinCode{}, model.Errorf(model.CodeFailedPrecondition, "活动已取消或已结束")
	}
	return s.store.CurrentCheckinCode(ctx, activityID, randomDigits(6), now, s.cfg.CodeRotation, s.cfg.CodeGrace)
}

// randomDigits returns n uniformly random decimal digits.
func randomDigits(n int) string {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, err := rand.Int(rand.Reader, limit)
	if err != nil {
		panic("checkin code: no randomness: " + err.Error())
	}
	s := v.String()
	return strings.Repeat("0", n-len(s)) + s
}

// SetCreditedMinutes confirms (same minutes) or corrects the minutes
// credited to one confirmed claim of an activity, by its organizer, once the
// activity has started and the volunteer is not between check-in and
// check-out (until the check-out deadline). A correction needs a reason and
// is recorded in the ledger (who, when, from, to, reason); afterwards
// check-out credits nothing more, so the ledger of a claim always sums to its
// credited minutes.
// Errors: invalid_argument (minutes, reason), permission_denied, not_found
// (activity or claim), failed_precondition (not started, claim not
// confirmed, volunteer still checked in), unavailable, internal.
func (s *Activities) SetCreditedMinutes(ctx context.Context, p model.Principal, activityID, claimID int64, minutes int, reason string) (model.Claim, error) {
	a, err := s.store.GetActivity(ctx, activityID)
	if err != nil {
		return model.Claim{}, err
	}
	if !canOrganize(p, a.StationID, a.OrgID) {
		return model.Claim{}, errNotOrganizer()
	}
	if minutes < 0 || minutes > a.CreditedMinutes {
		return model.Claim{}, model.InvalidField("minutes", "必须是 0–"+strconv.Itoa(a.CreditedMinutes)+" 的整数")
	}
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 256 || hasControl(reason) {
		return model.Claim{}, model.InvalidField("reason", "最长 256 个字符")
	}
	if s.now().Before(a.StartsAt) {
		return model.Claim{}, model.Errorf(model.CodeFailedPrecondition, "活动尚未开始")
	}
	check := func(c model.Claim) error {
		if c.ActivityID != activityID {
			return model.NotFound("认领记录")
		}
		if c.Status != model.ClaimConfirmed {
			return model.Errorf(model.CodeFailedPrecondition, "只能确认已确认名额的服务时长")
		}
		if c.CheckedInAt != nil && c.CheckedOutAt == nil && !s.now().After(a.EndsAt.Add(s.cfg.CheckoutGrace)) {
			return model.Errorf(model.CodeFailedPrecondition, "志愿者尚未签退，请在签退后或签退截止后确认")
		}
		if c.CreditedMinutes != minutes && reason == "" {
			return model.InvalidField("reason", "修改服务时长必须填写原因")
		}
		return nil
	}
	return s.store.SetCreditedMinutes(ctx, claimID, p.UserID, minutes, reason, check)
}

// ListActivityClaims lists the live claims of an activity with the
// volunteers' names and phones, for its organizers.
// Errors: invalid_argument (cursor), not_found, permission_denied, unavailable, internal.
func (s *Activities) ListActivityClaims(ctx context.Context, p model.Principal, activityID int64, page model.Page) (model.List[model.Claim], error) {
	after, err := model.DecodeCursor(page.Cursor)
	if err != nil {
		return model.List[model.Claim]{}, err
	}
	a, err := s.store.GetActivity(ctx, activityID)
	if err != nil {
		return model.List[model.Claim]{}, err
	}
	if !canOrganize(p, a.StationID, a.OrgID) {
		return model.List[model.Claim]{}, errNotOrganizer()
	}
	items, err := s.store.ListActivityClaims(ctx, activityID, after, page.Limit+1)
	if err != nil {
		return model.List[model.Claim]{}, err
	}
	for i := range items {
		if v := items[i].Volunteer; v != nil {
			*v = s.presentVolunteer(*v, true)
		}
	}
	return model.CutPage(items, page.Limit, func(c model.Claim) int64 { return c.ID }), nil
}

// MyClaims lists the caller's claims with their activities, newest first.
// Errors: invalid_argument (cursor), unavailable, internal.
func (s *Activities) MyClaims(ctx context.Context, p model.Principal, page model.Page) (model.List[model.Claim], error) {
	before, err := model.DecodeCursor(page.Cursor)
	if err != nil {
		return model.List[model.Claim]{}, err
	}
	items, err := s.store.ListVolunteerClaims(ctx, p.UserID, before, page.Limit+1)
	if err != nil {
		return model.List[model.Claim]{}, err
	}
	return model.CutPage(items, page.Limit, func(c model.Claim) int64 { return c.ID }), nil
}
