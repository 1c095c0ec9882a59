package service_test

import (
	"context"
	"sync"

	"jindalai/model"
)

// fakeDirectory is a hand-written DispatchDirectory: city 1 → streets 2 and
// 5 → points 3 and 4 under 2; every match proposes 3, 4, 2, 1.
type fakeDirectory struct {
	stations map[int64]model.StationRef
	parent   map[int64]int64
	orgs     map[int64]model.OrgRef
	order    []int64

	mu     sync.Mutex
	queued map[int64]int // Queued calls by station
}

func (d *fakeDirectory) Queued(stationID int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.queued == nil {
		d.queued = map[int64]int{}
	}
	d.queued[stationID]++
}

func (d *fakeDirectory) queuedAt(stationID int64) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queued[stationID]
}

func newFakeDirectory() *fakeDirectory {
	return &fakeDirectory{
		stations: map[int64]model.StationRef{
			1: {ID: 1, Name: "延吉市社工总站", Level: 1},
			2: {ID: 2, Name: "北山街道社工站", Level: 2},
			3: {ID: 3, Name: "北山A社区社工点", Level: 3},
			4: {ID: 4, Name: "北山B社区社工点", Level: 3},
			5: {ID: 5, Name: "公园街道社工站", Level: 2},
		},
		parent: map[int64]int64{2: 1, 5: 1, 3: 2, 4: 2},
		orgs:   map[int64]model.OrgRef{7: {ID: 7, Name: "延吉市老年协会"}},
		order:  []int64{3, 4, 2, 1},
	}
}

func (d *fakeDirectory) Match(ctx context.Context, p model.Point, category string) (model.MatchResult, error) {
	if err := p.Check(); err != nil {
		return model.MatchResult{}, err
	}
	cat, err := d.category(category)
	if err != nil {
		return model.MatchResult{}, model.InvalidField("category", "未知的服务类别")
	}
	out := model.MatchResult{Category: cat}
	for i, id := range d.order {
		out.Stations = append(out.Stations, model.Candidate{Station: d.stations[id], DistanceM: float64(100 * i)})
	}
	out.Orgs = []model.OrgRef{d.orgs[7]}
	return out, nil
}

func (d *fakeDirectory) Ancestors(ctx context.Context, id int64) ([]model.StationRef, error) {
	if _, ok := d.stations[id]; !ok {
		return nil, model.NotFound("站点")
	}
	out := []model.StationRef{}
	for p := d.parent[id]; p != 0; p = d.parent[p] {
		out = append(out, d.stations[p])
	}
	return out, nil
}

func (d *fakeDirectory) category(code string) (model.Category, error) {
	if code != "home_visit" {
		return model.Category{}, model.NotFound("服务类别")
	}
	return model.Category{Code: code, Name: "上门探访", Area: model.AreaElderCare, Active: true}, nil
}

func (d *fakeDirectory) StationRef(ctx context.Context, id int64) (model.StationRef, error) {
	s, ok := d.stations[id]
	if !ok {
		return s, model.NotFound("站点")
	}
	return s, nil
}

func (d *fakeDirectory) OrgRef(ctx context.Context, id int64) (model.OrgRef, error) {
	o, ok := d.orgs[id]
	if !ok {
		return o, model.NotFound("社会组织")
	}
	return o, nil
}

func (d *fakeDirectory) Subtree(ctx context.Context, id int64) ([]int64, error) {
	out := []int64{id}
	for i := 0; i < len(out); i++ {
		for child, p := range d.parent {
			if p == out[i] {
				out = append(out, child)
			}
		}
	}
	return out, nil
}
