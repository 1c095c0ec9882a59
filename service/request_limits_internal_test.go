package service

import (
	"testing"
	"time"

	"jindalai/model"
)

// TestRefusedSubjects: a refusal holds for its wait, not longer; other
// errors are not remembered; the memory stays bounded.
func TestRefusedSubjects(t *testing.T) {
	var r refusedSubjects
	r.note(1, tooManyRequests(40*time.Millisecond))
	r.note(2, model.Errorf(model.CodeUnavailable, "x"))
	r.note(3, nil)
	if err := r.check(1); !model.IsCode(err, model.CodeTooManyRequests) {
		t.Fatalf("refused subject: %v", err)
	}
	if r.check(2) != nil || r.check(3) != nil {
		t.Fatal("only too_many_requests is remembered")
	}
	time.Sleep(50 * time.Millisecond)
	if err := r.check(1); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	for i := range int64(3 * refusedSubjectsMax) {
		r.note(100+i, tooManyRequests(time.Minute))
	}
	if n := len(r.until); n > refusedSubjectsMax {
		t.Fatalf("%d remembered, bound %d", n, refusedSubjectsMax)
	}
	if r.check(100+3*refusedSubjectsMax-1) == nil {
		t.Fatal("the latest refusal was forgotten")
	}
}
