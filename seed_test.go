package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"jindalai/config"
	"jindalai/model"
	"jindalai/service"
	"jindalai/store/storetest"
)

func TestSeedLoadsTheDemoCityOnce(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	cfg := config.Defaults()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := 0; i < 2; i++ {
		if err := seed(ctx, st, cfg, log); err != nil {
			t.Fatalf("seed run %d: %v", i+1, err)
		}
	}
	count := func(table string) int {
		var n int
		if err := st.DB.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("categories"); n != len(demoCategories) || n < 15 {
		t.Fatalf("%d categories", n)
	}
	if n := count("stations"); n != len(demoStations) {
		t.Fatalf("%d stations, want %d", n, len(demoStations))
	}
	if n := count("organizations"); n != len(demoOrgs) || n < 12 {
		t.Fatalf("%d organizations", n)
	}
	stations, err := st.ListStations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	levels := map[int]int{}
	areas := map[string]bool{}
	for _, c := range demoCategories {
		areas[c.Area] = true
	}
	for _, s := range stations {
		levels[s.Level]++
		if s.Level == model.LevelStreet && len(s.Categories) < 8 {
			t.Errorf("street station %s serves only %d categories", s.Name, len(s.Categories))
		}
		if s.Level == model.LevelVillage && len(s.Categories) > 4 {
			t.Errorf("point %s serves %d categories", s.Name, len(s.Categories))
		}
	}
	if levels[1] != 1 || levels[2] != 10 || levels[3] < 8 || len(areas) != 5 {
		t.Fatalf("levels %v, areas %d", levels, len(areas))
	}

	svc := service.NewStations(st, st, service.MatchConfig{SearchRadiiM: cfg.Dispatch.SearchRadiiM,
		LoadPenaltyM: cfg.Dispatch.LoadPenaltyM, MaxOrgs: cfg.Dispatch.MaxOrgs}, cfg.Location(), log)
	byName := map[string]int64{}
	for _, s := range stations {
		byName[s.Name] = s.ID
	}
	for _, tc := range []struct {
		p        model.Point
		category string
		want     string
	}{
		{model.Point{Lat: 42.9212, Lng: 129.5003}, "left_behind_child", "北山街道丹英社区社工点"},
		{model.Point{Lat: 42.9212, Lng: 129.5003}, "low_income_consult", "北山街道社工站"},
		{model.Point{Lat: 43.046, Lng: 129.584}, "low_income_consult", "依兰镇九龙村社工点"},
		{model.Point{Lat: 42.905, Lng: 128.89}, "home_visit", "延吉市社工总站"},
	} {
		r, err := svc.Match(ctx, tc.p, tc.category)
		if err != nil {
			t.Fatal(err)
		}
		if r.Stations[0].Station.ID != byName[tc.want] {
			t.Errorf("%+v %s: got %s, want %s", tc.p, tc.category, r.Stations[0].Station.Name, tc.want)
		}
		if last := r.Stations[len(r.Stations)-1]; last.Station.Level != 1 {
			t.Errorf("chain does not end at the city station: %+v", r.Stations)
		}
	}
	r, _ := svc.Match(ctx, model.Point{Lat: 42.9212, Lng: 129.5003}, "home_visit")
	if len(r.Orgs) == 0 || len(r.Orgs) > 3 {
		t.Errorf("orgs near 北山 for home visits: %+v", r.Orgs)
	}
}
