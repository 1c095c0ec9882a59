package service_test

import (
	"context"
	"testing"

	"jindalai/model"
	"jindalai/service"
	"jindalai/store"
)

// categoryOutageStore is the real store whose category reads fail.
type categoryOutageStore struct {
	*store.Store
}

func (s categoryOutageStore) GetCategory(ctx context.Context, code string) (model.Category, error) {
	return model.Category{}, model.Errorf(model.CodeUnavailable, "mysql down")
}

// TestStationCategoriesCheckSurfacesOutage: a category the in-process copy
// does not know is looked up in MySQL; when that read fails the edit fails
// with the outage (503), not with "unknown category" (400). An unknown
// category read fine is still a 400 naming the field.
func TestStationCategoriesCheckSurfacesOutage(t *testing.T) {
	c := newCity(t)
	ctx := context.Background()
	log := discardLog()
	admin := model.Principal{UserID: 1, Roles: []model.Role{{Role: model.RoleCityAdmin}}}
	codes := []string{"home_visit", "not_in_the_copy"}

	down := service.NewStations(categoryOutageStore{c.st}, c.st, matchConfig(), c.st.Loc, log)
	if _, err := down.UpdateStation(ctx, admin, c.pointA, service.StationInput{Categories: &codes}); !model.IsCode(err, model.CodeUnavailable) {
		t.Fatalf("category read failing: got %v, want unavailable", err)
	}

	up := service.NewStations(c.st, c.st, matchConfig(), c.st.Loc, log)
	_, err := up.UpdateStation(ctx, admin, c.pointA, service.StationInput{Categories: &codes})
	var e *model.Error
	if !model.IsCode(err, model.CodeInvalid) || !asError(err, &e) || e.Fields["categories"] == "" {
		t.Fatalf("unknown category: got %v, want invalid_argument naming categories", err)
	}
}
