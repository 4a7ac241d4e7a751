package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"strconv"

	"github.com/listinggen/listinggen"
)

// writeImageHashes replaces the listing's rows in listing_image_hashes, in
// the transaction that writes the listing (migrations/0006).
func writeImageHashes(ctx context.Context, tx *sql.Tx, l *listinggen.Listing, replace bool) error {
	if replace {
		if _, err := tx.ExecContext(ctx, `DELETE FROM listing_image_hashes WHERE tenant_id = ? AND listing_id = ?`, l.TenantID, l.ID); err != nil {
			return err
		}
	}
	for _, h := range l.ImageHashes() {
		if _, err := tx.ExecContext(ctx, `INSERT INTO listing_image_hashes (tenant_id, listing_id, shop_id, position, phash)
			VALUES (?, ?, ?, ?, ?)`, l.TenantID, l.ID, l.ShopID, h.Position, fmt.Sprintf("%016x", h.Hash)); err != nil {
			return err
		}
	}
	return nil
}

// SimilarImages finds the listings in scope with an image within
// q.MaxDistance bits of a query hash. The scope's hashes are read through
// listing_image_hashes_by_shop and compared in process (a popcount each:
// reading the rows is the scan's whole cost).
func (s *Store) SimilarImages(ctx context.Context, tenantID string, q listinggen.ImageHashQuery) ([]listinggen.ImageHashMatch, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	sqlq := `SELECT listing_id, shop_id, position, phash FROM listing_image_hashes WHERE tenant_id = ? AND listing_id != ?`
	args := []any{tenantID, q.ExcludeID}
	switch {
	case q.ShopID != "":
		sqlq += ` AND shop_id = ?`
		args = append(args, q.ShopID)
	case q.Group != "":
		sqlq += ` AND shop_id IN (SELECT id FROM shops WHERE tenant_id = ? AND grp = ?)`
		args = append(args, tenantID, q.Group)
	}
	rows, err := s.reader.QueryContext(ctx, sqlq, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	best := map[string]listinggen.ImageHashMatch{}
	for rows.Next() {
		var m listinggen.ImageHashMatch
		var hex string
		if err := rows.Scan(&m.ListingID, &m.ShopID, &m.Image, &hex); err != nil {
			return nil, translate(err)
		}
		h, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			continue // written by something else; never by the store
		}
		m.Distance = 65
		for i, qh := range q.Hashes {
			if d := bits.OnesCount64(h ^ qh); d < m.Distance {
				m.Distance, m.Query = d, i
			}
		}
		if m.Distance > q.MaxDistance {
			continue
		}
		if old, ok := best[m.ListingID]; !ok || listinggen.CloserImage(m, old) {
			best[m.ListingID] = m
		}
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	return listinggen.TopImageMatches(best, q.K), nil
}
