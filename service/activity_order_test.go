package service_test

import (
	"context"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/service"
	"jindalai/store/storetest"
)

// orderDirectory knows stations 1 and 2, organization 7 and the active
// category home_visit.
type orderDirectory struct{}

func (orderDirectory) StationExists(_ context.Context, id int64) (bool, error) {
	return id == 1 || id == 2, nil
}
func (orderDirectory) OrgExists(_ context.Context, id int64) (bool, error) { return id == 7, nil }
func (orderDirectory) Category(_ context.Context, code string) (model.Category, error) {
	if code != "home_visit" {
		return model.Category{}, model.NotFound("服务类别")
	}
	return model.Category{Code: code, Area: model.AreaElderCare, Active: true}, nil
}

// TestActivityPermissionBeforeValidation: whoever may not organize an
// activity is refused (permission_denied) whatever they send, so a refusal
// never reveals which input would have been wrong; an organizer gets the
// field named.
func TestActivityPermissionBeforeValidation(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	pii, _ := service.NewPII([]byte("test-only-pii-key-32-bytes-long!"))
	f := &activityFixture{clock: newClock()}
	f.svc = service.NewActivities(st, orderDirectory{}, nil, nil, pii, service.ActivitiesConfig{MaxCapacity: 100, MaxCreditedHours: 8,
		MaxDuration: 12 * time.Hour, CheckoutGrace: time.Hour, Now: f.clock.Now}, st.Loc, discardLog())
	organizer, stranger := worker(101, 1), worker(102, 2)
	a := f.create(t, organizer, 1)

	badCategory, empty := "no_such_service", ""
	for name, patch := range map[string]service.ActivityPatch{
		"unknown category": {Category: &badCategory},
		"empty title":      {Title: &empty},
	} {
		_, err := f.svc.UpdateActivity(ctx, stranger, a.ID, patch)
		if !model.IsCode(err, model.CodePermissionDenied) {
			t.Errorf("update by a non-organizer, %s: %v, want permission_denied", name, err)
		}
		_, err = f.svc.UpdateActivity(ctx, organizer, a.ID, patch)
		if !model.IsCode(err, model.CodeInvalid) {
			t.Errorf("update by the organizer, %s: %v, want invalid_argument", name, err)
		}
	}
	if _, err := f.svc.UpdateActivity(ctx, organizer, a.ID, service.ActivityPatch{Category: &badCategory}); fieldOf(err) != "category" {
		t.Errorf("update by the organizer, unknown category: %v, want the category named", err)
	}

	if _, err := f.svc.CancelActivity(ctx, stranger, a.ID, "  "); !model.IsCode(err, model.CodePermissionDenied) {
		t.Errorf("cancel by a non-organizer without a reason: %v, want permission_denied", err)
	}
	if _, err := f.svc.CancelActivity(ctx, organizer, a.ID, "  "); fieldOf(err) != "reason" {
		t.Errorf("cancel by the organizer without a reason: %v, want the reason named", err)
	}

	start := f.clock.Now().Add(time.Hour)
	_, err := f.svc.CreateActivity(ctx, stranger, nil, service.ActivityInput{Title: "", Category: badCategory, StationID: 1,
		StartsAt: start, EndsAt: start.Add(time.Hour)})
	if !model.IsCode(err, model.CodePermissionDenied) {
		t.Errorf("create for another station with bad fields: %v, want permission_denied", err)
	}

	if got, err := f.svc.GetActivity(ctx, organizer, a.ID); err != nil || got.Status != model.ActivityPublished || got.Category != a.Category {
		t.Fatalf("the refusals changed the activity: %+v %v", got, err)
	}
}

// fieldOf returns the one field an invalid_argument error names, or "".
func fieldOf(err error) string {
	var me *model.Error
	if !asError(err, &me) || me.Code != model.CodeInvalid || len(me.Fields) != 1 {
		return ""
	}
	for f := range me.Fields {
		return f
	}
	return ""
}
