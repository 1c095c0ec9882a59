package service_test

import (
	"context"
	"testing"

	"jindalai/model"
	"jindalai/service"
)

// outageDirectory is the fake station tree whose Ancestors fails with err
// (Redis or MySQL down behind the stations service).
type outageDirectory struct {
	*fakeDirectory
	err error
}

func (d *outageDirectory) Ancestors(ctx context.Context, id int64) ([]model.StationRef, error) {
	if d.err != nil {
		return nil, d.err
	}
	return d.fakeDirectory.Ancestors(ctx, id)
}

func adminOf(user, station int64) model.Principal {
	return model.Principal{UserID: user, Roles: []model.Role{{Role: model.RoleStationAdmin, StationID: station}}}
}

// TestStatsScopeCheckSurfacesOutage: a failed tree lookup while checking a
// station admin's scope is the outage (unavailable), not a refusal; a caller
// who is not an admin above the station is still refused.
func TestStatsScopeCheckSurfacesOutage(t *testing.T) {
	ctx := context.Background()
	dir := &outageDirectory{fakeDirectory: newFakeDirectory(), err: model.Errorf(model.CodeUnavailable, "redis down")}
	svc := service.NewRequests(nil, dir, nil, nil, service.RequestsConfig{SubmitBatchMax: 1}, nil, discardLog())

	// The admin of street 2 asks for point 4 below it: the lookup fails.
	if _, err := svc.Stats(ctx, adminOf(7, 2), service.StatsQuery{StationID: 4}); !model.IsCode(err, model.CodeUnavailable) {
		t.Fatalf("outage during the scope check: got %v, want unavailable", err)
	}

	dir.err = nil
	for name, p := range map[string]model.Principal{
		"admin of the other street": adminOf(8, 5),
		"admin of a sibling point":  adminOf(9, 3),
		"social worker of point 4":  worker(10, 4),
	} {
		if _, err := svc.Stats(ctx, p, service.StatsQuery{StationID: 4}); !model.IsCode(err, model.CodePermissionDenied) {
			t.Errorf("%s: got %v, want permission_denied", name, err)
		}
	}
}
