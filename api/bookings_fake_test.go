package api

import (
	"context"
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

// fakeStations is a hand-written station tree for the bookings service
// (until the stations service is merged): id → parent.
type fakeStations struct {
	mu     sync.Mutex
	parent map[int64]int64
}

func newFakeStations() *fakeStations {
	return &fakeStations{parent: map[int64]int64{}}
}

// add records a station under parent (0: a root).
func (f *fakeStations) add(id, parent int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parent[id] = parent
}

func (f *fakeStations) StationExists(ctx context.Context, id int64) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.parent[id]
	return ok, nil
}

func (f *fakeStations) Subtree(ctx context.Context, stationID int64) ([]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []int64{stationID}
	for i := 0; i < len(out); i++ {
		for id, p := range f.parent {
			if p == out[i] {
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// stationTree is a small tree for booking tests: a city station, two street
// stations under it, and a village point under the first street station.
type stationTree struct {
	city, street, other, village int64
}

// bookingStations makes the station tree of booking tests.
func (h *harness) bookingStations() stationTree {
	t := stationTree{city: 1, street: 2, other: 3, village: 4}
	h.fakeTree.add(t.city, 0)
	h.fakeTree.add(t.street, t.city)
	h.fakeTree.add(t.other, t.city)
	h.fakeTree.add(t.village, t.street)
	return t
}

// errorMessage returns the message of an error reply.
func (r reply) errorMessage() string {
	var e errorBody
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Message
}
