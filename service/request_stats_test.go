package service_test

import (
	"context"
	"slices"
	"testing"
	"time"

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

// statRowsStore is a RequestStore that answers only the statistics: its
// rows, and the service figures of services (none when nil).
type statRowsStore struct {
	service.RequestStore
	rows     []model.RequestStatRow
	services *serviceStatsReader
}

func (s *statRowsStore) RequestStatRows(ctx context.Context, from, to time.Time, stationIDs []int64) ([]model.RequestStatRow, error) {
	return s.rows, nil
}

func (s *statRowsStore) ServiceStats(ctx context.Context, from, to time.Time, stationIDs []int64) (model.ServiceStats, error) {
	if s.services == nil {
		return model.ServiceStats{}, nil
	}
	return s.services.ServiceStats(ctx, from, to, stationIDs)
}

// TestStatsByStationOrder: stations come busiest first, and stations with
// as many requests as each other by id, not in the order of their rows.
func TestStatsByStationOrder(t *testing.T) {
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	row := func(station int64) model.RequestStatRow {
		return model.RequestStatRow{Station: model.StationRef{ID: station}, Status: model.StatusDispatched,
			Category: "home_visit", Urgency: model.UrgencyNormal, CreatedAt: at}
	}
	var rows []model.RequestStatRow
	for _, id := range []int64{9, 4, 7, 7, 2, 4, 7, 9, 5} { // 7: 3, then 9, 4: 2, then 2, 5: 1
		rows = append(rows, row(id))
	}
	svc := service.NewRequests(&statRowsStore{rows: rows}, newFakeDirectory(), nil, nil,
		service.RequestsConfig{SubmitBatchMax: 1}, time.UTC, discardLog())
	city := model.Principal{UserID: 1, Roles: []model.Role{{Role: model.RoleCityAdmin}}}
	st, err := svc.Stats(context.Background(), city, service.StatsQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, s := range st.ByStation {
		got = append(got, s.Station.ID)
	}
	if want := []int64{7, 4, 9, 2, 5}; !slices.Equal(got, want) {
		t.Fatalf("by_station order %v, want %v", got, want)
	}
}

// serviceStatsReader is the fake ServiceStatsReader: it answers figures
// (or err) and records the window and stations asked.
type serviceStatsReader struct {
	figures  model.ServiceStats
	err      error
	from, to time.Time
	stations []int64
}

func (r *serviceStatsReader) ServiceStats(ctx context.Context, from, to time.Time, stationIDs []int64) (model.ServiceStats, error) {
	r.from, r.to, r.stations = from, to, stationIDs
	return r.figures, r.err
}

// TestStatsBookingsAndActivities: the bookings, activities and volunteer
// minutes are read for the window and scope of the request figures (nil:
// the whole city; a subtree for a station or a station admin), and a failed
// read fails the statistics.
func TestStatsBookingsAndActivities(t *testing.T) {
	ctx := context.Background()
	reader := &serviceStatsReader{figures: model.ServiceStats{Bookings: 12, Activities: 3, VolunteerMinutes: 420}}
	svc := service.NewRequests(&statRowsStore{services: reader}, newFakeDirectory(), nil, nil,
		service.RequestsConfig{SubmitBatchMax: 1}, time.UTC, discardLog())
	city := model.Principal{UserID: 1, Roles: []model.Role{{Role: model.RoleCityAdmin}}}
	q := service.StatsQuery{From: "2026-11-01T00:00:00+08:00", To: "2026-11-08T00:00:00+08:00"}
	st, err := svc.Stats(ctx, city, q)
	if err != nil {
		t.Fatal(err)
	}
	if st.Bookings != 12 || st.Activities != 3 || st.VolunteerMinutes != 420 {
		t.Fatalf("figures %d/%d/%d, want 12/3/420", st.Bookings, st.Activities, st.VolunteerMinutes)
	}
	if reader.stations != nil || !reader.from.Equal(st.From) || !reader.to.Equal(st.To) {
		t.Fatalf("city read %v [%v, %v), want all stations [%v, %v)", reader.stations, reader.from, reader.to, st.From, st.To)
	}
	for name, c := range map[string]struct {
		p    model.Principal
		q    service.StatsQuery
		want []int64
	}{
		"city admin, street 2": {city, service.StatsQuery{StationID: 2}, []int64{2, 3, 4}},
		"admin of street 2":    {adminOf(7, 2), service.StatsQuery{}, []int64{2, 3, 4}},
		"admin of point 4":     {adminOf(8, 4), service.StatsQuery{}, []int64{4}},
	} {
		if _, err := svc.Stats(ctx, c.p, c.q); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := slices.Clone(reader.stations)
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: read stations %v, want %v", name, got, c.want)
		}
	}
	reader.err = model.Errorf(model.CodeUnavailable, "mysql down")
	if _, err := svc.Stats(ctx, city, q); !model.IsCode(err, model.CodeUnavailable) {
		t.Fatalf("failed read: %v, want unavailable", err)
	}
}
