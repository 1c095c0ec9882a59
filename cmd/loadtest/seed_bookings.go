package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The bench city's bookable services (issue 6's tables): one offering at
// each of the first benchOfferings stations, each with slots every hour of
// the coming days, starting well past the booking cut-off.
const (
	benchOfferings    = 50
	benchSlotsPerOff  = 40
	benchSlotCapacity = 50
)

// benchSlotCount is how many slots seedBookings creates (ids 1..count).
func benchSlotCount(c *city) int { return min(benchOfferings, c.Stations) * benchSlotsPerOff }

func seedBookings(ctx context.Context, db *sql.DB, c *city, now time.Time) (int, error) {
	offerings := min(benchOfferings, c.Stations)
	if err := insertRows(ctx, db, "offerings", []string{"id", "station_id", "name", "category", "description", "duration_min",
		"active", "created_by", "created_at", "updated_at"}, offerings, func(i int) []any {
		return []any{i + 1, i + 1, fmt.Sprintf("心理咨询%d", i+1), "counselling", "基准测试服务", 60, 1, 1, now, now}
	}); err != nil {
		return 0, err
	}
	first := now.Truncate(time.Hour).Add(48 * time.Hour)
	n := offerings * benchSlotsPerOff
	if err := insertRows(ctx, db, "slots", []string{"id", "offering_id", "station_id", "starts_at", "ends_at", "capacity",
		"taken", "status", "live_key", "created_by", "created_at"}, n, func(i int) []any {
		off := i/benchSlotsPerOff + 1
		start := first.Add(time.Duration(i%benchSlotsPerOff) * time.Hour)
		return []any{i + 1, off, off, start, start.Add(time.Hour), benchSlotCapacity, 0, "open", 1, 1, now}
	}); err != nil {
		return 0, err
	}
	return n, nil
}
