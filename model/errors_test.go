package model

import (
	"math"
	"testing"
)

// TestFieldErrorsMerge: a check's field problems join those already
// recorded (the first problem of a field stays); nil, or an error naming no
// field, adds nothing.
func TestFieldErrorsMerge(t *testing.T) {
	fe := FieldErrors{}
	fe.Add("lat", "必填")
	fe.Merge(nil)
	fe.Merge(Errorf(CodeUnavailable, "x"))
	fe.Merge(Point{Lat: 91, Lng: 181}.Check())
	if len(fe) != 2 || fe["lat"] != "必填" || fe["lng"] != "经度超出范围" {
		t.Fatalf("merged %v", fe)
	}
}

// TestCheckPlaceRefusesZeroZero: (0, 0), also as -0, names lat and lng;
// a place on the equator or the prime meridian alone is fine.
func TestCheckPlaceRefusesZeroZero(t *testing.T) {
	negZero := math.Copysign(0, -1)
	for _, p := range []Point{{0, 0}, {Lat: negZero, Lng: 0}} {
		e, ok := p.CheckPlace().(*Error)
		if !ok || e.Fields["lat"] == "" || e.Fields["lng"] == "" {
			t.Fatalf("%v: %v", p, p.CheckPlace())
		}
	}
	for _, p := range []Point{{0, 129.5}, {42.9, 0}} {
		if err := p.CheckPlace(); err != nil {
			t.Fatalf("%v: %v", p, err)
		}
	}
	if err := (Point{Lat: 100}).CheckPlace(); err == nil {
		t.Fatal("out of range passed")
	}
}
