package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/listinggen/listinggen"
)

// CreateShop stores a new shop and fills its ID and timestamps.
func (s *Store) CreateShop(ctx context.Context, shop *listinggen.Shop) error {
	if err := shop.CheckStorable(); err != nil {
		return err
	}
	fresh := *shop
	if fresh.ID == "" {
		fresh.ID = s.newID()
	}
	fresh.CreatedAt = s.timestamp()
	fresh.UpdatedAt = fresh.CreatedAt
	settings, err := shopSettings(&fresh)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO shops (tenant_id, id, name, platform, grp, style, settings, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		fresh.TenantID, fresh.ID, fresh.Name, string(fresh.Platform), fresh.Group, fresh.Style, settings, fresh.CreatedAt, fresh.UpdatedAt)
	if err != nil {
		return translate(err)
	}
	*shop = fresh
	return nil
}

func shopSettings(shop *listinggen.Shop) (string, error) {
	b, err := json.Marshal(shop.Settings())
	if err != nil {
		return "", listinggen.WrapError(listinggen.EINTERNAL, err, "encode shop settings")
	}
	return string(b), nil
}

// UpdateShop writes the shop's settable fields; the platform stays.
func (s *Store) UpdateShop(ctx context.Context, shop *listinggen.Shop) error {
	if err := shop.CheckStorable(); err != nil {
		return err
	}
	settings, err := shopSettings(shop)
	if err != nil {
		return err
	}
	got, err := scanShop(s.pool.QueryRow(ctx, `UPDATE shops SET name = $3, grp = $4, style = $5, settings = $6, updated_at = $7
		WHERE tenant_id = $1 AND id = $2 RETURNING `+shopColumns,
		shop.TenantID, shop.ID, shop.Name, shop.Group, shop.Style, settings, s.timestamp()))
	if errors.Is(err, pgx.ErrNoRows) {
		return listinggen.Errorf(listinggen.ENOTFOUND, "shop %q not found", shop.ID)
	} else if err != nil {
		return translate(err)
	}
	*shop = *got
	return nil
}

// DeleteShop removes a shop that has no listings. The shop row is locked
// first so that no listing can be added between the count and the delete.
func (s *Store) DeleteShop(ctx context.Context, tenantID, id string) error {
	return s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var locked string
		err := tx.QueryRow(ctx, `SELECT id FROM shops WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id).Scan(&locked)
		if errors.Is(err, pgx.ErrNoRows) {
			return listinggen.Errorf(listinggen.ENOTFOUND, "shop %q not found", id)
		} else if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM listings WHERE tenant_id = $1 AND shop_id = $2`, tenantID, id).Scan(&n); err != nil {
			return err
		} else if n > 0 {
			return listinggen.Errorf(listinggen.ECONFLICT, "shop %q has %d listings; delete or move them first", id, n)
		}
		_, err = tx.Exec(ctx, `DELETE FROM shops WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		return err
	})
}

// TenantWords returns the tenant's word rules, empty if never set.
func (s *Store) TenantWords(ctx context.Context, tenantID string) (listinggen.WordRules, error) {
	var w listinggen.WordRules
	var doc string
	err := s.pool.QueryRow(ctx, `SELECT words::text FROM tenant_settings WHERE tenant_id = $1`, tenantID).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
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
	_, err = s.pool.Exec(ctx, `INSERT INTO tenant_settings (tenant_id, words, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id) DO UPDATE SET words = excluded.words, updated_at = excluded.updated_at`,
		tenantID, string(doc), s.timestamp())
	return translate(err)
}

const shopColumns = `tenant_id, id, name, platform, grp, style, settings::text, created_at, updated_at`

func scanShop(row pgx.Row) (*listinggen.Shop, error) {
	var sh listinggen.Shop
	var platform, settings string
	if err := row.Scan(&sh.TenantID, &sh.ID, &sh.Name, &platform, &sh.Group, &sh.Style, &settings, &sh.CreatedAt, &sh.UpdatedAt); err != nil {
		return nil, err
	}
	var st listinggen.ShopSettings
	if err := json.Unmarshal([]byte(settings), &st); err != nil {
		return nil, fmt.Errorf("decode shop %s settings: %w", sh.ID, err)
	}
	sh.SetSettings(st)
	sh.Platform = listinggen.Platform(platform)
	sh.CreatedAt, sh.UpdatedAt = sh.CreatedAt.UTC(), sh.UpdatedAt.UTC()
	return &sh, nil
}

// FindShop returns the tenant's shop or ENOTFOUND.
func (s *Store) FindShop(ctx context.Context, tenantID, id string) (*listinggen.Shop, error) {
	sh, err := scanShop(s.pool.QueryRow(ctx, `SELECT `+shopColumns+` FROM shops WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, listinggen.Errorf(listinggen.ENOTFOUND, "shop %q not found", id)
	} else if err != nil {
		return nil, translate(err)
	}
	return sh, nil
}

// FindShops lists the tenant's shops, newest first.
func (s *Store) FindShops(ctx context.Context, tenantID string, f listinggen.ShopFilter) (listinggen.Page[*listinggen.Shop], error) {
	var page listinggen.Page[*listinggen.Shop]
	after, err := listinggen.DecodeCursor(f.Cursor)
	if err != nil {
		return page, err
	}
	// Only the filters in use go into the statement: each combination is
	// its own prepared statement with a plan for its predicates, where one
	// statement with "$2 = '' OR grp = $2" would get a generic plan for all.
	q := `SELECT ` + shopColumns + ` FROM shops WHERE tenant_id = $1`
	args := []any{tenantID}
	for _, c := range []struct{ cond, val string }{{"grp = $%d", f.Group}, {"id < $%d", after}} {
		if c.val != "" {
			args = append(args, c.val)
			q += ` AND ` + fmt.Sprintf(c.cond, len(args))
		}
	}
	limit := listinggen.PageLimit(f.Limit)
	args = append(args, limit+1)
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return page, translate(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*listinggen.Shop, error) { return scanShop(r) })
	if err != nil {
		return page, translate(err)
	}
	return paginate(items, limit, func(sh *listinggen.Shop) string { return sh.ID }), nil
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
