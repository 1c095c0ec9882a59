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
