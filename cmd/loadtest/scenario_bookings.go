package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
)

// booking is a resident taking a place in a station's service slot: POST
// /api/v1/bookings with an Idempotency-Key. The n-th booking of the run goes
// to slot n mod S by resident n / S mod R, so no resident books a slot twice
// and each slot's places are taken one by one, over the whole run (a
// conditional UPDATE of the slot, the booking row and its outbox message in
// one transaction).
func booking(ctx context.Context, b *bench) (op, plan, error) {
	tokens, err := b.tokens(ctx, codeResident, min(2000, b.city.Residents))
	if err != nil {
		return nil, plan{}, err
	}
	slots := benchSlotCount(b.city)
	var next atomic.Int64
	return func(ctx context.Context, w, i int) error {
		n := int(next.Add(1) - 1)
		slot := n%slots + 1
		tok := tokens[(n/slots)%len(tokens)]
		_, err := b.http.expect(ctx, call{method: "POST", path: "/api/v1/bookings", token: tok,
			body:   map[string]any{"slot_id": slot},
			header: map[string]string{"Idempotency-Key": "bench-book-" + strconv.Itoa(n)}}, http.StatusCreated)
		if err == nil {
			b.booked.Add(1)
		}
		return err
	}, b.plan(), nil
}

// verifyBooking checks that MySQL holds exactly the bookings the residents
// were given, and that every slot's taken count is its live bookings.
func verifyBooking(ctx context.Context, b *bench, r result) (string, error) {
	var rows, off int64
	if err := b.st.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM bookings WHERE status = 'booked'`).Scan(&rows); err != nil {
		return "", err
	}
	if err := b.st.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM slots s
		WHERE s.taken <> (SELECT COUNT(*) FROM bookings k WHERE k.slot_id = s.id AND k.status = 'booked')`).Scan(&off); err != nil {
		return "", err
	}
	acked := b.booked.Load()
	note := fmt.Sprintf("%d booked, %d in MySQL, %d slots whose taken count is off", acked, rows, off)
	if rows != acked || off != 0 {
		return note, fmt.Errorf("bookings and MySQL differ: %s", note)
	}
	return note, nil
}
