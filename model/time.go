package model

import (
	"fmt"
	"time"
)

// The years of a time a client may send. A city's civil-affairs records
// (requests, slots, activities, statistics) fall well inside them; outside
// them a time is a typo or a probe. The margin to the database's limits
// (DATETIME holds years 1000–9999; the MySQL driver refuses years outside
// 1–9999 once a time is in UTC) is wide enough that any window derived
// from an accepted time (the next midnight, to = from + N days, a year of
// statistics) is still storable.
const (
	minClientYear = 2000
	maxClientYear = 2199
)

// The instants of the client years: from the first moment of minClientYear
// in the easternmost zone (UTC+14) to the end of maxClientYear in the
// westernmost (UTC−12). Bounding the instant, not the year as written,
// keeps the rule the same for a time a client wrote in any zone and for
// the same instant read back in UTC (a keyset cursor).
var (
	minClientTime = time.Date(minClientYear, 1, 1, 0, 0, 0, 0, time.FixedZone("UTC+14", 14*3600))
	maxClientTime = time.Date(maxClientYear+1, 1, 1, 0, 0, 0, 0, time.FixedZone("UTC-12", -12*3600))
)

// timeOutOfRange is the problem named for a time outside the client years.
var timeOutOfRange = fmt.Sprintf("日期超出范围，年份须在 %d–%d 之间", minClientYear, maxClientYear)

// clientTimeOK reports whether t is an instant a client may send.
func clientTimeOK(t time.Time) bool {
	return !t.Before(minClientTime) && t.Before(maxClientTime)
}

// CheckTime is the one rule for a time or date that comes from outside (a
// query, a body, a cursor): it lies in the years minClientYear–
// maxClientYear (in some zone of the world). Apply it to every parsed or
// decoded time before it reaches a computation or the store.
// Errors: invalid_argument naming field.
func CheckTime(field string, t time.Time) error {
	if !clientTimeOK(t) {
		return InvalidField(field, timeOutOfRange)
	}
	return nil
}

// The problems named for a time a client wrote in the wrong form.
const (
	notATime      = "必须是 RFC 3339 时间（含时区），如 2025-05-01T09:00:00+08:00"
	notADayOrTime = "必须是 YYYY-MM-DD 日期或 RFC 3339 时间（含时区），如 2025-05-01T09:00:00+08:00"
)

// ParseTime is the one reading of a time a client sends: RFC 3339 with its
// offset, in the client years (CheckTime).
// Errors: invalid_argument naming field.
func ParseTime(field, raw string) (time.Time, error) {
	t, problem := parseClientTime(raw)
	if problem != "" {
		return time.Time{}, InvalidField(field, problem)
	}
	return t, nil
}

// parseClientTime is ParseTime's reading, with the problem as the client
// reads it ("" when none).
func parseClientTime(raw string) (time.Time, string) {
	t, err := time.Parse(time.RFC3339, raw)
	switch {
	case err != nil:
		return time.Time{}, notATime
	case !clientTimeOK(t):
		return time.Time{}, timeOutOfRange
	}
	return t, ""
}

// ParseDayOrTime reads what a client sends for a window's bound: a date
// (YYYY-MM-DD, its midnight in loc; day is true) or an RFC 3339 time, in
// the client years (CheckTime).
// Errors: invalid_argument naming field.
func ParseDayOrTime(field, raw string, loc *time.Location) (t time.Time, day bool, err error) {
	day = true
	t, err = time.ParseInLocation(time.DateOnly, raw, loc)
	if err != nil {
		day = false
		if t, err = time.Parse(time.RFC3339, raw); err != nil {
			return time.Time{}, false, InvalidField(field, notADayOrTime)
		}
	}
	if err := CheckTime(field, t); err != nil {
		return time.Time{}, false, err
	}
	return t, day, nil
}
