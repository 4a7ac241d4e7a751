package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/listinggen/listinggen"
)

// writeImageHashes replaces the listing's rows in listing_image_hashes, in
// the transaction that writes the listing (migrations/0005). Hashes travel
// as int8 and are cast to bit(64), which keeps the two's-complement bits.
func writeImageHashes(ctx context.Context, tx pgx.Tx, l *listinggen.Listing, replace bool) error {
	if replace {
		if _, err := tx.Exec(ctx, `DELETE FROM listing_image_hashes WHERE tenant_id = $1 AND listing_id = $2`, l.TenantID, l.ID); err != nil {
			return err
		}
	}
	hs := l.ImageHashes()
	if len(hs) == 0 {
		return nil
	}
	positions, hashes := make([]int32, len(hs)), make([]int64, len(hs))
	for i, h := range hs {
		positions[i], hashes[i] = int32(h.Position), int64(h.Hash)
	}
	_, err := tx.Exec(ctx, `INSERT INTO listing_image_hashes (tenant_id, listing_id, shop_id, position, phash)
		SELECT $1, $2, $3, u.pos, u.h::bit(64) FROM unnest($4::int4[], $5::int8[]) AS u(pos, h)`,
		l.TenantID, l.ID, l.ShopID, positions, hashes)
	return err
}

// SimilarImages finds the listings in scope with an image within
// q.MaxDistance bits of a query hash, by pgvector's Hamming distance on
// bit(64). Like SimilarListings, a scope of up to ExactScanMaxRows hashes
// is scanned exactly through the btree index; a larger one walks the HNSW
// index once per query hash with an iterative scan for the 4K nearest
// images, keeping those within MaxDistance, and falls back to the exact
// scan when a walk returns fewer rows than it asked for (it stopped early,
// and a close image may be missing).
func (s *Store) SimilarImages(ctx context.Context, tenantID string, q listinggen.ImageHashQuery) ([]listinggen.ImageHashMatch, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	hashes := make([]int64, len(q.Hashes))
	for i, h := range q.Hashes {
		hashes[i] = int64(h)
	}
	where := `h.tenant_id = $1 AND h.listing_id <> $2`
	args := []any{tenantID, q.ExcludeID}
	switch {
	case q.ShopID != "":
		where += ` AND h.shop_id = $3`
		args = append(args, q.ShopID)
	case q.Group != "":
		where += ` AND h.shop_id = ANY (ARRAY(SELECT s.id FROM shops s WHERE s.tenant_id = $1 AND s.grp = $3))`
		args = append(args, q.Group)
	}
	best := map[string]listinggen.ImageHashMatch{}
	add := func(rows pgx.Rows) (n int, err error) {
		for ; rows.Next(); n++ {
			var m listinggen.ImageHashMatch
			var d float64
			if err := rows.Scan(&m.ListingID, &m.ShopID, &m.Image, &m.Query, &d); err != nil {
				return n, err
			}
			m.Distance = int(d)
			if old, ok := best[m.ListingID]; !ok || listinggen.CloserImage(m, old) {
				best[m.ListingID] = m
			}
		}
		return n, rows.Err()
	}
	exact := func(tx pgx.Tx) error {
		a := append(append([]any{}, args...), hashes, q.MaxDistance)
		rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT h.listing_id, h.shop_id, h.position, (q.i - 1)::int, h.phash <~> q.h::bit(64) AS d
			FROM listing_image_hashes h CROSS JOIN unnest($%d::int8[]) WITH ORDINALITY AS q(h, i)
			WHERE %s AND h.phash <~> q.h::bit(64) <= $%d`, len(a)-1, where, len(a)), a...)
		if err != nil {
			return err
		}
		defer rows.Close()
		_, err = add(rows)
		return err
	}
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := s.inTx(ctx, opts, func(tx pgx.Tx) error {
		var n int
		a := append(append([]any{}, args...), s.cfg.ExactScanMaxRows+1)
		if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM listing_image_hashes h WHERE %s LIMIT $%d) s`,
			where, len(a)), a...).Scan(&n); err != nil {
			return err
		}
		if n <= s.cfg.ExactScanMaxRows {
			s.searches.exact.Add(1)
			return exact(tx)
		}
		s.searches.approximate.Add(1)
		set, setArgs := searchSettings(min(max(s.cfg.HNSW.EfSearch, 4*q.K), maxEfSearch), s.cfg.HNSW.MaxScanTuples)
		if _, err := tx.Exec(ctx, set, setArgs...); err != nil {
			return err
		}
		short := false
		for i, h := range hashes {
			a := append(append([]any{}, args...), h, i, 4*q.K)
			rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT listing_id, shop_id, position, $%d::int, d FROM (
					SELECT h.listing_id, h.shop_id, h.position, h.phash <~> $%d::int8::bit(64) AS d FROM listing_image_hashes h
					WHERE %s ORDER BY h.phash <~> $%d::int8::bit(64) LIMIT $%d) hits`,
				len(a)-1, len(a)-2, where, len(a)-2, len(a)), a...)
			if err != nil {
				return err
			}
			n, err := add(rows)
			rows.Close()
			if err != nil {
				return err
			}
			short = short || n < 4*q.K
		}
		for id, m := range best {
			if m.Distance > q.MaxDistance {
				delete(best, id)
			}
		}
		if short {
			// The walk gave up (MaxScanTuples) before 4K rows passed the
			// scope filter, so a close image may be missing: scan exactly.
			s.searches.fallback.Add(1)
			clear(best)
			return exact(tx)
		}
		return nil
	})
	if err != nil {
		return nil, translate(err)
	}
	return listinggen.TopImageMatches(best, q.K), nil
}
