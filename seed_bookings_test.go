package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"jindalai/config"
	"jindalai/store/storetest"
)

func TestSeedLoadsDemoOfferingsAndSlotsOnce(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	cfg := config.Defaults()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	count := func(table string) int {
		var n int
		if err := st.DB.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := seed(ctx, st, cfg, log); err != nil {
		t.Fatal(err)
	}
	offerings, slots := count("offerings"), count("slots")
	if offerings != len(demoOfferings) || slots < 40 {
		t.Fatalf("%d offerings, %d slots", offerings, slots)
	}
	if err := seed(ctx, st, cfg, log); err != nil {
		t.Fatal(err)
	}
	if count("offerings") != offerings || count("slots") != slots {
		t.Fatalf("second seed: %d offerings, %d slots; want %d, %d", count("offerings"), count("slots"), offerings, slots)
	}
}
