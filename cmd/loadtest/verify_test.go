package main

import (
	"context"
	"strings"
	"testing"

	"jindalai/store/storetest"
)

// The checks after submit, accept and booking compare what the server
// acknowledged with MySQL and fail on any difference.
func TestVerifyComparesAcknowledgedWithMySQL(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	c := city{Stations: 2, Orgs: 2, Residents: 2, Workers: 2, Volunteers: 1}
	if err := seedCity(ctx, st.DB, &c); err != nil {
		t.Fatal(err)
	}
	b := &bench{st: st, city: &c}
	check := func(what string, verify func(context.Context, *bench, result) (string, error), wantNote string, wantErr bool) {
		t.Helper()
		note, err := verify(ctx, b, result{})
		if note != wantNote || (err != nil) != wantErr {
			t.Errorf("%s: note %q, error %v; want note %q, error %v", what, note, err, wantNote, wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), wantNote) {
			t.Errorf("%s: the error does not say what differs: %v", what, err)
		}
	}
	check("submit, none", verifySubmit, "0 acknowledged, 0 rows in MySQL", false)
	check("accept, none", verifyAccept, "0 accepted, 0 accepted in MySQL", false)
	check("booking, none", verifyBooking, "0 booked, 0 in MySQL, 0 slots whose taken count is off", false)

	b.requests.submitted.Add(1)
	b.requests.accepted.Add(2)
	b.booked.Add(3)
	check("submit, one lost", verifySubmit, "1 acknowledged, 0 rows in MySQL", true)
	check("accept, two lost", verifyAccept, "2 accepted, 0 accepted in MySQL", true)
	check("booking, three lost", verifyBooking, "3 booked, 0 in MySQL, 0 slots whose taken count is off", true)

	b.booked.Store(0)
	if _, err := st.DB.ExecContext(ctx, `UPDATE slots SET taken = 1 WHERE id IN (1, 2)`); err != nil {
		t.Fatal(err)
	}
	check("booking, taken counts off", verifyBooking, "0 booked, 0 in MySQL, 2 slots whose taken count is off", true)
}
