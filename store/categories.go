package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"jindalai/model"
)

// ListCategories returns the whole catalogue, active or not, by area and
// order. Errors: unavailable, internal.
func (s *Store) ListCategories(ctx context.Context) ([]model.Category, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT code, name, area, description, fields, sort_order, active
		FROM categories ORDER BY area, sort_order, code`)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var out []model.Category
	for rows.Next() {
		c, err := scanCategory(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, translate(rows.Err(), "")
}

// GetCategory returns one category, active or not.
// Errors: not_found, unavailable, internal.
func (s *Store) GetCategory(ctx context.Context, code string) (model.Category, error) {
	row := s.DB.QueryRowContext(ctx, `
		SELECT code, name, area, description, fields, sort_order, active
		FROM categories WHERE code = ?`, code)
	return scanCategory(row)
}

type scanner interface{ Scan(dest ...any) error }

func scanCategory(r scanner) (model.Category, error) {
	var c model.Category
	var fields string
	if err := r.Scan(&c.Code, &c.Name, &c.Area, &c.Description, &fields, &c.SortOrder, &c.Active); err != nil {
		return c, translate(err, "服务类别")
	}
	if err := json.Unmarshal([]byte(fields), &c.Fields); err != nil {
		return c, model.Wrap(model.CodeInternal, err, "")
	}
	if c.Fields == nil {
		c.Fields = []model.CategoryField{}
	}
	c.AreaName = model.AreaNames[c.Area]
	return c, nil
}

// CreateCategory inserts a category (idempotently when idem is set) and
// returns it. Errors: conflict (code taken, field code; or the
// Idempotency-Key was used for another request), unavailable, internal.
func (s *Store) CreateCategory(ctx context.Context, idem *model.Idempotency, c model.Category) (model.Category, error) {
	fields, err := json.Marshal(c.Fields)
	if err != nil {
		return c, model.Wrap(model.CodeInternal, err, "")
	}
	out, _, err := InIdempotentTx(ctx, s, idem, func(tx *sql.Tx) (model.Category, error) {
		t := now()
		_, err := tx.ExecContext(ctx, `
			INSERT INTO categories (code, name, area, description, fields, sort_order, active, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Code, c.Name, c.Area, c.Description, string(fields), c.SortOrder, c.Active, t, t)
		if isDuplicate(err) {
			return c, duplicateField("code", "服务类别编码已存在")
		}
		return c, translate(err, "")
	})
	return out, err
}

// UpdateCategory rewrites a category's name, area, description, fields,
// order and active flag. Errors: not_found, unavailable, internal.
func (s *Store) UpdateCategory(ctx context.Context, c model.Category) error {
	fields, err := json.Marshal(c.Fields)
	if err != nil {
		return model.Wrap(model.CodeInternal, err, "")
	}
	res, err := s.DB.ExecContext(ctx, `
		UPDATE categories SET name = ?, area = ?, description = ?, fields = ?, sort_order = ?, active = ?, updated_at = ?
		WHERE code = ?`, c.Name, c.Area, c.Description, string(fields), c.SortOrder, c.Active, now(), c.Code)
	if err != nil {
		return translate(err, "")
	}
	return mustAffect(res, "服务类别")
}

// duplicateField is the conflict of a unique column, naming the field.
func duplicateField(field, message string) error {
	return &model.Error{Code: model.CodeConflict, Message: message, Fields: map[string]string{field: "已存在"}}
}
