package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgvector/pgvector-go"

	"github.com/listinggen/listinggen"
)

const listingColumns = `tenant_id, id, shop_id, product_id, product_hash, platform, status, verdict,
	idempotency_key, body, source_attributes, embedding, embedding_model, version, created_at, updated_at`

// encodedListing is a listing in the shape of its columns.
type encodedListing struct {
	body       []byte
	attributes any // json text, or nil for none
	embedding  any // pgvector.Vector, or nil for none
	dims       any // int, or nil for none
}

// encodeListing splits l into its columns. The source's attributes leave the
// body for their own json column (see the migration for why).
func encodeListing(l *listinggen.Listing) (encodedListing, error) {
	var e encodedListing
	doc := *l
	doc.Source.Attributes = nil
	body, err := json.Marshal(&doc)
	if err != nil {
		return e, listinggen.WrapError(listinggen.EINTERNAL, err, "encode listing")
	}
	e.body = body
	if len(l.Source.Attributes) > 0 {
		attrs, err := json.Marshal(l.Source.Attributes)
		if err != nil {
			return e, listinggen.WrapError(listinggen.EINTERNAL, err, "encode listing attributes")
		}
		e.attributes = attrs
	}
	if len(l.Embedding) > 0 {
		e.embedding, e.dims = pgvector.NewVector(l.Embedding), len(l.Embedding)
	}
	return e, nil
}

// CreateListing inserts l, or loads the existing listing with the same
// idempotency key into l and reports created=false.
func (s *Store) CreateListing(ctx context.Context, l *listinggen.Listing) (bool, error) {
	if err := l.CheckStorable(); err != nil {
		return false, err
	}
	if l.IdempotencyKey == "" {
		return false, listinggen.Errorf(listinggen.EINVALID, "listing has no idempotency key")
	}
	if err := s.checkEmbedding(ctx, l.EmbeddingModel, l.Embedding); err != nil {
		return false, err
	}
	fresh := *l
	if fresh.ID == "" {
		fresh.ID = s.newID()
	}
	fresh.Version = 1
	fresh.CreatedAt = s.timestamp()
	fresh.UpdatedAt = fresh.CreatedAt
	enc, err := encodeListing(&fresh)
	if err != nil {
		return false, err
	}
	// ON CONFLICT DO NOTHING waits for a concurrent insert of the same key
	// to commit or roll back, so exactly one of many concurrent creates
	// inserts and the others find its row with their next statement.
	// One transaction with the image hashes; raw driver errors, which the
	// switch below tells apart.
	var id string
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO listings (tenant_id, id, shop_id, product_id, product_hash, platform, status,
			verdict, idempotency_key, body, source_attributes, embedding, embedding_model, embedding_dims, version,
			created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
		RETURNING id`,
			fresh.TenantID, fresh.ID, fresh.ShopID, fresh.ProductID, fresh.ProductHash, string(fresh.Platform),
			string(fresh.Status), string(fresh.Dedup.Verdict), fresh.IdempotencyKey, enc.body, enc.attributes,
			enc.embedding, fresh.EmbeddingModel, enc.dims, fresh.Version, fresh.CreatedAt, fresh.UpdatedAt).Scan(&id); err != nil {
			return err
		}
		return writeImageHashes(ctx, tx, &fresh, false)
	})
	var pe *pgconn.PgError
	switch {
	case err == nil:
		*l = fresh
		return true, nil
	case errors.As(err, &pe) && pe.ConstraintName == "listings_shop_fk":
		return false, listinggen.Errorf(listinggen.ENOTFOUND, "shop %q not found", l.ShopID)
	case !errors.Is(err, pgx.ErrNoRows):
		return false, translate(err)
	}
	existing, err := scanListing(s.pool.QueryRow(ctx, `SELECT `+listingColumns+` FROM listings
		WHERE tenant_id = $1 AND idempotency_key = $2`, l.TenantID, l.IdempotencyKey))
	if err != nil {
		// ErrNoRows here would mean the conflicting row vanished; there is
		// no delete, so it is an internal error, not "not found".
		return false, listinggen.WrapError(listinggen.EINTERNAL, err, "load listing with idempotency key")
	}
	*l = *existing
	return false, nil
}

func scanListing(row pgx.Row) (*listinggen.Listing, error) {
	var l listinggen.Listing
	var platform, status, verdict string
	var body, attrs []byte
	var emb *pgvector.Vector
	if err := row.Scan(&l.TenantID, &l.ID, &l.ShopID, &l.ProductID, &l.ProductHash, &platform, &status, &verdict,
		&l.IdempotencyKey, &body, &attrs, &emb, &l.EmbeddingModel, &l.Version, &l.CreatedAt, &l.UpdatedAt); err != nil {
		return nil, err
	}
	cols := l
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("decode listing %s: %w", cols.ID, err)
	}
	l.Source.Attributes = nil
	if len(attrs) > 0 {
		if err := json.Unmarshal(attrs, &l.Source.Attributes); err != nil {
			return nil, fmt.Errorf("decode listing %s attributes: %w", cols.ID, err)
		}
	}
	// The columns are authoritative for everything they hold.
	l.TenantID, l.ID, l.ShopID, l.ProductID, l.ProductHash = cols.TenantID, cols.ID, cols.ShopID, cols.ProductID, cols.ProductHash
	l.Platform, l.Status, l.Dedup.Verdict = listinggen.Platform(platform), listinggen.ListingStatus(status), listinggen.Verdict(verdict)
	l.IdempotencyKey, l.EmbeddingModel, l.Version = cols.IdempotencyKey, cols.EmbeddingModel, cols.Version
	l.CreatedAt, l.UpdatedAt = cols.CreatedAt.UTC(), cols.UpdatedAt.UTC()
	l.Embedding = nil
	if emb != nil {
		l.Embedding = emb.Slice()
	}
	return &l, nil
}

// FindListing returns the tenant's listing or ENOTFOUND.
func (s *Store) FindListing(ctx context.Context, tenantID, id string) (*listinggen.Listing, error) {
	l, err := scanListing(s.pool.QueryRow(ctx, `SELECT `+listingColumns+` FROM listings WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, listinggen.Errorf(listinggen.ENOTFOUND, "listing %q not found", id)
	} else if err != nil {
		return nil, translate(err)
	}
	return l, nil
}

func (s *Store) FindListingsByID(ctx context.Context, tenantID string, ids []string) ([]*listinggen.Listing, error) {
	if len(ids) == 0 {
		return []*listinggen.Listing{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+listingColumns+` FROM listings WHERE tenant_id = $1 AND id = ANY($2)`, tenantID, ids)
	if err != nil {
		return nil, translate(err)
	}
	ls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*listinggen.Listing, error) { return scanListing(r) })
	if err != nil {
		return nil, translate(err)
	}
	return listinggen.InIDOrder(ids, ls)
}

// FindListingByKey returns the tenant's listing with that idempotency key or
// ENOTFOUND.
func (s *Store) FindListingByKey(ctx context.Context, tenantID, key string) (*listinggen.Listing, error) {
	l, err := scanListing(s.pool.QueryRow(ctx, `SELECT `+listingColumns+` FROM listings WHERE tenant_id = $1 AND idempotency_key = $2`, tenantID, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, listinggen.Errorf(listinggen.ENOTFOUND, "no listing with that idempotency key")
	} else if err != nil {
		return nil, translate(err)
	}
	return l, nil
}

// FindListings lists the tenant's listings, newest first.
func (s *Store) FindListings(ctx context.Context, tenantID string, f listinggen.ListingFilter) (listinggen.Page[*listinggen.Listing], error) {
	var page listinggen.Page[*listinggen.Listing]
	after, err := listinggen.DecodeCursor(f.Cursor)
	if err != nil {
		return page, err
	}
	// Only the filters in use go into the statement; see FindShops.
	q := `SELECT ` + listingColumns + ` FROM listings WHERE tenant_id = $1`
	args := []any{tenantID}
	for _, c := range []struct{ cond, val string }{
		{"shop_id = $%d", f.ShopID}, {"product_id = $%d", f.ProductID}, {"status = $%d", string(f.Status)},
		{"verdict = $%d", string(f.Verdict)}, {"platform = $%d", string(f.Platform)},
		{complianceOKExpr + " = $%d", complianceValue(f.Compliance)},
	} {
		if c.val != "" {
			args = append(args, c.val)
			q += ` AND ` + fmt.Sprintf(c.cond, len(args))
		}
	}
	limit := listinggen.PageLimit(f.Limit)
	if f.JobID == "" {
		if after != "" {
			args = append(args, after)
			q += fmt.Sprintf(` AND id < $%d`, len(args))
		}
		args = append(args, limit+1)
		q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	} else {
		// A job's listings are found from the job's side: the listing ids
		// its items recorded, newest first from job_items_by_listing, each
		// looked up with the other filters (a LATERAL subquery with LIMIT
		// is not flattened, so the plan stays a nested loop in the job's
		// order that stops at the page's end). A page costs the same
		// however many listings are newer than the job's.
		args = append(args, f.JobID)
		job := fmt.Sprintf(`SELECT DISTINCT listing_id FROM job_items WHERE tenant_id = $1 AND job_id = $%d AND listing_id <> ''`, len(args))
		if after != "" {
			args = append(args, after)
			job += fmt.Sprintf(` AND listing_id < $%d`, len(args))
		}
		args = append(args, limit+1)
		q = fmt.Sprintf(`SELECT l.* FROM (%s ORDER BY listing_id DESC) j CROSS JOIN LATERAL (%s AND id = j.listing_id LIMIT 1) l
			ORDER BY j.listing_id DESC LIMIT $%d`, job, q, len(args))
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return page, translate(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*listinggen.Listing, error) { return scanListing(r) })
	if err != nil {
		return page, translate(err)
	}
	return paginate(items, limit, func(l *listinggen.Listing) string { return l.ID }), nil
}

// UpdateListing writes l if nobody changed it since it was read.
func (s *Store) UpdateListing(ctx context.Context, l *listinggen.Listing) error {
	if err := l.CheckStorable(); err != nil {
		return err
	}
	if err := s.checkEmbedding(ctx, l.EmbeddingModel, l.Embedding); err != nil {
		return err
	}
	next := *l
	next.Version = l.Version + 1
	next.UpdatedAt = s.timestamp()
	enc, err := encodeListing(&next)
	if err != nil {
		return err
	}
	var affected int64
	err = s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE listings SET status = $1, verdict = $2, body = $3, source_attributes = $4,
			embedding = $5, embedding_model = $6, embedding_dims = $7, version = $8, updated_at = $9
		WHERE tenant_id = $10 AND id = $11 AND version = $12`,
			string(next.Status), string(next.Dedup.Verdict), enc.body, enc.attributes, enc.embedding, next.EmbeddingModel,
			enc.dims, next.Version, next.UpdatedAt, l.TenantID, l.ID, l.Version)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		affected = tag.RowsAffected()
		return writeImageHashes(ctx, tx, &next, true)
	})
	if err != nil {
		return translate(err)
	}
	if affected == 0 {
		var current int
		err := s.pool.QueryRow(ctx, `SELECT version FROM listings WHERE tenant_id = $1 AND id = $2`, l.TenantID, l.ID).Scan(&current)
		if errors.Is(err, pgx.ErrNoRows) {
			return listinggen.Errorf(listinggen.ENOTFOUND, "listing %q not found", l.ID)
		} else if err != nil {
			return translate(err)
		}
		return listinggen.Errorf(listinggen.ECONFLICT, "listing %q was changed (version %d, you sent %d); reload and retry", l.ID, current, l.Version)
	}
	*l = next
	return nil
}

// complianceOKExpr is the expression the listings_by_compliance index is
// built on (migration 0009); the query must repeat it exactly to use it.
const complianceOKExpr = `(body #>> '{compliance,ok}')`

// complianceValue maps ListingFilter.Compliance to the text of the JSON
// boolean that complianceOKExpr yields.
func complianceValue(c string) string {
	switch c {
	case listinggen.ComplianceOK:
		return "true"
	case listinggen.ComplianceProblems:
		return "false"
	}
	return ""
}
