package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"jindalai/model"
)

// fakeScopes knows station 1 and organization 7; with err set it fails.
type fakeScopes struct{ err error }

func (f fakeScopes) StationExists(_ context.Context, id int64) (bool, error) { return id == 1, f.err }
func (f fakeScopes) OrgExists(_ context.Context, id int64) (bool, error)     { return id == 7, f.err }
func (f fakeScopes) Category(context.Context, string) (model.Category, error) {
	return model.Category{}, model.NotFound("服务类别")
}

// fieldOf returns the one field an invalid_argument error names, or "".
func fieldOf(err error) string {
	var me *model.Error
	if !errors.As(err, &me) || me.Code != model.CodeInvalid || len(me.Fields) != 1 {
		return ""
	}
	for f := range me.Fields {
		return f
	}
	return ""
}

func TestUnknownStationOrOrganizationNamesItsField(t *testing.T) {
	ctx := context.Background()
	admin := model.Principal{UserID: 1, Roles: []model.Role{{Role: model.RoleCityAdmin}}}
	auth := &Auth{scopes: fakeScopes{}}
	if _, err := auth.CreateInvite(ctx, admin, nil, model.Role{Role: model.RoleSocialWorker, StationID: 2}); fieldOf(err) != "station_id" {
		t.Errorf("invite to an unknown station: %v", err)
	}
	if _, err := auth.CreateInvite(ctx, admin, nil, model.Role{Role: model.RoleOrgAdmin, OrgID: 8}); fieldOf(err) != "org_id" {
		t.Errorf("invite to an unknown organization: %v", err)
	}

	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	acts := NewActivities(nil, fakeScopes{}, nil, nil, nil, ActivitiesConfig{MaxCapacity: 10, MaxCreditedHours: 8,
		MaxDuration: 12 * time.Hour, Now: func() time.Time { return now }}, time.UTC, slog.New(slog.NewTextHandler(io.Discard, nil)))
	in := ActivityInput{Title: "助老", Category: "elder_care", Lat: 42.9, Lng: 129.5, Address: "社工站",
		StartsAt: now.Add(24 * time.Hour), EndsAt: now.Add(26 * time.Hour), Capacity: 5, CreditedHours: 2}
	for _, c := range []struct {
		station, org int64
		field        string
	}{{2, 0, "station_id"}, {0, 8, "org_id"}} {
		in.StationID, in.OrgID = c.station, c.org
		if _, err := acts.CreateActivity(ctx, admin, nil, in); fieldOf(err) != c.field {
			t.Errorf("activity of station %d, organization %d: %v, want %s named", c.station, c.org, err, c.field)
		}
	}
	if _, err := acts.RegisterVolunteer(ctx, model.Principal{UserID: 2}, VolunteerInput{RealName: "李四", Phone: "13912345678", OrgID: 8}); fieldOf(err) != "org_id" {
		t.Errorf("volunteer of an unknown organization: %v", err)
	}

	down := model.Errorf(model.CodeUnavailable, "down")
	if err := checkScope(ctx, fakeScopes{err: down}, 1, 0); !errors.Is(err, down) {
		t.Errorf("the checker's error: %v", err)
	}
	if err := checkScope(ctx, nil, 2, 0); err != nil {
		t.Errorf("no checker: %v", err)
	}
}

func TestRequireExists(t *testing.T) {
	ctx := context.Background()
	if err := requireExists(ctx, fakeScopes{}.OrgExists, 7, "组织"); err != nil {
		t.Errorf("a known organization: %v", err)
	}
	var me *model.Error
	if err := requireExists(ctx, fakeScopes{}.OrgExists, 8, "组织"); !errors.As(err, &me) || me.Code != model.CodeNotFound || me.Message != "组织不存在" {
		t.Errorf("an unknown organization: %v", err)
	}
	down := model.Errorf(model.CodeUnavailable, "down")
	if err := requireExists(ctx, fakeScopes{err: down}.StationExists, 1, "站点"); !errors.Is(err, down) {
		t.Errorf("the checker's error: %v", err)
	}
}
