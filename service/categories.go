package service

import (
	"context"
	"strings"

	"jindalai/model"
)

// CategoryInput is a category create or PATCH (code only on a create).
type CategoryInput struct {
	Code        string
	Name        *string
	Area        *string
	Description *string
	Fields      *[]model.CategoryField
	SortOrder   *int
	Active      *bool
}

// CreateCategory adds a service to the catalogue (city admins only).
// Errors: invalid_argument (code, name, area, description, fields[i]),
// permission_denied, conflict (code taken; a reused Idempotency-Key),
// unavailable, internal.
func (s *Stations) CreateCategory(ctx context.Context, p model.Principal, idem *model.Idempotency, in CategoryInput) (model.Category, error) {
	if err := requireCityAdmin(p); err != nil {
		return model.Category{}, err
	}
	c := model.Category{Code: in.Code, Active: true, Fields: []model.CategoryField{}}
	if in.Name == nil {
		return model.Category{}, model.InvalidField("name", "必填")
	}
	if in.Area == nil {
		return model.Category{}, model.InvalidField("area", "必填")
	}
	applyCategory(&c, in)
	if err := c.CheckDefinition(); err != nil {
		return model.Category{}, err
	}
	out, err := s.store.CreateCategory(ctx, idem, c)
	if err != nil {
		return model.Category{}, err
	}
	s.changed(ctx)
	out.AreaName = model.AreaNames[out.Area]
	return out, nil
}

// UpdateCategory changes a service of the catalogue (city admins only); an
// inactive one is no longer offered or matched. Errors: invalid_argument,
// permission_denied, not_found, unavailable, internal.
func (s *Stations) UpdateCategory(ctx context.Context, p model.Principal, code string, in CategoryInput) (model.Category, error) {
	if err := requireCityAdmin(p); err != nil {
		return model.Category{}, err
	}
	c, err := s.store.GetCategory(ctx, code)
	if err != nil {
		return model.Category{}, err
	}
	applyCategory(&c, in)
	if err := c.CheckDefinition(); err != nil {
		return model.Category{}, err
	}
	if err := s.store.UpdateCategory(ctx, c); err != nil {
		return model.Category{}, err
	}
	s.changed(ctx)
	c.AreaName = model.AreaNames[c.Area]
	return c, nil
}

func applyCategory(c *model.Category, in CategoryInput) {
	if in.Name != nil {
		c.Name = strings.TrimSpace(*in.Name)
	}
	if in.Area != nil {
		c.Area = *in.Area
	}
	if in.Description != nil {
		c.Description = strings.TrimSpace(*in.Description)
	}
	if in.Fields != nil {
		c.Fields = append([]model.CategoryField{}, *in.Fields...)
	}
	if in.SortOrder != nil {
		c.SortOrder = *in.SortOrder
	}
	if in.Active != nil {
		c.Active = *in.Active
	}
}
