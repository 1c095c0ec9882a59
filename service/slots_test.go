package service

import (
	"testing"
	"time"

	"jindalai/model"
)

func shanghai(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestExpandPatternFourWeeksOneClosedDate(t *testing.T) {
	loc := shanghai(t)
	s := &Bookings{loc: loc}
	// 2030-03-04 is a Monday.
	pp, err := s.parsePattern(SlotPattern{From: "2030-03-04", To: "2030-03-31", Weekdays: []int{1, 3, 7},
		Times: []TimeRange{{Start: "08:30", End: "09:30"}}, Capacity: 2, SkipDates: []string{"2030-03-17"}})
	if err != nil {
		t.Fatal(err)
	}
	existing := map[int64]bool{time.Date(2030, 3, 6, 8, 30, 0, 0, loc).UnixMilli(): true}
	now := time.Date(2030, 3, 4, 9, 0, 0, 0, loc) // the first Monday's time has begun
	slots, skipped := expandPattern(pp, map[string]string{"2030-03-11": "培训"}, existing, now, loc)
	// 4 Mondays + 4 Wednesdays + 4 Sundays = 12; minus closed 03-11, skip 03-17,
	// past 03-04 and existing 03-06 = 8.
	if len(slots) != 8 {
		t.Fatalf("%d slots: %+v", len(slots), slots)
	}
	want := map[string]string{"2030-03-04": "past", "2030-03-06": "exists", "2030-03-11": "closed", "2030-03-17": "skip_date"}
	if len(skipped) != len(want) {
		t.Fatalf("skipped %+v", skipped)
	}
	for _, sk := range skipped {
		if want[sk.Date] != sk.Reason {
			t.Fatalf("skipped %+v, want %v", sk, want)
		}
	}
	for _, sl := range slots {
		if sl.StartsAt.Location() != loc || sl.StartsAt.Hour() != 8 || sl.StartsAt.Minute() != 30 ||
			sl.EndsAt.Sub(sl.StartsAt) != time.Hour || sl.Capacity != 2 {
			t.Fatalf("bad slot %+v", sl)
		}
		if _, off := sl.StartsAt.Zone(); off != 8*3600 {
			t.Fatalf("not +08:00: %v", sl.StartsAt)
		}
		if wd := sl.StartsAt.Weekday(); wd != time.Monday && wd != time.Wednesday && wd != time.Sunday {
			t.Fatalf("weekday %v", wd)
		}
	}
}

func TestParsePatternNamesBadFields(t *testing.T) {
	s := &Bookings{loc: shanghai(t)}
	_, err := s.parsePattern(SlotPattern{From: "2030-01-01", To: "2030-06-30", Weekdays: []int{8},
		Times:    []TimeRange{{Start: "9", End: "10:00"}, {Start: "10:00", End: "11:00"}, {Start: "10:00", End: "12:00"}},
		Capacity: 0, SkipDates: []string{"soon"}})
	var me *model.Error
	if !asError(err, &me) {
		t.Fatalf("got %v", err)
	}
	for _, f := range []string{"to", "weekdays", "times[0].start", "times[2].start", "capacity", "skip_dates"} {
		if me.Fields[f] == "" {
			t.Errorf("field %s not named: %v", f, me.Fields)
		}
	}
}

func asError(err error, target **model.Error) bool {
	e, ok := err.(*model.Error)
	if ok {
		*target = e
	}
	return ok
}
