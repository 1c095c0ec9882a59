package service

import (
	"math"
	"strings"
	"testing"
	"time"

	"jindalai/model"
)

func TestDistanceM(t *testing.T) {
	for _, c := range []struct {
		a, b model.Point
		want float64
	}{
		{model.Point{Lat: 42.906, Lng: 129.497}, model.Point{Lat: 42.906, Lng: 129.497}, 0},
		{model.Point{Lat: 42.906, Lng: 129.497}, model.Point{Lat: 42.951, Lng: 129.497}, 5004},        // 0.045° of latitude
		{model.Point{Lat: 0, Lng: 0}, model.Point{Lat: 0, Lng: 1}, 111195},                            // 1° on the equator
		{model.Point{Lat: 42.905, Lng: 129.509}, model.Point{Lat: 42.882, Lng: 129.513}, 2578},        // 民政局 → 河南街道
		{model.Point{Lat: 39.9042, Lng: 116.4074}, model.Point{Lat: 31.2304, Lng: 121.4737}, 1067311}, // Beijing → Shanghai
	} {
		got := distanceM(c.a, c.b)
		if math.Abs(got-c.want) > c.want*0.002+1 {
			t.Errorf("%v → %v: %.0f m, want about %.0f", c.a, c.b, got, c.want)
		}
	}
}

func TestBoundingBoxHoldsTheCircle(t *testing.T) {
	c := model.Point{Lat: 42.906, Lng: 129.497}
	const r = 5000.0
	box := boundingBox(c, r)
	for deg := 0.0; deg < 360; deg += 7.5 {
		// A point just inside the circle (0.995 r away) in direction deg.
		rad := deg * math.Pi / 180
		step := 0.995 * r / 111195
		p := model.Point{Lat: c.Lat + step*math.Cos(rad), Lng: c.Lng + step/math.Cos(c.Lat*math.Pi/180)*math.Sin(rad)}
		if d := distanceM(c, p); d > r {
			t.Fatalf("test point %v is %.0f m away, outside the circle", p, d)
		}
		if p.Lat < box.MinLat || p.Lat > box.MaxLat || p.Lng < box.MinLng || p.Lng > box.MaxLng {
			t.Fatalf("point %v at %.0f m is outside the box %+v", p, distanceM(c, p), box)
		}
	}
}

func TestTimeCursorRoundTrip(t *testing.T) {
	at := time.UnixMilli(1767225600123)
	got, id, err := decodeTimeCursor(encodeTimeCursor(at, 42))
	if err != nil || !got.Equal(at) || id != 42 {
		t.Fatalf("round trip: %v %d %v", got, id, err)
	}
	for _, bad := range []string{"zzz", "MTIz", "YS5i"} {
		if _, _, err := decodeTimeCursor(bad); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}

func TestRandomDigits(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c := randomDigits(6)
		if len(c) != 6 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Fatalf("%d distinct codes of 200", len(seen))
	}
}
