package api

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"jindalai/model"
)

// bookingWorld is a harness with a station tree, an offering at the street
// station and tokens of its staff.
type bookingWorld struct {
	*harness
	st       stationTree
	admin    string // city admin
	worker   string // social worker of st.street
	offering int64
}

func newBookingWorld(t *testing.T) *bookingWorld {
	h := newHarness(t)
	w := &bookingWorld{harness: h, st: h.bookingStations()}
	w.admin, _ = h.login("admin")
	w.worker = w.staff("worker", model.RoleSocialWorker, w.st.street)
	w.offering = w.createOffering(w.worker, w.st.street, "心理咨询")
	return w
}

// staff logs a user in and grants a station role.
func (w *bookingWorld) staff(code string, role model.RoleName, station int64) string {
	tok, _ := w.login(code)
	return w.grant(tok, model.Role{Role: role, StationID: station})
}

func (w *bookingWorld) createOffering(token string, station int64, name string) int64 {
	w.t.Helper()
	r := w.do(req{method: "POST", path: "/api/v1/admin/services", token: token, body: map[string]any{
		"station_id": station, "name": name, "category": "counselling", "duration_min": 60}})
	if r.Status != http.StatusCreated {
		w.t.Fatalf("create offering: %d %s", r.Status, r.Body)
	}
	var o model.Offering
	r.decode(w.t, &o)
	return o.ID
}

// createSlot makes a one-hour slot starting `in` from the test clock's now.
func (w *bookingWorld) createSlot(token string, offering int64, in time.Duration, capacity int) int64 {
	w.t.Helper()
	r := w.postSlot(token, offering, w.clock.Now().Add(in), capacity)
	if r.Status != http.StatusCreated {
		w.t.Fatalf("create slot: %d %s", r.Status, r.Body)
	}
	var sl model.Slot
	r.decode(w.t, &sl)
	return sl.ID
}

func (w *bookingWorld) postSlot(token string, offering int64, start time.Time, capacity int) reply {
	return w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/admin/services/%d/slots", offering), token: token,
		body: map[string]any{"starts_at": start.Format(time.RFC3339), "ends_at": start.Add(time.Hour).Format(time.RFC3339), "capacity": capacity}})
}

func (w *bookingWorld) book(token string, slot int64) reply {
	return w.do(req{method: "POST", path: "/api/v1/bookings", token: token, body: map[string]any{"slot_id": slot}})
}

func (w *bookingWorld) mustBook(token string, slot int64) model.Booking {
	w.t.Helper()
	r := w.book(token, slot)
	if r.Status != http.StatusCreated {
		w.t.Fatalf("book slot %d: %d %s", slot, r.Status, r.Body)
	}
	var b model.Booking
	r.decode(w.t, &b)
	return b
}

// remaining reads a slot's remaining places from the public slot list.
func (w *bookingWorld) remaining(offering, slot int64) int {
	w.t.Helper()
	r := w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/services/%d/slots?limit=100", offering), token: w.admin})
	if r.Status != http.StatusOK {
		w.t.Fatalf("list slots: %d %s", r.Status, r.Body)
	}
	var list model.List[model.Slot]
	r.decode(w.t, &list)
	for _, s := range list.Items {
		if s.ID == slot {
			return s.Remaining
		}
	}
	return -1
}

// notifications counts outbox rows of a kind for a user.
func (w *bookingWorld) notifications(kind string, userID int64) int {
	w.t.Helper()
	var n int
	if err := w.store.DB.QueryRow(`SELECT COUNT(*) FROM notifications WHERE kind = ? AND user_id = ?`, kind, userID).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func expect(t *testing.T, r reply, status int, code model.Code) {
	t.Helper()
	if r.Status != status || (code != "" && r.errorCode() != code) {
		t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, code)
	}
}

func TestBookCancelRebook(t *testing.T) {
	w := newBookingWorld(t)
	slot := w.createSlot(w.worker, w.offering, 48*time.Hour, 2)
	alice, aliceUser := w.login("alice")

	b := w.mustBook(alice, slot)
	if b.Status != model.BookingBooked || b.SlotID != slot || b.ServiceName != "心理咨询" || b.UserID != aliceUser.ID {
		t.Fatalf("booking: %+v", b)
	}
	if _, off := b.StartsAt.Zone(); off != 8*3600 {
		t.Fatalf("starts_at not in +08:00: %v", b.StartsAt)
	}
	expect(t, w.book(alice, slot), http.StatusConflict, model.CodeConflict)
	if got := w.remaining(w.offering, slot); got != 1 {
		t.Fatalf("remaining after booking: %d, want 1", got)
	}
	if n := w.notifications("booking_confirmed", aliceUser.ID); n != 1 {
		t.Fatalf("booking_confirmed notifications: %d", n)
	}
	var body, data string
	if err := w.store.DB.QueryRow(`SELECT body, data FROM notifications WHERE kind = 'booking_confirmed' AND user_id = ?`, aliceUser.ID).
		Scan(&body, &data); err != nil || !strings.Contains(body, "北山街道社工站") || !strings.Contains(data, `"station":"北山街道社工站"`) {
		t.Fatalf("booking_confirmed: %q %q %v", body, data, err)
	}

	r := w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/bookings/%d/cancel", b.ID), token: alice})
	expect(t, r, http.StatusOK, "")
	var cancelled model.Booking
	r.decode(t, &cancelled)
	if cancelled.Status != model.BookingCancelled || cancelled.CancelledBy != model.CancelledByResident {
		t.Fatalf("cancelled: %+v", cancelled)
	}
	if got := w.remaining(w.offering, slot); got != 2 {
		t.Fatalf("remaining after cancel: %d, want 2", got)
	}
	expect(t, w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/bookings/%d/cancel", b.ID), token: alice}),
		http.StatusConflict, model.CodeFailedPrecondition)

	again := w.mustBook(alice, slot)
	if again.ID == b.ID {
		t.Fatal("rebooking returned the cancelled booking")
	}
	bob, _ := w.login("bob")
	w.mustBook(bob, slot)
	carol, _ := w.login("carol")
	expect(t, w.book(carol, slot), http.StatusConflict, model.CodeConflict)
	if got := w.remaining(w.offering, slot); got != 0 {
		t.Fatalf("remaining when full: %d", got)
	}
	var taken int
	if err := w.store.DB.QueryRow(`SELECT taken FROM slots WHERE id = ?`, slot).Scan(&taken); err != nil || taken != 2 {
		t.Fatalf("taken = %d (%v), want 2", taken, err)
	}

	r = w.do(req{method: "GET", path: "/api/v1/bookings?mine=true", token: alice})
	expect(t, r, http.StatusOK, "")
	var mine model.List[model.Booking]
	r.decode(t, &mine)
	if len(mine.Items) != 2 || mine.Items[0].ID != again.ID || mine.Items[1].Status != model.BookingCancelled {
		t.Fatalf("my bookings: %s", r.Body)
	}
	// Someone else's booking does not exist for carol.
	expect(t, w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/bookings/%d", again.ID), token: carol}), http.StatusNotFound, model.CodeNotFound)
	expect(t, w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/bookings/%d/cancel", again.ID), token: carol}), http.StatusNotFound, model.CodeNotFound)
}

func TestConcurrentBookingsNeverExceedCapacity(t *testing.T) {
	w := newBookingWorld(t)
	slot := w.createSlot(w.worker, w.offering, 48*time.Hour, 3)
	const n = 100
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i], _ = w.login(fmt.Sprintf("race%d", i))
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = w.book(tokens[i], slot).Status
		}()
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusCreated] != 3 || count[http.StatusConflict] != n-3 {
		t.Fatalf("statuses: %v, want 3×201 and %d×409", count, n-3)
	}
	var rows, taken int
	_ = w.store.DB.QueryRow(`SELECT COUNT(*) FROM bookings WHERE slot_id = ? AND status = 'booked'`, slot).Scan(&rows)
	_ = w.store.DB.QueryRow(`SELECT taken FROM slots WHERE id = ?`, slot).Scan(&taken)
	if rows != 3 || taken != 3 {
		t.Fatalf("booked rows %d, taken %d; want 3 and 3", rows, taken)
	}
}

func TestBookingTimeRules(t *testing.T) {
	w := newBookingWorld(t)
	alice, _ := w.login("alice")

	soon := w.createSlot(w.worker, w.offering, 30*time.Minute, 5)
	r := w.book(alice, soon)
	expect(t, r, http.StatusConflict, model.CodeFailedPrecondition)

	later := w.createSlot(w.worker, w.offering, 3*time.Hour, 5)
	b := w.mustBook(alice, later)

	past := w.createSlot(w.worker, w.offering, 4*time.Hour, 5)
	w.clock.Advance(90 * time.Minute) // later starts in 1.5 h: inside the 2 h cancel deadline
	r = w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/bookings/%d/cancel", b.ID), token: alice})
	expect(t, r, http.StatusConflict, model.CodeFailedPrecondition)
	if msg := r.errorMessage(); msg != "开始前 2 小时内不能取消预约，如有需要请联系站点" {
		t.Fatalf("message %q", msg)
	}
	// Staff may still cancel it before the start; the resident is told.
	r = w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/bookings/%d/cancel", b.ID), token: w.worker,
		body: map[string]string{"reason": "咨询师临时有事"}})
	expect(t, r, http.StatusOK, "")
	if n := w.notifications("booking_cancelled_by_station", b.UserID); n != 1 {
		t.Fatalf("booking_cancelled_by_station: %d", n)
	}

	w.clock.Advance(3 * time.Hour) // past has begun
	expect(t, w.book(alice, past), http.StatusConflict, model.CodeFailedPrecondition)
	// A slot cannot be created in the past either.
	expect(t, w.postSlot(w.worker, w.offering, w.clock.Now().Add(-time.Hour), 3), http.StatusBadRequest, model.CodeInvalid)
}

func TestBookingIdempotencyKey(t *testing.T) {
	w := newBookingWorld(t)
	slot := w.createSlot(w.worker, w.offering, 48*time.Hour, 5)
	alice, _ := w.login("alice")
	send := func(body map[string]any) reply {
		return w.do(req{method: "POST", path: "/api/v1/bookings", token: alice, body: body,
			header: map[string]string{"Idempotency-Key": "book-1"}})
	}
	first := send(map[string]any{"slot_id": slot, "note": "第一次"})
	expect(t, first, http.StatusCreated, "")
	second := send(map[string]any{"slot_id": slot, "note": "第一次"})
	if second.Status != http.StatusCreated || string(second.Body) != string(first.Body) {
		t.Fatalf("replay: %d %s, want %s", second.Status, second.Body, first.Body)
	}
	expect(t, send(map[string]any{"slot_id": slot, "note": "另一个"}), http.StatusConflict, model.CodeConflict)
	if got := w.remaining(w.offering, slot); got != 4 {
		t.Fatalf("remaining: %d, want 4", got)
	}
}

func TestBookingValidation(t *testing.T) {
	w := newBookingWorld(t)
	alice, _ := w.login("alice")
	r := w.do(req{method: "POST", path: "/api/v1/bookings", token: alice, body: map[string]any{"slot_id": 0}})
	expect(t, r, http.StatusBadRequest, model.CodeInvalid)
	if r.errorFields()["slot_id"] == "" {
		t.Fatalf("fields: %s", r.Body)
	}
	r = w.do(req{method: "POST", path: "/api/v1/bookings", token: alice, body: map[string]any{"slot_id": 1, "when": "now"}})
	expect(t, r, http.StatusBadRequest, model.CodeInvalid)
	expect(t, w.book(alice, 999999), http.StatusNotFound, model.CodeNotFound)
	r = w.do(req{method: "POST", path: "/api/v1/admin/services", token: w.worker, body: map[string]any{
		"station_id": w.st.street, "name": "", "category": "a b", "duration_min": 1}})
	expect(t, r, http.StatusBadRequest, model.CodeInvalid)
	if f := r.errorFields(); f["name"] == "" || f["category"] == "" || f["duration_min"] == "" {
		t.Fatalf("fields: %s", r.Body)
	}
	r = w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/admin/services/%d/slots", w.offering), token: w.worker,
		body: map[string]any{"starts_at": "tomorrow", "ends_at": "2030-01-01T10:00:00+08:00", "capacity": 0}})
	expect(t, r, http.StatusBadRequest, model.CodeInvalid)
	if f := r.errorFields(); f["starts_at"] == "" || f["capacity"] == "" {
		t.Fatalf("fields: %s", r.Body)
	}
	expect(t, w.do(req{method: "GET", path: "/api/v1/bookings?mine=false", token: alice}), http.StatusBadRequest, model.CodeInvalid)
	expect(t, w.do(req{method: "GET", path: "/api/v1/bookings?status=lost", token: alice}), http.StatusBadRequest, model.CodeInvalid)
	expect(t, w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/services/%d/slots?from=yesterday", w.offering), token: alice}),
		http.StatusBadRequest, model.CodeInvalid)
	// Residents may not use staff routes.
	expect(t, w.do(req{method: "POST", path: "/api/v1/admin/services", token: alice, body: map[string]any{
		"station_id": w.st.street, "name": "x", "category": "counselling", "duration_min": 30}}), http.StatusForbidden, model.CodePermissionDenied)
}

func TestBookingConfirmationReachesTheInbox(t *testing.T) {
	w := newBookingWorld(t)
	slot := w.createSlot(w.worker, w.offering, 48*time.Hour, 2)
	alice, _ := w.login("alice")
	w.mustBook(alice, slot)
	r := w.do(req{method: "GET", path: "/api/v1/me/messages", token: alice})
	expect(t, r, http.StatusOK, "")
	var inbox model.Inbox
	r.decode(t, &inbox)
	if len(inbox.Items) != 1 || inbox.Items[0].Title != "预约成功" || !strings.Contains(inbox.Items[0].Body, "心理咨询") {
		t.Fatalf("inbox: %s", r.Body)
	}
}
