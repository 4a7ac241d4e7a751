package sqlite

import (
	"context"
	"database/sql"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/vectorcache"
)

// The store answers similarity queries from an in-memory copy of each
// tenant's vectors (internal/vectorcache): one indexed SQL probe plus a scan
// of memory, split across the cores, instead of reading each row's blob
// through SQL, which walks the JSON body's overflow pages to reach the
// embedding. This file is the cache's Source.
//
// Freshness. Results are never stale, whoever wrote: every write to a
// listing sets its change_seq to one more than its tenant's highest, in the
// writing transaction (migrations/0003_change_seq.sql; triggers number
// writes from anything that does not). Before each query the set asks
//
//	SELECT ... FROM listings WHERE tenant_id = ? AND change_seq > <seq>
//
// through the listings_by_change index, applies the rows it gets and
// remembers their highest change_seq. SQLite has one writer at a time, so
// change numbers follow commit order and a snapshot that holds change N
// holds every change below N: nothing committed before the query started
// can be missed, and the store's own writes and those of another process
// sharing the file (a `listinggen batch` run) take the same path. When
// nothing changed the probe is one index seek. change_seq is numbered per
// tenant and read from any connection: a write costs a catch-up of the
// rows it changed, in its own tenant's sets only.
//
// Listings are never deleted (DeleteShop refuses a shop with listings), so
// change_seq covers inserts and updates; a future delete must leave a
// tombstone row for the cache to see.

// vectorSource reads the cache's sets through the read pool.
type vectorSource struct{ db *sql.DB }

var _ vectorcache.Source = vectorSource{}

// Load reads every vector of the tenant and model, and the tenant's highest
// change_seq, from one snapshot (a read transaction).
func (src vectorSource) Load(ctx context.Context, key vectorcache.Key, l *vectorcache.Loader) (uint64, error) {
	tx, err := src.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, translate(err)
	}
	defer tx.Rollback()
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(change_seq), 0) FROM listings WHERE tenant_id = ?`, key.Tenant).Scan(&seq); err != nil {
		return 0, translate(err)
	}
	res, err := tx.QueryContext(ctx, `SELECT id, shop_id, embedding FROM listings
		WHERE tenant_id = ? AND embedding_model = ? AND embedding IS NOT NULL`, key.Tenant, key.Model)
	if err != nil {
		return 0, translate(err)
	}
	defer res.Close()
	var blob sql.RawBytes // decoded at once, so not copied
	var buf []float32
	for res.Next() {
		var id, shop string
		if err := res.Scan(&id, &shop, &blob); err != nil {
			return 0, translate(err)
		}
		buf = decodeVectorInto(buf[:0], blob)
		if !l.Add(id, shop, buf) {
			break
		}
	}
	return uint64(seq), translate(res.Err())
}

// Changes reads the tenant's changes numbered above pos. One statement is
// one snapshot, so the highest change_seq it returns covers every change
// below it.
func (src vectorSource) Changes(ctx context.Context, key vectorcache.Key, pos uint64, apply func(vectorcache.Change) bool) (uint64, error) {
	rows, err := src.db.QueryContext(ctx, `SELECT id, shop_id, CASE WHEN embedding_model = ? THEN embedding END, change_seq
		FROM listings WHERE tenant_id = ? AND change_seq > ? ORDER BY change_seq`, key.Model, key.Tenant, int64(pos))
	if err != nil {
		return pos, translate(err)
	}
	defer rows.Close()
	next := pos
	for rows.Next() {
		var ch vectorcache.Change
		var blob []byte
		var seq int64
		if err := rows.Scan(&ch.ID, &ch.Shop, &blob, &seq); err != nil {
			return pos, translate(err)
		}
		if len(blob) >= 4 {
			ch.Vector = decodeVector(blob)
		}
		next = max(next, uint64(seq))
		if !apply(ch) {
			return pos, nil
		}
	}
	if err := rows.Err(); err != nil {
		return pos, translate(err)
	}
	return next, nil
}

// similarCached answers q from the cache; ok is false when the tenant's
// vectors of q.Model are too many to cache.
func (s *Store) similarCached(ctx context.Context, tenantID string, q listinggen.SimilarQuery) (hits []listinggen.SimilarListing, ok bool, err error) {
	cq := vectorcache.Query{Vector: q.Vector, K: q.K, ExcludeID: q.ExcludeID}
	switch {
	case q.ShopID != "":
		cq.Shops = []string{q.ShopID}
	case q.Group != "":
		if cq.Shops, err = s.groupShops(ctx, tenantID, q.Group); err != nil {
			return nil, false, err
		}
		if cq.Shops == nil {
			cq.Shops = []string{}
		}
	}
	return s.vectors.Search(ctx, vectorSource{s.reader}, vectorcache.Key{Tenant: tenantID, Model: q.Model}, cq)
}

// groupShops returns the ids of the tenant's shops in group.
func (s *Store) groupShops(ctx context.Context, tenantID, group string) ([]string, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id FROM shops WHERE tenant_id = ? AND grp = ?`, tenantID, group)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, translate(err)
		}
		ids = append(ids, id)
	}
	return ids, translate(rows.Err())
}

// VectorCacheStats reports the vector cache's size (zero when it is off),
// for the metrics and the batch command's summary: it is most of what a
// worker's memory grows by as a tenant's catalogue grows.
func (s *Store) VectorCacheStats() vectorcache.Stats { return s.vectors.Stats() }
