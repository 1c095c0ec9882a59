package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/store"
	"jindalai/store/storetest"
)

// bookingFixture makes an offering with one slot starting in two days.
func bookingFixture(t *testing.T, st *store.Store, capacity int) (offering, slot int64) {
	t.Helper()
	ctx := context.Background()
	o, err := st.CreateOffering(ctx, nil, model.Offering{StationID: 7, Name: "心理咨询", Category: "counselling", DurationMin: 60}, 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	batch, err := st.CreateSlots(ctx, nil, o.ID, []model.NewSlot{{StartsAt: start, EndsAt: start.Add(time.Hour), Capacity: capacity}}, nil, 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return o.ID, batch.Items[0].ID
}

func users(t *testing.T, st *store.Store, n int, prefix string) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range ids {
		u, err := st.UpsertUserByOpenID(context.Background(), fmt.Sprintf("%s%d", prefix, i), "")
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = u.ID
	}
	return ids
}

func noCheck(model.Slot, int) (*time.Time, error) { return nil, nil }

func confirm(b model.Booking) model.Notification {
	return model.Notification{UserID: b.UserID, Kind: "booking_confirmed", Title: "预约成功", RefType: "booking", RefID: b.ID}
}

func book(st *store.Store, slot, user int64) (model.Booking, error) {
	now := time.Now()
	return st.Book(context.Background(), nil, model.BookingAttempt{SlotID: slot, UserID: user, At: now, Cutoff: now.Add(time.Hour)}, noCheck, confirm)
}

func slotState(t *testing.T, st *store.Store, slot int64) (taken, live int) {
	t.Helper()
	if err := st.DB.QueryRow(`SELECT taken FROM slots WHERE id = ?`, slot).Scan(&taken); err != nil {
		t.Fatal(err)
	}
	if err := st.DB.QueryRow(`SELECT COUNT(*) FROM bookings WHERE slot_id = ? AND status = 'booked'`, slot).Scan(&live); err != nil {
		t.Fatal(err)
	}
	return taken, live
}

func TestBookHundredConcurrentForThreePlaces(t *testing.T) {
	st := storetest.New(t)
	_, slot := bookingFixture(t, st, 3)
	ids := users(t, st, 100, "race")
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, u := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = book(st, slot, u)
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !model.IsCode(err, model.CodeConflict):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	taken, live := slotState(t, st, slot)
	if won != 3 || taken != 3 || live != 3 {
		t.Fatalf("won %d, taken %d, live %d; want 3", won, taken, live)
	}
	var notes int
	_ = st.DB.QueryRow(`SELECT COUNT(*) FROM notifications WHERE kind = 'booking_confirmed'`).Scan(&notes)
	if notes != 3 {
		t.Fatalf("%d booking_confirmed notifications, want 3 (none for the losers)", notes)
	}
}

func TestSameResidentTwiceAndRebookAfterCancel(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	_, slot := bookingFixture(t, st, 5)
	u := users(t, st, 1, "twice")[0]
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = book(st, slot, u)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !model.IsCode(err, model.CodeConflict) {
			t.Fatal(err)
		}
	}
	if taken, live := slotState(t, st, slot); ok != 1 || taken != 1 || live != 1 {
		t.Fatalf("one resident ×10 concurrently: ok %d, taken %d, live %d", ok, taken, live)
	}
	var id int64
	_ = st.DB.QueryRow(`SELECT id FROM bookings WHERE slot_id = ? AND user_id = ?`, slot, u).Scan(&id)
	for round := 0; round < 3; round++ {
		now := time.Now()
		if _, err := st.CancelBooking(ctx, id, model.CancelledByResident, "", now, now, nil); err != nil {
			t.Fatal(err)
		}
		if taken, _ := slotState(t, st, slot); taken != 0 {
			t.Fatalf("taken after cancel %d", taken)
		}
		b, err := book(st, slot, u)
		if err != nil {
			t.Fatalf("rebook: %v", err)
		}
		id = b.ID
	}
	if taken, live := slotState(t, st, slot); taken != 1 || live != 1 {
		t.Fatalf("taken %d live %d after 3 cancel/rebook rounds", taken, live)
	}
}

// TestBookAndCancelChurnKeepsCount books and cancels from many goroutines at
// once; taken always equals the live bookings and never exceeds capacity.
func TestBookAndCancelChurnKeepsCount(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	_, slot := bookingFixture(t, st, 4)
	ids := users(t, st, 12, "churn")
	var wg sync.WaitGroup
	for _, u := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				b, err := book(st, slot, u)
				if err != nil {
					if !model.IsCode(err, model.CodeConflict) {
						t.Error(err)
					}
					continue
				}
				now := time.Now()
				if _, err := st.CancelBooking(ctx, b.ID, model.CancelledByResident, "", now, now, nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	taken, live := slotState(t, st, slot)
	if taken != live || taken > 4 {
		t.Fatalf("taken %d, live %d", taken, live)
	}
}

func TestDeleteSlotOnlyWithoutBookings(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	_, slot := bookingFixture(t, st, 2)
	u := users(t, st, 1, "del")[0]
	b, err := book(st, slot, u)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := st.CancelBooking(ctx, b.ID, model.CancelledByResident, "", now, now, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSlot(ctx, slot); !model.IsCode(err, model.CodeFailedPrecondition) {
		t.Fatalf("delete a slot with a (cancelled) booking: %v", err)
	}
	if _, err := st.GetSlot(ctx, slot); err != nil {
		t.Fatal(err)
	}
}

// TestCancelSlotRacingBookings cancels a slot while residents book it: every
// booking that got in is cancelled with one slot_cancelled notification, and
// none gets in after.
func TestCancelSlotRacingBookings(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	_, slot := bookingFixture(t, st, 50)
	ids := users(t, st, 30, "cancelrace")
	var wg sync.WaitGroup
	gate := make(chan struct{})
	booked := make([]bool, len(ids))
	for i, u := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			_, err := book(st, slot, u)
			booked[i] = err == nil
			if err != nil && !model.IsCode(err, model.CodeFailedPrecondition) {
				t.Errorf("book: %v", err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-gate
		time.Sleep(5 * time.Millisecond)
		notify := func(b model.Booking) model.Notification {
			return model.Notification{UserID: b.UserID, Kind: "slot_cancelled", Title: "预约时段已取消", RefType: "booking", RefID: b.ID}
		}
		if _, err := st.CancelSlot(ctx, slot, "停电", time.Now(), notify); err != nil {
			t.Errorf("cancel slot: %v", err)
		}
	}()
	close(gate)
	wg.Wait()
	won := 0
	for _, b := range booked {
		if b {
			won++
		}
	}
	taken, live := slotState(t, st, slot)
	var cancelled, notes int
	_ = st.DB.QueryRow(`SELECT COUNT(*) FROM bookings WHERE slot_id = ? AND status = 'cancelled' AND cancelled_by = 'station'`, slot).Scan(&cancelled)
	_ = st.DB.QueryRow(`SELECT COUNT(*) FROM notifications WHERE kind = 'slot_cancelled'`).Scan(&notes)
	if taken != 0 || live != 0 || cancelled != won || notes != won {
		t.Fatalf("won %d; after cancel: taken %d, live %d, cancelled %d, notified %d", won, taken, live, cancelled, notes)
	}
}

// A list cursor naming a row that is not in the list is a bad cursor; a
// failure to read the cursor row is the database's, not the caller's.
func TestListCursorRowLookup(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	offering, slot := bookingFixture(t, st, 2)
	user := users(t, st, 1, "cursor")[0]
	b, err := book(st, slot, user)
	if err != nil {
		t.Fatal(err)
	}
	from, to := time.Now(), time.Now().Add(7*24*time.Hour)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	lists := map[string]func(ctx context.Context, cursor int64) error{
		"slots": func(ctx context.Context, cursor int64) error {
			_, err := st.ListSlots(ctx, offering, from, to, model.Page{Limit: 10, Cursor: model.EncodeCursor(cursor)})
			return err
		},
		"station bookings": func(ctx context.Context, cursor int64) error {
			_, err := st.ListStationBookings(ctx, 7, from, to, model.Page{Limit: 10, Cursor: model.EncodeCursor(cursor)})
			return err
		},
	}
	ids := map[string]int64{"slots": slot, "station bookings": b.ID}
	for name, list := range lists {
		if err := list(ctx, ids[name]); err != nil {
			t.Errorf("%s after its own row: %v", name, err)
		}
		if err := list(ctx, ids[name]+1000); !model.IsCode(err, model.CodeInvalid) {
			t.Errorf("%s after an unknown row: %v, want invalid_argument", name, err)
		}
		if err := list(cancelled, ids[name]); !model.IsCode(err, model.CodeUnavailable) {
			t.Errorf("%s when the cursor row cannot be read: %v, want unavailable", name, err)
		}
	}
}
