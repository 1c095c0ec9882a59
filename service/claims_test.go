package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/service"
	"jindalai/store/storetest"
)

// activityFixture is the activities service over a real store with a
// settable clock.
type activityFixture struct {
	svc   *service.Activities
	clock *clock
}

func newActivityFixture(t *testing.T) *activityFixture {
	t.Helper()
	st := storetest.New(t)
	pii, _ := service.NewPII([]byte("test-only-pii-key-32-bytes-long!"))
	f := &activityFixture{clock: newClock()}
	f.svc = service.NewActivities(st, nil, nil, nil, pii, service.ActivitiesConfig{MaxCapacity: 100, MaxCreditedHours: 8,
		MaxDuration: 12 * time.Hour, CheckoutGrace: time.Hour, Now: f.clock.Now}, st.Loc, discardLog())
	return f
}

// create publishes a two-hour activity of station, starting in an hour.
func (f *activityFixture) create(t *testing.T, by model.Principal, station int64) model.Activity {
	t.Helper()
	start := f.clock.Now().Add(time.Hour)
	a, err := f.svc.CreateActivity(context.Background(), by, nil, service.ActivityInput{Title: "助老", Category: "elder_care",
		StationID: station, Lat: 42.9, Lng: 129.5, Address: "社工站", StartsAt: start, EndsAt: start.Add(2 * time.Hour),
		Capacity: 5, CreditedHours: 2})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// wantError fails unless err has code and message.
func wantError(t *testing.T, what string, err error, code model.Code, message string) {
	t.Helper()
	var me *model.Error
	if !errors.As(err, &me) || me.Code != code || me.Message != message {
		t.Errorf("%s: %v, want %s %q", what, err, code, message)
	}
}

func TestSetCreditedMinutesOfAnotherActivitysClaimIsNotFound(t *testing.T) {
	f := newActivityFixture(t)
	ctx := context.Background()
	organizerA, organizerB := worker(101, 1), worker(102, 2)
	actA, actB := f.create(t, organizerA, 1), f.create(t, organizerB, 2)
	volunteer := model.Principal{UserID: 103, Roles: []model.Role{{Role: model.RoleVolunteer}}}
	claim, err := f.svc.Claim(ctx, volunteer, nil, actB.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(90 * time.Minute) // both have started

	_, err = f.svc.SetCreditedMinutes(ctx, organizerA, actA.ID, claim.ID, 30, "改")
	wantError(t, "a claim of another activity", err, model.CodeNotFound, "认领记录不存在")
	c, err := f.svc.SetCreditedMinutes(ctx, organizerB, actB.ID, claim.ID, 30, "改")
	if err != nil || c.CreditedMinutes != 30 {
		t.Fatalf("its own organizer: %+v %v", c, err)
	}
}

func TestCancelledOrEndedActivityIsNotEdited(t *testing.T) {
	f := newActivityFixture(t)
	ctx := context.Background()
	organizer := worker(101, 1)
	ending, cancelled := f.create(t, organizer, 1), f.create(t, organizer, 1)
	if _, err := f.svc.CancelActivity(ctx, organizer, cancelled.ID, "天气"); err != nil {
		t.Fatal(err)
	}
	title := "新标题"
	_, err := f.svc.UpdateActivity(ctx, organizer, cancelled.ID, service.ActivityPatch{Title: &title})
	wantError(t, "edit of a cancelled activity", err, model.CodeFailedPrecondition, "已取消的活动不能修改")

	f.clock.Advance(3 * time.Hour) // ending has ended
	_, err = f.svc.UpdateActivity(ctx, organizer, ending.ID, service.ActivityPatch{Title: &title})
	wantError(t, "edit of an ended activity", err, model.CodeFailedPrecondition, "已结束的活动不能修改")
	_, err = f.svc.CancelActivity(ctx, organizer, ending.ID, "天气")
	wantError(t, "cancel of an ended activity", err, model.CodeFailedPrecondition, "活动已结束，不能取消")
}
