package service

import (
	"context"
	"testing"
	"time"

	"jindalai/model"
)

// markStore holds booking 5 of resident 9 at station 3 and records marks.
type markStore struct {
	BookingStore
	marked int
}

func (f *markStore) GetBooking(_ context.Context, id int64) (model.Booking, error) {
	if id != 5 {
		return model.Booking{}, model.NotFound("预约")
	}
	return model.Booking{ID: 5, UserID: 9, StationID: 3, Status: model.BookingBooked}, nil
}

func (f *markStore) MarkBooking(_ context.Context, id int64, status model.BookingStatus, _ int64, _ time.Time) (model.Booking, error) {
	f.marked++
	return model.Booking{ID: id, UserID: 9, StationID: 3, Status: status}, nil
}

// subtreeDirectory: station 2 has station 3 below it; it counts Subtree calls.
type subtreeDirectory struct {
	StationDirectory
	calls int
}

func (d *subtreeDirectory) Subtree(_ context.Context, id int64) ([]int64, error) {
	d.calls++
	if id == 2 {
		return []int64{2, 3}, nil
	}
	return []int64{id}, nil
}

func TestMarkBookingIsForStaffOnly(t *testing.T) {
	ctx := context.Background()
	st, dir := &markStore{}, &subtreeDirectory{}
	s := NewBookings(st, dir, nil, BookingsConfig{}, time.UTC, nil)
	if _, err := s.MarkBooking(ctx, model.Principal{UserID: 9}, 5, model.BookingAttended); model.ErrorCode(err) != model.CodePermissionDenied {
		t.Errorf("the resident marks their own booking: %v", err)
	}
	other := model.Principal{UserID: 8, Roles: []model.Role{{Role: model.RoleStationAdmin, StationID: 4}}}
	if _, err := s.MarkBooking(ctx, other, 5, model.BookingAttended); model.ErrorCode(err) != model.CodeNotFound {
		t.Errorf("staff of another station: %v", err)
	}
	if st.marked != 0 {
		t.Fatalf("%d marks by non-staff", st.marked)
	}
	dir.calls = 0
	above := model.Principal{UserID: 7, Roles: []model.Role{{Role: model.RoleStationAdmin, StationID: 2}}}
	if b, err := s.MarkBooking(ctx, above, 5, model.BookingNoShow); err != nil || b.Status != model.BookingNoShow || st.marked != 1 {
		t.Fatalf("the admin of the station above: %+v %v", b, err)
	}
	if dir.calls != 1 {
		t.Errorf("the scope was checked with %d subtree reads, want 1", dir.calls)
	}
}
