package main

import (
	"context"
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
		return err
	}, b.plan(), nil
}
