package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"jindalai/model"
)

// queueOpen is how many open requests the listed station's queue holds.
const queueOpen = 1000

// queueList is a social worker opening their station's dispatch queue, the
// first page of 20: GET /api/v1/queue (ids from the station's Redis queue,
// rows from MySQL). The station is the one with workers holding the fewest
// open requests, topped up to queueOpen, written and queued as submits are.
func queueList(ctx context.Context, b *bench) (op, plan, error) {
	by, err := stationWorkers(ctx, b)
	if err != nil {
		return nil, plan{}, err
	}
	station, err := quietestStation(ctx, b, by)
	if err != nil {
		return nil, plan{}, err
	}
	b.queueStation = station
	tokens := by[station]
	if err := fillQueue(ctx, b, station, queueOpen); err != nil {
		return nil, plan{}, err
	}
	p := b.plan()
	return func(ctx context.Context, w, i int) error {
		_, err := b.http.expect(ctx, call{method: "GET", path: "/api/v1/queue?limit=20", token: tokens[(i*p.Concurrency+w)%len(tokens)]},
			http.StatusOK)
		return err
	}, p, nil
}

// verifyQueue checks that the listed queue held queueOpen open requests.
func verifyQueue(ctx context.Context, b *bench, _ result) (string, error) {
	station := b.queueStation
	n, err := b.st.Redis.ZCard(ctx, b.st.Keys.StationQueue(station)).Result()
	if err != nil {
		return "", err
	}
	if n != queueOpen {
		return "", fmt.Errorf("station %d queue holds %d requests, want %d", station, n, queueOpen)
	}
	return fmt.Sprintf("station %d queue: %d open requests", station, n), nil
}

// quietestStation is the station with social workers that holds the fewest
// open requests (the ones submit left), so that its queue can be topped up
// to exactly queueOpen.
func quietestStation(ctx context.Context, b *bench, workers map[int64][]string) (int64, error) {
	var id int64
	var open int
	err := b.st.DB.QueryRowContext(ctx, `
		SELECT s.id, COUNT(r.id) FROM stations s
		LEFT JOIN requests r ON r.station_id = s.id AND r.org_id = 0 AND r.status IN ('dispatched', 'reopened')
		WHERE s.id IN (SELECT station_id FROM user_roles WHERE role = 'social_worker')
		GROUP BY s.id ORDER BY COUNT(r.id), s.id LIMIT 1`).Scan(&id, &open)
	if err != nil {
		return 0, err
	}
	if len(workers[id]) == 0 || open > queueOpen {
		return 0, fmt.Errorf("station %d: %d workers logged in, %d open requests", id, len(workers[id]), open)
	}
	return id, nil
}

// fillQueue adds dispatched requests to a station until it holds n open
// ones, through the store's batch write and queue placement.
func fillQueue(ctx context.Context, b *bench, stationID int64, n int) error {
	var open int
	if err := b.st.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM requests
		WHERE station_id = ? AND org_id = 0 AND status IN ('dispatched', 'reopened')`, stationID).Scan(&open); err != nil {
		return err
	}
	var ref model.StationRef
	var lat, lng float64
	if err := b.st.DB.QueryRowContext(ctx, `SELECT id, name, level, lat, lng FROM stations WHERE id = ?`, stationID).
		Scan(&ref.ID, &ref.Name, &ref.Level, &lat, &lng); err != nil {
		return err
	}
	acceptBy := time.Now().Add(24 * time.Hour)
	for open < n {
		batch := make([]model.PreparedRequest, 0, min(200, n-open))
		for k := range cap(batch) {
			cat := benchCategories[k%len(benchCategories)][0]
			resident := int64(1 + (open+k)%b.city.Residents)
			urgency := model.UrgencyNormal
			if k%5 == 0 {
				urgency = model.UrgencyUrgent
			}
			r := model.Request{ResidentID: resident, Status: model.StatusDispatched, Category: cat, CategoryName: cat,
				Description: "排队中的诉求", Address: "延吉市基准小区", Lat: lat, Lng: lng, Urgency: urgency,
				Images: []string{}, Fields: map[string]any{}, Station: ref, Organizations: []model.OrgRef{},
				AcceptBy: acceptBy.Add(time.Duration(k) * time.Second), Candidates: []model.StationRef{ref}}
			batch = append(batch, model.PreparedRequest{NewRequest: model.NewRequest{Request: r, Events: []model.RequestEvent{
				{Kind: model.EventSubmit, To: model.StatusSubmitted, ActorID: resident, ActorRole: string(model.RoleResident), StationID: ref.ID},
				{Kind: model.EventDispatch, From: model.StatusSubmitted, To: model.StatusDispatched, ActorRole: model.ActorSystem, StationID: ref.ID},
			}}})
		}
		rs, err := b.st.CreateRequests(ctx, batch, nil)
		if err != nil {
			return err
		}
		if err := b.st.PlaceNewRequests(ctx, rs); err != nil {
			return err
		}
		open += len(rs)
	}
	return nil
}
