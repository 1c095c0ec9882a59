package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"jindalai/config"
	"jindalai/model"
	"jindalai/service"
	"jindalai/store"
)

// demoOffering is a bookable service of a demo station with its weekly slots.
type demoOffering struct {
	station, name, category, description string
	durationMin                          int
	weekdays                             []int
	times                                []service.TimeRange
	capacity                             int
}

var demoOfferings = []demoOffering{
	{"北山街道社工站", "心理咨询", "counselling", "一对一心理咨询，每次 1 小时", 60,
		[]int{2}, []service.TimeRange{{Start: "14:00", End: "15:00"}}, 3},
	{"北山街道社工站", "留守儿童关爱咨询", "left_behind_child", "留守、单亲、特困儿童家庭咨询", 60,
		[]int{3, 5}, []service.TimeRange{{Start: "15:30", End: "16:30"}}, 4},
	{"进学街道社工站", "退役军人政策咨询", "veteran_service", "“老兵之家”政策咨询与帮扶", 45,
		[]int{1, 4}, []service.TimeRange{{Start: "09:00", End: "09:45"}, {Start: "10:00", End: "10:45"}}, 2},
	{"进学街道社工站", "婚姻家庭辅导", "marriage_family", "“幸福之家”婚姻家庭辅导", 60,
		[]int{6}, []service.TimeRange{{Start: "09:30", End: "10:30"}}, 2},
	{"依兰镇社工站", "低保政策咨询", "low_income_consult", "最低生活保障政策咨询与申请指导", 30,
		[]int{1, 3, 5}, []service.TimeRange{{Start: "09:00", End: "09:30"}, {Start: "14:00", End: "14:30"}}, 5},
	{"公园街道社工站", "上门服务预约", "home_visit", "为行动不便的老人预约上门探访", 90,
		[]int{2, 4}, []service.TimeRange{{Start: "09:00", End: "10:30"}}, 2},
}

// seedBookings adds the demo offerings (those missing, by station and name)
// and their slots for the next four weeks from weekly patterns; patterns
// skip the slots that exist, so a second run the same day changes nothing.
func seedBookings(ctx context.Context, st *store.Store, cfg config.Config, log *slog.Logger) error {
	loc := cfg.Location()
	stations := service.NewStations(st, st, service.MatchConfig{SearchRadiiM: cfg.Dispatch.SearchRadiiM,
		LoadPenaltyM: cfg.Dispatch.LoadPenaltyM, MaxOrgs: cfg.Dispatch.MaxOrgs}, loc, log)
	// No PII cipher: the seed makes offerings and slots and reads no personal data.
	svc := service.NewBookings(st, stations, nil, service.BookingsConfig{CloseBefore: cfg.Bookings.CloseBefore}, loc, log)
	admin := model.Principal{Roles: []model.Role{{Role: model.RoleCityAdmin}}}
	list, err := st.ListStations(ctx)
	if err != nil {
		return err
	}
	ids := map[string]int64{}
	for _, s := range list {
		ids[s.Name] = s.ID
	}
	from := time.Now().In(loc).AddDate(0, 0, 1)
	to := from.AddDate(0, 0, 27)
	offerings, slots := 0, 0
	for _, d := range demoOfferings {
		stationID, ok := ids[d.station]
		if !ok {
			return fmt.Errorf("seed bookings: no station %s", d.station)
		}
		id, made, err := seedOffering(ctx, svc, admin, stationID, d)
		if err != nil {
			return err
		}
		if made {
			offerings++
		}
		batch, err := svc.CreateSlotPattern(ctx, admin, nil, id, service.SlotPattern{From: from.Format(time.DateOnly),
			To: to.Format(time.DateOnly), Weekdays: d.weekdays, Times: d.times, Capacity: d.capacity})
		if err != nil {
			return fmt.Errorf("seed slots of %s: %w", d.name, err)
		}
		slots += len(batch.Items)
	}
	log.Info("seed: demo bookable services loaded", "offerings_created", offerings, "slots_created", slots)
	return nil
}

// seedOffering returns the id of the demo offering, creating it when missing.
func seedOffering(ctx context.Context, svc *service.Bookings, admin model.Principal, stationID int64, d demoOffering) (int64, bool, error) {
	have, err := svc.ListOfferings(ctx, admin, stationID, true, model.Page{Limit: 100})
	if err != nil {
		return 0, false, err
	}
	for _, o := range have.Items {
		if o.Name == d.name {
			return o.ID, false, nil
		}
	}
	o, err := svc.CreateOffering(ctx, admin, nil, service.OfferingInput{StationID: stationID, Name: d.name,
		Category: d.category, Description: d.description, DurationMin: d.durationMin})
	if err != nil {
		return 0, false, fmt.Errorf("seed offering %s: %w", d.name, err)
	}
	return o.ID, true, nil
}
