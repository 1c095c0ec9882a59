package model

import (
	"testing"
	"time"
)

func TestCheckTimeBounds(t *testing.T) {
	for _, c := range []struct {
		at string
		ok bool
	}{
		{"2000-01-01T00:00:00+14:00", true},
		{"2000-01-01T00:00:00+08:00", true},
		{"1999-12-31T23:59:59+14:00", false},
		{"0001-01-01T00:00:00Z", false},
		{"2199-12-31T23:59:59-12:00", true},
		{"2199-12-31T23:00:00-08:00", true},
		{"2200-01-01T00:00:00-12:00", false},
		{"9999-12-31T23:00:00-08:00", false},
	} {
		at, err := time.Parse(time.RFC3339, c.at)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckTime("at", at)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok=%v", c.at, err, c.ok)
		}
		if err != nil && (!IsCode(err, CodeInvalid) || err.(*Error).Fields["at"] == "") {
			t.Errorf("%s: %v, want invalid_argument naming at", c.at, err)
		}
		// The same instant read back in UTC (as a cursor is) gets the same answer.
		if (CheckTime("at", at.UTC()) == nil) != c.ok {
			t.Errorf("%s in UTC: answer differs", c.at)
		}
	}
}

// ParseTime and ParseDayOrTime are the one reading of a client's times:
// the form first (each with its own problem), then the client years; a
// date is its midnight in the given zone.
func TestParseTimeAndDay(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	for _, c := range []struct {
		raw             string
		time, dayOrTime string // the problem named, "" when read
		day             bool
	}{
		{raw: "2026-05-01T09:00:00+08:00"},
		{raw: "2026-05-01T09:00:00Z"},
		{raw: "2026-05-01", time: notATime, day: true},
		{raw: "2026-05-01T09:00:00", time: notATime, dayOrTime: notADayOrTime},
		{raw: "", time: notATime, dayOrTime: notADayOrTime},
		{raw: "明天", time: notATime, dayOrTime: notADayOrTime},
		{raw: "9999-12-31T00:00:00Z", time: timeOutOfRange, dayOrTime: timeOutOfRange},
		{raw: "1999-12-31", time: notATime, dayOrTime: timeOutOfRange},
	} {
		got, err := ParseTime("at", c.raw)
		if problem := fieldProblem(err, "at"); problem != c.time {
			t.Errorf("ParseTime(%q): problem %q, want %q", c.raw, problem, c.time)
		}
		if err == nil && got.Format(time.RFC3339) != c.raw {
			t.Errorf("ParseTime(%q) = %v", c.raw, got)
		}
		got, day, err := ParseDayOrTime("at", c.raw, shanghai)
		if problem := fieldProblem(err, "at"); problem != c.dayOrTime {
			t.Errorf("ParseDayOrTime(%q): problem %q, want %q", c.raw, problem, c.dayOrTime)
		}
		if err == nil && day != c.day {
			t.Errorf("ParseDayOrTime(%q): day %v, want %v", c.raw, day, c.day)
		}
		if err == nil && day && !got.Equal(time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)) {
			t.Errorf("ParseDayOrTime(%q) = %v, want its midnight in the zone", c.raw, got)
		}
		if err != nil && (!got.IsZero() || day) {
			t.Errorf("ParseDayOrTime(%q) failed but returned %v, day %v", c.raw, got, day)
		}
	}
}

// fieldProblem is the problem err names for field ("" for nil).
func fieldProblem(err error, field string) string {
	if err == nil {
		return ""
	}
	e, ok := err.(*Error)
	if !ok || !IsCode(err, CodeInvalid) {
		return "not an invalid_argument error: " + err.Error()
	}
	return e.Fields[field]
}
