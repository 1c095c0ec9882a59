package store

import (
	"context"
	"database/sql"

	"jindalai/model"
)

const orgColumns = `id, name, description, address, contact_phone, lat, lng, active`

// ListOrganizations returns every organization with its categories and
// member count, by id. Errors: unavailable, internal.
func (s *Store) ListOrganizations(ctx context.Context) ([]model.Organization, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+orgColumns+` FROM organizations ORDER BY id`)
	if err != nil {
		return nil, translate(err, "")
	}
	defer rows.Close()
	var out []model.Organization
	index := map[int64]int{}
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, err
		}
		index[o.ID] = len(out)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err, "")
	}
	if err := eachRow(ctx, s.DB, `SELECT org_id, category_code FROM organization_categories ORDER BY org_id, category_code`,
		func(id int64, code string) {
			if i, ok := index[id]; ok {
				out[i].Categories = append(out[i].Categories, code)
			}
		}); err != nil {
		return nil, err
	}
	err = eachRow(ctx, s.DB, `SELECT org_id, COUNT(DISTINCT user_id) FROM user_roles WHERE org_id > 0 GROUP BY org_id`,
		func(id int64, n int) {
			if i, ok := index[id]; ok {
				out[i].MemberCount = n
			}
		})
	return out, err
}

// GetOrganization returns one organization with its categories and member
// count. Errors: not_found, unavailable, internal.
func (s *Store) GetOrganization(ctx context.Context, id int64) (model.Organization, error) {
	o, err := scanOrg(s.DB.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id = ?`, id))
	if err != nil {
		return o, err
	}
	if err := eachRow(ctx, s.DB, `SELECT org_id, category_code FROM organization_categories WHERE org_id = ? ORDER BY category_code`,
		func(_ int64, code string) { o.Categories = append(o.Categories, code) }, id); err != nil {
		return o, err
	}
	err = eachRow(ctx, s.DB, `SELECT org_id, COUNT(DISTINCT user_id) FROM user_roles WHERE org_id = ? GROUP BY org_id`,
		func(_ int64, n int) { o.MemberCount = n }, id)
	return o, err
}

func scanOrg(r scanner) (model.Organization, error) {
	var o model.Organization
	if err := r.Scan(&o.ID, &o.Name, &o.Description, &o.Address, &o.ContactPhone, &o.Lat, &o.Lng, &o.Active); err != nil {
		return o, translate(err, "社会组织")
	}
	o.Categories = []string{}
	return o, nil
}

// CreateOrganization inserts an organization with its categories
// (idempotently when idem is set) and returns it with its id.
// Errors: conflict (name taken, field name; a reused Idempotency-Key),
// unavailable, internal.
func (s *Store) CreateOrganization(ctx context.Context, idem *model.Idempotency, o model.Organization) (model.Organization, error) {
	out, _, err := InIdempotentTx(ctx, s, idem, func(tx *sql.Tx) (model.Organization, error) {
		t := now()
		res, err := tx.ExecContext(ctx, `
			INSERT INTO organizations (name, description, address, contact_phone, lat, lng, active, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.Name, o.Description, o.Address, o.ContactPhone, o.Lat, o.Lng, o.Active, t, t)
		if err != nil {
			return o, orgWriteError(err)
		}
		if o.ID, err = res.LastInsertId(); err != nil {
			return o, translate(err, "")
		}
		return o, insertLinks(ctx, tx, "organization_categories", "org_id", o.ID, o.Categories)
	})
	return out, err
}

// UpdateOrganization rewrites an organization and its categories in one
// transaction. Errors: not_found, conflict (name taken, field name),
// unavailable, internal.
func (s *Store) UpdateOrganization(ctx context.Context, o model.Organization) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE organizations SET name = ?, description = ?, address = ?, contact_phone = ?, lat = ?, lng = ?,
				active = ?, updated_at = ?
			WHERE id = ?`,
			o.Name, o.Description, o.Address, o.ContactPhone, o.Lat, o.Lng, o.Active, now(), o.ID)
		if err != nil {
			return orgWriteError(err)
		}
		if err := mustAffect(res, "社会组织"); err != nil {
			return err
		}
		return replaceLinks(ctx, tx, "organization_categories", "org_id", o.ID, o.Categories)
	})
}

func orgWriteError(err error) error {
	if isDuplicate(err) {
		return duplicateField("name", "社会组织名称已存在")
	}
	return translate(err, "")
}
