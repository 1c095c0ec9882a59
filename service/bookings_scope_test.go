package service

import (
	"context"
	"testing"
	"time"

	"jindalai/model"
)

// gappedDirectory: station 2 has station 3 below it, station 99 was deleted
// (not_found) and station 66 sits behind an outage (unavailable).
type gappedDirectory struct{ StationDirectory }

func (gappedDirectory) Subtree(_ context.Context, id int64) ([]int64, error) {
	switch id {
	case 2:
		return []int64{2, 3}, nil
	case 99:
		return nil, model.NotFound("站点")
	case 66:
		return nil, model.Errorf(model.CodeUnavailable, "redis down")
	}
	return []int64{id}, nil
}

// TestCanManageSkipsDeletedAdminStation: an admin whose other admin station
// was deleted still manages the stations below the one that exists; a
// deleted station alone manages nothing; an outage is still an error.
func TestCanManageSkipsDeletedAdminStation(t *testing.T) {
	ctx := context.Background()
	st := &markStore{}
	s := NewBookings(st, gappedDirectory{}, nil, BookingsConfig{}, time.UTC, nil)
	admin := func(stations ...int64) model.Principal {
		p := model.Principal{UserID: 7}
		for _, id := range stations {
			p.Roles = append(p.Roles, model.Role{Role: model.RoleStationAdmin, StationID: id})
		}
		return p
	}
	for _, tc := range []struct {
		name string
		p    model.Principal
		ok   bool
		code model.Code
	}{
		{"deleted station first, then the street above", admin(99, 2), true, ""},
		{"the street above, then the deleted station", admin(2, 99), true, ""},
		{"only the deleted station", admin(99), false, ""},
		{"outage on an admin station", admin(66, 2), false, model.CodeUnavailable},
	} {
		ok, err := s.canManage(ctx, tc.p, 3)
		if ok != tc.ok || (tc.code == "" && err != nil) || (tc.code != "" && !model.IsCode(err, tc.code)) {
			t.Errorf("%s: canManage = %v, %v; want %v, %q", tc.name, ok, err, tc.ok, tc.code)
		}
	}
	if b, err := s.MarkBooking(ctx, admin(99, 2), 5, model.BookingAttended); err != nil || b.Status != model.BookingAttended {
		t.Fatalf("mark by the admin above with a deleted station: %+v %v", b, err)
	}
	if _, err := s.MarkBooking(ctx, admin(99), 5, model.BookingAttended); !model.IsCode(err, model.CodeNotFound) {
		t.Fatalf("mark by the admin of a deleted station only: %v, want not_found (someone else's booking)", err)
	}
}
