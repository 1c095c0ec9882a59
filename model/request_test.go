package model

import "testing"

// TestRequestTransitions lists every allowed transition; every other pair of
// states must be refused with failed_precondition.
func TestRequestTransitions(t *testing.T) {
	allowed := map[[2]RequestStatus]bool{
		{StatusSubmitted, StatusDispatched}:  true,
		{StatusSubmitted, StatusCancelled}:   true,
		{StatusDispatched, StatusDispatched}: true, // reject, transfer, escalation
		{StatusDispatched, StatusAccepted}:   true,
		{StatusDispatched, StatusCancelled}:  true,
		{StatusAccepted, StatusInProgress}:   true,
		{StatusInProgress, StatusResolved}:   true,
		{StatusResolved, StatusClosed}:       true,
		{StatusResolved, StatusReopened}:     true,
		{StatusReopened, StatusAccepted}:     true,
	}
	n := 0
	for _, from := range RequestStatuses {
		for _, to := range RequestStatuses {
			want := allowed[[2]RequestStatus{from, to}]
			if got := CanTransition(from, to); got != want {
				t.Errorf("%s → %s: allowed = %v, want %v", from, to, got, want)
			}
			err := CheckTransition(from, to)
			if want && err != nil {
				t.Errorf("%s → %s: %v", from, to, err)
			}
			if !want && !IsCode(err, CodeFailedPrecondition) {
				t.Errorf("%s → %s: got %v, want failed_precondition", from, to, err)
			}
			if want {
				n++
			}
		}
	}
	if n != len(allowed) {
		t.Errorf("%d transitions allowed, table has %d", n, len(allowed))
	}
	for _, s := range []RequestStatus{StatusClosed, StatusCancelled} {
		if len(requestTransitions[s]) != 0 {
			t.Errorf("%s must be final", s)
		}
	}
	if RequestStatus("bogus").Valid() || CanTransition("bogus", StatusAccepted) {
		t.Error("unknown state accepted")
	}
}

func TestQueueScoreUrgentFirst(t *testing.T) {
	var normal, urgent Request
	normal.Urgency, urgent.Urgency = UrgencyNormal, UrgencyUrgent
	normal.AcceptBy = normal.AcceptBy.AddDate(2026, 0, 0)
	urgent.AcceptBy = normal.AcceptBy.AddDate(1, 0, 0) // later deadline, still first
	if urgent.QueueScore() >= normal.QueueScore() {
		t.Fatalf("urgent %d not before normal %d", urgent.QueueScore(), normal.QueueScore())
	}
}
