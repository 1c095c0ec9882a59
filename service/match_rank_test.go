package service

import (
	"testing"

	"jindalai/model"
)

func TestRankCandidates(t *testing.T) {
	ref := func(id int64, level int) model.StationRef { return model.StationRef{ID: id, Level: level} }
	cases := []struct {
		name    string
		in      []RankInput
		penalty float64
		want    []int64
	}{
		{"nearest first", []RankInput{{Station: ref(1, 3), DistanceM: 900}, {Station: ref(2, 3), DistanceM: 300}}, 200, []int64{2, 1}},
		{"point before street even when farther", []RankInput{{Station: ref(1, 2), DistanceM: 100}, {Station: ref(2, 3), DistanceM: 1400}}, 200, []int64{2, 1}},
		{"busy loses to slightly farther idle", []RankInput{{Station: ref(1, 3), DistanceM: 300, QueueLen: 2}, {Station: ref(2, 3), DistanceM: 500}}, 200, []int64{2, 1}},
		{"busy still wins when much nearer", []RankInput{{Station: ref(1, 3), DistanceM: 300, QueueLen: 1}, {Station: ref(2, 3), DistanceM: 800}}, 200, []int64{1, 2}},
		{"no penalty ignores load", []RankInput{{Station: ref(1, 3), DistanceM: 300, QueueLen: 50}, {Station: ref(2, 3), DistanceM: 500}}, 0, []int64{1, 2}},
		{"tie goes to the station open now", []RankInput{{Station: ref(1, 3), DistanceM: 500}, {Station: ref(2, 3), DistanceM: 500, OpenNow: true}}, 200, []int64{2, 1}},
		{"full tie goes to the smaller id", []RankInput{{Station: ref(9, 2), DistanceM: 500}, {Station: ref(4, 2), DistanceM: 500}}, 200, []int64{4, 9}},
		{"empty", nil, 200, []int64{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := RankCandidates(tc.in, tc.penalty)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d candidates, want %d", len(got), len(tc.want))
			}
			for i, id := range tc.want {
				if got[i].Station.ID != id {
					t.Fatalf("order %v, want %v", ids(got), tc.want)
				}
			}
		})
	}
	got := RankCandidates([]RankInput{{Station: ref(1, 3), DistanceM: 300, QueueLen: 2}}, 200)
	if got[0].Score != 700 || got[0].DistanceM != 300 {
		t.Fatalf("score %v distance %v, want 700 and 300", got[0].Score, got[0].DistanceM)
	}
}

func ids(cs []model.Candidate) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.Station.ID
	}
	return out
}

func TestDistance(t *testing.T) {
	// 0.01° of latitude is about 1112 m.
	d := distanceM(model.Point{Lat: 42.9, Lng: 129.5}, model.Point{Lat: 42.91, Lng: 129.5})
	if d < 1105 || d > 1120 {
		t.Fatalf("distance %v", d)
	}
}
