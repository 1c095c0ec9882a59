package store

import (
	"context"
	"time"

	"jindalai/model"
)

// ServiceStats returns the bookings and activities figures of the
// statistics for [from, to) and stationIDs (nil: the whole city; empty:
// nothing), in one query:
//   - Bookings: bookings (booked, attended or no_show, not cancelled) of
//     the stations' services whose slot starts in the window;
//   - Activities: activities (not cancelled) starting in the window,
//     organized by one of the stations, or for the whole city by any
//     station or organization (an organization has no place in the station
//     tree, so a station list counts only station-organized activities);
//   - VolunteerMinutes: the minutes credited in the hours ledger
//     (check-out credits and organizers' corrections) for the activities
//     starting in the window and in scope, cancelled ones included: an
//     activity cancelled once under way credits its volunteers on site
//     the minutes served so far, and they count here as in their hours.
//
// Errors: unavailable, internal.
func (s *Store) ServiceStats(ctx context.Context, from, to time.Time, stationIDs []int64) (model.ServiceStats, error) {
	var out model.ServiceStats
	if stationIDs != nil && len(stationIDs) == 0 {
		return out, nil
	}
	// Millisecond bounds, as the columns hold (see RequestStatRows).
	window := []any{from.UTC().Truncate(time.Millisecond), to.UTC().Truncate(time.Millisecond)}
	ids := idArgs(stationIDs)
	var args []any
	for range 3 {
		args = append(args, ids...)
		args = append(args, window...)
	}
	if err := s.DB.QueryRowContext(ctx, serviceStatsSQL(len(stationIDs)), args...).
		Scan(&out.Bookings, &out.Activities, &out.VolunteerMinutes); err != nil {
		return model.ServiceStats{}, translate(err, "")
	}
	return out, nil
}

// serviceStatsSQL is the query of ServiceStats for a list of stations ids
// (0: the whole city); its arguments are, three times over, the ids then
// the window's two bounds. A station list reads one range per station of
// ix_bookings_station_start and of ix_activities_station; the whole city
// one range of ix_bookings_start (migration 00013) and of
// ix_activities_time (status, starts_at: the minutes name both statuses an
// activity has, so that it reads one range of each). The ledger rows of
// each activity are read on ix_hours_activity: STRAIGHT_JOIN keeps the
// activities' ranges driving the join (left to its estimates, MariaDB read
// the whole ledger and looked each row's activity up — see
// TestServiceStatsUseTheStartIndexes).
func serviceStatsSQL(stations int) string {
	where := `b.starts_at >= ? AND b.starts_at < ?`
	activities := `a.starts_at >= ? AND a.starts_at < ?`
	if stations > 0 {
		where = `b.station_id IN (` + inList(stations) + `) AND ` + where
		activities = `a.station_id IN (` + inList(stations) + `) AND ` + activities
	}
	return `SELECT
		(SELECT COUNT(*) FROM bookings b WHERE ` + where + ` AND b.status IN ('booked', 'attended', 'no_show')),
		(SELECT COUNT(*) FROM activities a WHERE ` + activities + ` AND a.status = 'published'),
		(SELECT COALESCE(SUM(h.minutes), 0) FROM activities a STRAIGHT_JOIN volunteer_hours h ON h.activity_id = a.id
			WHERE ` + activities + ` AND a.status IN ('published', 'cancelled'))`
}
