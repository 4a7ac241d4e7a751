package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/listinggen/listinggen"
)

// CreateShop stores a new shop and fills its ID and timestamps.
func (s *Store) CreateShop(ctx context.Context, shop *listinggen.Shop) error {
	if err := shop.CheckStorable(); err != nil {
		return err
	}
	if shop.ID == "" {
		shop.ID = s.newID()
	}
	shop.CreatedAt = s.now().UTC()
	shop.UpdatedAt = shop.CreatedAt
	settings, err := json.Marshal(shop.Settings())
	if err != nil {
		return listinggen.WrapError(listinggen.EINTERNAL, err, "encode shop settings")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO shops (tenant_id, id, name, platform, grp, style, settings, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			shop.TenantID, shop.ID, shop.Name, string(shop.Platform), shop.Group, shop.Style, string(settings),
			formatTime(shop.CreatedAt), formatTime(shop.UpdatedAt))
		return err
	})
}

// UpdateShop writes the shop's settable fields; the platform stays.
func (s *Store) UpdateShop(ctx context.Context, shop *listinggen.Shop) error {
	if err := shop.CheckStorable(); err != nil {
		return err
	}
	settings, err := json.Marshal(shop.Settings())
	if err != nil {
		return listinggen.WrapError(listinggen.EINTERNAL, err, "encode shop settings")
	}
	updated := s.now().UTC()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE shops SET name = ?, grp = ?, style = ?, settings = ?, updated_at = ?
			WHERE tenant_id = ? AND id = ?`,
			shop.Name, shop.Group, shop.Style, string(settings), formatTime(updated), shop.TenantID, shop.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return listinggen.Errorf(listinggen.ENOTFOUND, "shop %q not found", shop.ID)
		}
		got, err := scanShop(tx.QueryRowContext(ctx, `SELECT `+shopColumns+` FROM shops WHERE tenant_id = ? AND id = ?`, shop.TenantID, shop.ID))
		if err != nil {
			return err
		}
		*shop = *got
		return nil
	})
	return err
}

// DeleteShop removes a shop that has no listings.
func (s *Store) DeleteShop(ctx context.Context, tenantID, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM listings WHERE tenant_id = ? AND shop_id = ?`, tenantID, id).Scan(&n); err != nil {
			return err
		} else if n > 0 {
			return listinggen.Errorf(listinggen.ECONFLICT, "shop %q has %d listings; delete or move them first", id, n)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM shops WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return listinggen.Errorf(listinggen.ENOTFOUND, "shop %q not found", id)
		}
		return nil
	})
}

// TenantWords returns the tenant's word rules, empty if never set.
func (s *Store) TenantWords(ctx context.Context, tenantID string) (listinggen.WordRules, error) {
	var w listinggen.WordRules
	var doc string
	err := s.reader.QueryRowContext(ctx, `SELECT words FROM tenant_settings WHERE tenant_id = ?`, tenantID).Scan(&doc)
	if err == sql.ErrNoRows {
		return w, nil
	} else if err != nil {
		return w, translate(err)
	}
	if err := json.Unmarshal([]byte(doc), &w); err != nil {
		return w, listinggen.WrapError(listinggen.EINTERNAL, err, "decode tenant words")
	}
	return w, nil
}

// SetTenantWords replaces the tenant's word rules.
func (s *Store) SetTenantWords(ctx context.Context, tenantID string, words listinggen.WordRules) error {
	if err := listinggen.Invalid(words.Validate("")); err != nil {
		return err
	}
	doc, err := json.Marshal(words)
	if err != nil {
		return listinggen.WrapError(listinggen.EINTERNAL, err, "encode tenant words")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenant_settings (tenant_id, words, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (tenant_id) DO UPDATE SET words = excluded.words, updated_at = excluded.updated_at`,
			tenantID, string(doc), formatTime(s.now()))
		return err
	})
}

const shopColumns = `tenant_id, id, name, platform, grp, style, settings, created_at, updated_at`

func scanShop(row interface{ Scan(...any) error }) (*listinggen.Shop, error) {
	var sh listinggen.Shop
	var platform, settings, created, updated string
	if err := row.Scan(&sh.TenantID, &sh.ID, &sh.Name, &platform, &sh.Group, &sh.Style, &settings, &created, &updated); err != nil {
		return nil, err
	}
	var st listinggen.ShopSettings
	if err := json.Unmarshal([]byte(settings), &st); err != nil {
		return nil, fmt.Errorf("decode shop %s settings: %w", sh.ID, err)
	}
	sh.SetSettings(st)
	sh.Platform = listinggen.Platform(platform)
	sh.CreatedAt, sh.UpdatedAt = parseTime(created), parseTime(updated)
	return &sh, nil
}

// FindShop returns the tenant's shop or ENOTFOUND.
// qShop is FindShop's query, which every batch item runs (see stmtCache).
const qShop = `SELECT ` + shopColumns + ` FROM shops WHERE tenant_id = ? AND id = ?`

func (s *Store) FindShop(ctx context.Context, tenantID, id string) (*listinggen.Shop, error) {
	row := s.read.QueryRowContext(ctx, qShop, tenantID, id)
	sh, err := scanShop(row)
	if err == sql.ErrNoRows {
		return nil, listinggen.Errorf(listinggen.ENOTFOUND, "shop %q not found", id)
	}
	return sh, translate(err)
}

// FindShops lists the tenant's shops, newest first.
func (s *Store) FindShops(ctx context.Context, tenantID string, f listinggen.ShopFilter) (listinggen.Page[*listinggen.Shop], error) {
	var page listinggen.Page[*listinggen.Shop]
	after, err := listinggen.DecodeCursor(f.Cursor)
	if err != nil {
		return page, err
	}
	q := `SELECT ` + shopColumns + ` FROM shops WHERE tenant_id = ?`
	args := []any{tenantID}
	if f.Group != "" {
		q += ` AND grp = ?`
		args = append(args, f.Group)
	}
	if after != "" {
		q += ` AND id < ?`
		args = append(args, after)
	}
	limit := listinggen.PageLimit(f.Limit)
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return page, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		sh, err := scanShop(rows)
		if err != nil {
			return page, translate(err)
		}
		page.Items = append(page.Items, sh)
	}
	if err := rows.Err(); err != nil {
		return page, translate(err)
	}
	return paginate(page.Items, limit, func(sh *listinggen.Shop) string { return sh.ID }), nil
}

// paginate trims a limit+1 result to limit items and sets the next cursor.
func paginate[T any](items []T, limit int, id func(T) string) listinggen.Page[T] {
	page := listinggen.Page[T]{Items: items}
	if page.Items == nil {
		page.Items = []T{}
	}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = listinggen.EncodeCursor(id(items[limit-1]))
	}
	return page
}
