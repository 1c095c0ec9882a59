package api

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"jindalai/model"
)

func TestWeeklyPatternSkipsClosedDate(t *testing.T) {
	w := newBookingWorld(t)
	loc := w.store.Loc
	// The Monday at least two days ahead, then four whole weeks.
	from := w.clock.Now().In(loc).AddDate(0, 0, 2)
	for from.Weekday() != time.Monday {
		from = from.AddDate(0, 0, 1)
	}
	to := from.AddDate(0, 0, 27)
	closed := from.AddDate(0, 0, 8).Format(time.DateOnly) // the second Tuesday
	r := w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/admin/stations/%d/closed-dates", w.st.street), token: w.worker,
		body: map[string]string{"date": closed, "reason": "站点培训"}})
	expect(t, r, http.StatusCreated, "")
	expect(t, w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/admin/stations/%d/closed-dates", w.st.street), token: w.worker,
		body: map[string]string{"date": closed}}), http.StatusConflict, model.CodeConflict)

	pattern := map[string]any{
		"from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly), "weekdays": []int{2, 4},
		"times":    []map[string]string{{"start": "09:00", "end": "10:00"}, {"start": "14:00", "end": "15:30"}},
		"capacity": 3,
	}
	r = w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/admin/services/%d/slots/pattern", w.offering), token: w.worker, body: pattern})
	expect(t, r, http.StatusCreated, "")
	var batch model.SlotBatch
	r.decode(t, &batch)
	if len(batch.Items) != 14 {
		t.Fatalf("made %d slots, want 14 (8 days − 1 closed, × 2 times): %s", len(batch.Items), r.Body)
	}
	if len(batch.Skipped) != 1 || batch.Skipped[0].Date != closed || batch.Skipped[0].Reason != "closed" || batch.Skipped[0].Note != "站点培训" {
		t.Fatalf("skipped: %+v", batch.Skipped)
	}
	perDay := map[string]int{}
	for _, s := range batch.Items {
		start := s.StartsAt.In(loc)
		day := start.Format(time.DateOnly)
		perDay[day]++
		wd := start.Weekday()
		ok := (wd == time.Tuesday || wd == time.Thursday) && day != closed && start.Minute() == 0 &&
			((start.Hour() == 9 && s.EndsAt.Sub(s.StartsAt) == time.Hour) || (start.Hour() == 14 && s.EndsAt.Sub(s.StartsAt) == 90*time.Minute))
		if !ok || s.Capacity != 3 || s.Remaining != 3 || s.ID == 0 || start.Before(from) || start.After(to.AddDate(0, 0, 1)) {
			t.Fatalf("bad slot %+v", s)
		}
	}
	if len(perDay) != 7 {
		t.Fatalf("days with slots: %v", perDay)
	}
	// The slots are listed (with remaining places) in the zone's days.
	r = w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/services/%d/slots?from=%s&to=%s&limit=100", w.offering,
		from.Format(time.DateOnly), to.Format(time.DateOnly)), token: w.admin})
	var list model.List[model.Slot]
	r.decode(t, &list)
	if len(list.Items) != 14 || !list.Items[0].StartsAt.Before(list.Items[1].StartsAt) {
		t.Fatalf("listed %d slots", len(list.Items))
	}
	// Paging by start time covers every slot once.
	seen := map[int64]bool{}
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		r = w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/services/%d/slots?from=%s&to=%s&limit=5&cursor=%s", w.offering,
			from.Format(time.DateOnly), to.Format(time.DateOnly), cursor), token: w.admin})
		var page model.List[model.Slot]
		r.decode(t, &page)
		for _, s := range page.Items {
			seen[s.ID] = true
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 14 {
		t.Fatalf("paging saw %d slots", len(seen))
	}

	// Run again with a skip date: nothing new, everything reported.
	pattern["skip_dates"] = []string{from.AddDate(0, 0, 3).Format(time.DateOnly)}
	r = w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/admin/services/%d/slots/pattern", w.offering), token: w.worker, body: pattern})
	expect(t, r, http.StatusCreated, "")
	var again model.SlotBatch
	r.decode(t, &again)
	reasons := map[string]int{}
	for _, s := range again.Skipped {
		reasons[s.Reason]++
	}
	if len(again.Items) != 0 || reasons["exists"] != 12 || reasons["closed"] != 1 || reasons["skip_date"] != 1 {
		t.Fatalf("second run: %d made, skipped %v", len(again.Items), reasons)
	}

	// A single slot cannot be put on the closed day.
	closedDay, _ := time.ParseInLocation(time.DateOnly, closed, loc)
	expect(t, w.postSlot(w.worker, w.offering, closedDay.Add(10*time.Hour), 2), http.StatusConflict, model.CodeFailedPrecondition)
	r = w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/admin/stations/%d/closed-dates?to=%s", w.st.street, to.Format(time.DateOnly)), token: w.worker})
	var days model.List[model.ClosedDate]
	r.decode(t, &days)
	if len(days.Items) != 1 || days.Items[0].Date != closed {
		t.Fatalf("closed dates: %s", r.Body)
	}
	expect(t, w.do(req{method: "DELETE", path: fmt.Sprintf("/api/v1/admin/stations/%d/closed-dates/%s", w.st.street, closed), token: w.worker}),
		http.StatusNoContent, "")
	expect(t, w.postSlot(w.worker, w.offering, closedDay.Add(10*time.Hour), 2), http.StatusCreated, "")

	// Bad patterns name their fields.
	r = w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/admin/services/%d/slots/pattern", w.offering), token: w.worker, body: map[string]any{
		"from": "2030-01-10", "to": "2030-01-01", "weekdays": []int{0}, "times": []map[string]string{{"start": "15:00", "end": "14:00"}}, "capacity": 1}})
	expect(t, r, http.StatusBadRequest, model.CodeInvalid)
	if f := r.errorFields(); f["to"] == "" || f["weekdays"] == "" || f["times[0].end"] == "" {
		t.Fatalf("fields: %s", r.Body)
	}
}

func TestBookingStaffScope(t *testing.T) {
	w := newBookingWorld(t)
	otherWorker := w.staff("other", model.RoleSocialWorker, w.st.other)
	streetAdmin := w.staff("streetadmin", model.RoleStationAdmin, w.st.street)
	slot := w.createSlot(w.worker, w.offering, 2*time.Hour, 3)
	alice, _ := w.login("alice")
	b := w.mustBook(alice, slot)

	// Staff of another station: 403 on the street station's offerings and
	// slots, 404 on its bookings.
	expect(t, w.do(req{method: "POST", path: "/api/v1/admin/services", token: otherWorker, body: map[string]any{
		"station_id": w.st.street, "name": "政策咨询", "category": "low_income", "duration_min": 30}}), http.StatusForbidden, model.CodePermissionDenied)
	expect(t, w.postSlot(otherWorker, w.offering, w.clock.Now().Add(5*time.Hour), 2), http.StatusForbidden, model.CodePermissionDenied)
	expect(t, w.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/admin/services/%d", w.offering), token: otherWorker,
		body: map[string]any{"active": false}}), http.StatusForbidden, model.CodePermissionDenied)
	expect(t, w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/admin/slots/%d/cancel", slot), token: otherWorker}), http.StatusForbidden, model.CodePermissionDenied)
	expect(t, w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/admin/stations/%d/bookings", w.st.street), token: otherWorker}), http.StatusForbidden, model.CodePermissionDenied)
	expect(t, w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/admin/stations/%d/closed-dates", w.st.street), token: otherWorker,
		body: map[string]string{"date": "2030-01-01"}}), http.StatusForbidden, model.CodePermissionDenied)
	w.clock.Advance(3 * time.Hour)
	expect(t, w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/bookings/%d/attend", b.ID), token: otherWorker}), http.StatusNotFound, model.CodeNotFound)
	expect(t, w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/bookings/%d", b.ID), token: otherWorker}), http.StatusNotFound, model.CodeNotFound)
	// The resident cannot mark their own attendance.
	expect(t, w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/bookings/%d/attend", b.ID), token: alice}), http.StatusForbidden, model.CodePermissionDenied)

	// A station admin manages the stations below; a social worker does not.
	expect(t, w.do(req{method: "POST", path: "/api/v1/admin/services", token: w.worker, body: map[string]any{
		"station_id": w.st.village, "name": "上门服务", "category": "home_visit", "duration_min": 90}}), http.StatusForbidden, model.CodePermissionDenied)
	w.createOffering(streetAdmin, w.st.village, "上门服务")
	expect(t, w.do(req{method: "POST", path: "/api/v1/admin/services", token: streetAdmin, body: map[string]any{
		"station_id": w.st.other, "name": "上门服务", "category": "home_visit", "duration_min": 90}}), http.StatusForbidden, model.CodePermissionDenied)
	// A city admin may act anywhere; an unknown station is 404.
	w.createOffering(w.admin, w.st.other, "政策咨询")
	expect(t, w.do(req{method: "POST", path: "/api/v1/admin/services", token: w.admin, body: map[string]any{
		"station_id": 999, "name": "x", "category": "counselling", "duration_min": 30}}), http.StatusNotFound, model.CodeNotFound)
	expect(t, w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/bookings/%d/attend", b.ID), token: w.admin}), http.StatusOK, "")
}

func TestAttendanceAndNoShowLimit(t *testing.T) {
	w := newBookingWorld(t)
	alice, _ := w.login("alice")
	s1 := w.createSlot(w.worker, w.offering, 2*time.Hour, 3)
	s2 := w.createSlot(w.worker, w.offering, 3*time.Hour, 3)
	s3 := w.createSlot(w.worker, w.offering, 4*time.Hour, 3)
	s4 := w.createSlot(w.worker, w.offering, 48*time.Hour, 3)
	b1, b2, b3 := w.mustBook(alice, s1), w.mustBook(alice, s2), w.mustBook(alice, s3)

	mark := func(id int64, what string) reply {
		return w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/bookings/%d/%s", id, what), token: w.worker})
	}
	expect(t, mark(b1.ID, "attend"), http.StatusConflict, model.CodeFailedPrecondition) // not started
	w.clock.Advance(5 * time.Hour)
	r := mark(b1.ID, "attend")
	expect(t, r, http.StatusOK, "")
	var got model.Booking
	r.decode(t, &got)
	if got.Status != model.BookingAttended || got.MarkedAt == nil {
		t.Fatalf("attended: %s", r.Body)
	}
	expect(t, mark(b2.ID, "no-show"), http.StatusOK, "")
	// One no-show is under the limit (2 in the harness).
	w.mustBook(alice, s4)
	expect(t, mark(b3.ID, "no-show"), http.StatusOK, "")
	bob, _ := w.login("bob")
	s5 := w.createSlot(w.worker, w.offering, 50*time.Hour, 3)
	r = w.book(alice, s5)
	expect(t, r, http.StatusConflict, model.CodeFailedPrecondition)
	if msg := r.errorMessage(); msg == "" || msg[0] < 0x80 {
		t.Fatalf("want a Chinese message, got %q", msg)
	}
	w.mustBook(bob, s5)
	// A correction counts: attended again lifts the block.
	expect(t, mark(b3.ID, "attend"), http.StatusOK, "")
	w.mustBook(alice, s5)
}

func TestSlotCancelAndDelete(t *testing.T) {
	w := newBookingWorld(t)
	slot := w.createSlot(w.worker, w.offering, 24*time.Hour, 3)
	empty := w.createSlot(w.worker, w.offering, 26*time.Hour, 3)
	alice, aliceUser := w.login("alice")
	bob, bobUser := w.login("bob")
	w.mustBook(alice, slot)
	bb := w.mustBook(bob, slot)
	expect(t, w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/bookings/%d/cancel", bb.ID), token: bob}), http.StatusOK, "")
	w.mustBook(bob, slot)

	expect(t, w.do(req{method: "DELETE", path: fmt.Sprintf("/api/v1/admin/slots/%d", slot), token: w.worker}), http.StatusConflict, model.CodeFailedPrecondition)
	expect(t, w.do(req{method: "DELETE", path: fmt.Sprintf("/api/v1/admin/slots/%d", empty), token: w.worker}), http.StatusNoContent, "")
	expect(t, w.do(req{method: "DELETE", path: fmt.Sprintf("/api/v1/admin/slots/%d", empty), token: w.worker}), http.StatusNotFound, model.CodeNotFound)

	r := w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/admin/slots/%d/cancel", slot), token: w.worker, body: map[string]string{"reason": "停电"}})
	expect(t, r, http.StatusOK, "")
	var sl model.Slot
	r.decode(t, &sl)
	if sl.Status != model.SlotCancelled || sl.Remaining != 0 {
		t.Fatalf("cancelled slot: %s", r.Body)
	}
	if w.notifications("slot_cancelled", aliceUser.ID) != 1 || w.notifications("slot_cancelled", bobUser.ID) != 1 {
		t.Fatal("every booked resident gets one slot_cancelled")
	}
	var live int
	_ = w.store.DB.QueryRow(`SELECT COUNT(*) FROM bookings WHERE slot_id = ? AND status = 'booked'`, slot).Scan(&live)
	if live != 0 || w.remaining(w.offering, slot) != -1 {
		t.Fatalf("after cancel: %d live bookings; slot still listed", live)
	}
	expect(t, w.book(alice, slot), http.StatusConflict, model.CodeFailedPrecondition)
	expect(t, w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/admin/slots/%d/cancel", slot), token: w.worker}), http.StatusConflict, model.CodeFailedPrecondition)
	// A new slot may take the cancelled one's time.
	w.createSlot(w.worker, w.offering, 24*time.Hour, 3)

	// A deactivated offering takes no bookings and is hidden from residents.
	other := w.createSlot(w.worker, w.offering, 30*time.Hour, 3)
	expect(t, w.do(req{method: "PATCH", path: fmt.Sprintf("/api/v1/admin/services/%d", w.offering), token: w.worker,
		body: map[string]any{"active": false}}), http.StatusOK, "")
	expect(t, w.book(alice, other), http.StatusConflict, model.CodeFailedPrecondition)
	r = w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/services?station_id=%d", w.st.street), token: alice})
	var offs model.List[model.Offering]
	r.decode(t, &offs)
	if len(offs.Items) != 0 {
		t.Fatalf("inactive offering listed: %s", r.Body)
	}
	r = w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/services?station_id=%d&include_inactive=true", w.st.street), token: w.worker})
	r.decode(t, &offs)
	if len(offs.Items) != 1 || offs.Items[0].Active {
		t.Fatalf("staff list: %s", r.Body)
	}
	expect(t, w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/services?station_id=%d&include_inactive=true", w.st.street), token: alice}),
		http.StatusForbidden, model.CodePermissionDenied)
}

func TestRemindersAreQueuedOnce(t *testing.T) {
	w := newBookingWorld(t)
	ctx := context.Background()
	slot := w.createSlot(w.worker, w.offering, 48*time.Hour, 10)
	soon := w.createSlot(w.worker, w.offering, 5*time.Hour, 10)
	users := make([]int64, 5)
	for i := range users {
		tok, u := w.login(fmt.Sprintf("r%d", i))
		users[i] = u.ID
		w.mustBook(tok, slot)
		if i == 0 {
			w.mustBook(tok, soon) // inside the 24 h reminder lead: no reminder
		}
	}
	gone := w.mustBook(mustLogin(w, "gone"), slot)
	expect(t, w.do(req{method: "POST", path: fmt.Sprintf("/api/v1/bookings/%d/cancel", gone.ID), token: mustLogin(w, "gone")}), http.StatusOK, "")

	if n, err := w.bookings.SendDueReminders(ctx); err != nil || n != 0 {
		t.Fatalf("early: %d %v", n, err)
	}
	w.clock.Advance(25 * time.Hour)
	var wg sync.WaitGroup
	sent := make([]int, 4)
	for i := range sent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := w.bookings.SendDueReminders(ctx)
			if err != nil {
				t.Error(err)
			}
			sent[i] = n
		}()
	}
	wg.Wait()
	if total := sent[0] + sent[1] + sent[2] + sent[3]; total != 5 {
		t.Fatalf("reminders queued %v, want 5 in total", sent)
	}
	for _, u := range users {
		if n := w.notifications("booking_reminder", u); n != 1 {
			t.Fatalf("user %d has %d reminders", u, n)
		}
	}
	if n, _ := w.bookings.SendDueReminders(ctx); n != 0 {
		t.Fatalf("second pass sent %d", n)
	}
}

func mustLogin(w *bookingWorld, code string) string {
	tok, _ := w.login(code)
	return tok
}

func TestStationDayListShowsPhoneToStaff(t *testing.T) {
	w := newBookingWorld(t)
	loc := w.store.Loc
	day := w.clock.Now().In(loc).AddDate(0, 0, 2)
	start := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, loc)
	r := w.postSlot(w.worker, w.offering, start, 5)
	expect(t, r, http.StatusCreated, "")
	var sl model.Slot
	r.decode(t, &sl)
	alice, _ := w.login("alice")
	expect(t, w.do(req{method: "POST", path: "/api/v1/auth/wechat/phone", token: alice, body: map[string]string{"code": "13812345678"}}), http.StatusOK, "")
	b := w.mustBook(alice, sl.ID)
	if b.Resident != nil {
		t.Fatal("the resident's own view carries no resident block")
	}
	r = w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/admin/stations/%d/bookings?date=%s", w.st.street, day.Format(time.DateOnly)), token: w.worker})
	expect(t, r, http.StatusOK, "")
	var list model.List[model.Booking]
	r.decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Resident == nil || list.Items[0].Resident.Phone != "13812345678" {
		t.Fatalf("station day list: %s", r.Body)
	}
	r = w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/admin/stations/%d/bookings?date=%s", w.st.street, day.AddDate(0, 0, 1).Format(time.DateOnly)), token: w.worker})
	r.decode(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("next day: %s", r.Body)
	}
	expect(t, w.do(req{method: "GET", path: fmt.Sprintf("/api/v1/admin/stations/%d/bookings?date=tomorrow", w.st.street), token: w.worker}),
		http.StatusBadRequest, model.CodeInvalid)
}
