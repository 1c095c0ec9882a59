package api

import (
	"encoding/json"
	"sync"
	"time"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now()} }

// Now returns the clock's time.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// stationTree is the part of the test city booking tests use: the city
// station, a street station (北山) and another (公园), and a point under 北山.
type stationTree struct {
	city, street, other, village int64
}

// bookingStations makes the test city.
func (h *harness) bookingStations() stationTree {
	c := h.city()
	return stationTree{city: c.City, street: c.Beishan, other: c.Gongyuan, village: c.PointA}
}

// errorMessage returns the message of an error reply.
func (r reply) errorMessage() string {
	var e errorBody
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Message
}
