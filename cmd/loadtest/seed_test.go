package main

import (
	"context"
	"slices"
	"testing"

	"jindalai/store/storetest"
)

// seedCity fills every step of the bench city into a migrated database and
// reports each one's rows.
func TestSeedCityFillsEveryStep(t *testing.T) {
	st := storetest.New(t)
	c := city{Stations: 20, Orgs: 30, Residents: 40, Workers: 10, Volunteers: 5}
	if err := seedCity(context.Background(), st.DB, &c); err != nil {
		t.Fatal(err)
	}
	want := []string{"users=75", "user_roles=35", "stations+orgs=50", "slots=800"}
	if !slices.Equal(c.Seeded, want) {
		t.Fatalf("seeded %v, want %v", c.Seeded, want)
	}
	var slots int
	if err := st.DB.QueryRow(`SELECT COUNT(*) FROM slots`).Scan(&slots); err != nil || slots != benchSlotCount(&c) {
		t.Fatalf("slots in MySQL: %d (%v), want %d", slots, err, benchSlotCount(&c))
	}
}
