package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/vectorcache"
)

// Shop and group similarity queries are answered from an in-process copy
// of the tenant's vectors (internal/vectorcache), exactly, and faster than
// PostgreSQL's exact scan of the same rows through the btree index (one
// heap page a row) or an HNSW walk with the shop filter (approximate).
// This file is the cache's Source.
//
// Freshness across processes. Every change to a listing's vector, model or
// shop stamps the row with the writing transaction's id (vec_xid, set by a
// trigger; migrations/0012_vector_changes.sql). Transaction ids are taken
// in one order and committed in another, so "ids above the last seen"
// would miss a slow writer. Instead each read also takes its snapshot's
// xmin: every transaction with a lower id had finished when the snapshot
// was taken, so its rows were either read then or never committed. The
// next catch-up re-reads every row stamped at or above that xmin, which
// covers whatever was still running, and applies them idempotently. A long
// transaction anywhere in the cluster holds xmin back and makes catch-ups
// re-read more rows (each is still correct); the listings_by_vec_xid index
// keeps the probe cheap when nothing changed.

// vectorSource reads the cache's sets through the pool.
type vectorSource struct{ s *Store }

var _ vectorcache.Source = vectorSource{}

// snapshotXmin is the statement's snapshot xmin as a bigint (xid8 has no
// binary codec in pgx); xid8 values are 64-bit and never wrap.
const snapshotXmin = `(pg_snapshot_xmin(pg_current_snapshot())::text)::bigint`

// Load reads every vector of the tenant and model, and the snapshot's
// xmin, in one repeatable-read transaction (one snapshot).
func (src vectorSource) Load(ctx context.Context, key vectorcache.Key, l *vectorcache.Loader) (uint64, error) {
	var xmin int64
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := src.s.inTx(ctx, opts, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT `+snapshotXmin).Scan(&xmin); err != nil {
			return err
		}
		res, err := tx.Query(ctx, `SELECT id, shop_id, embedding FROM listings
			WHERE tenant_id = $1 AND embedding_model = $2 AND embedding IS NOT NULL`, key.Tenant, key.Model)
		if err != nil {
			return err
		}
		defer res.Close()
		for res.Next() {
			var id, shop string
			var v pgvector.Vector
			if err := res.Scan(&id, &shop, &v); err != nil {
				return err
			}
			if !l.Add(id, shop, v.Slice()) {
				break
			}
		}
		return res.Err()
	})
	if err != nil {
		return 0, translate(err)
	}
	return uint64(xmin), nil
}

// Changes reads the tenant's rows stamped at or above pos (a previous
// snapshot's xmin) and returns this statement's snapshot xmin. The LEFT
// JOIN returns the xmin even when nothing changed; one statement is one
// snapshot, so the xmin and the rows agree.
func (src vectorSource) Changes(ctx context.Context, key vectorcache.Key, pos uint64, apply func(vectorcache.Change) bool) (uint64, error) {
	rows, err := src.s.pool.Query(ctx, `SELECT x.xmin, l.id, l.shop_id, CASE WHEN l.embedding_model = $2 THEN l.embedding END
		FROM (SELECT `+snapshotXmin+` AS xmin) x
		LEFT JOIN listings l ON l.tenant_id = $1 AND l.vec_xid >= ($3::bigint)::text::xid8`,
		key.Tenant, key.Model, int64(pos))
	if err != nil {
		return pos, translate(err)
	}
	defer rows.Close()
	next := pos
	for rows.Next() {
		var xmin int64
		var id, shop *string
		var v *pgvector.Vector
		if err := rows.Scan(&xmin, &id, &shop, &v); err != nil {
			return pos, translate(err)
		}
		next = uint64(xmin)
		if id == nil {
			continue // nothing changed
		}
		ch := vectorcache.Change{ID: *id, Shop: *shop}
		if v != nil {
			ch.Vector = v.Slice()
		}
		if !apply(ch) {
			return pos, nil
		}
	}
	if err := rows.Err(); err != nil {
		return pos, translate(err)
	}
	return next, nil
}

// similarCached answers a shop or group query from the cache; ok is false
// when the cache is off or the tenant's vectors of the model are too many
// to hold.
func (s *Store) similarCached(ctx context.Context, tenantID string, q listinggen.SimilarQuery) ([]listinggen.SimilarListing, bool, error) {
	if s.vectors == nil {
		return nil, false, nil
	}
	cq := vectorcache.Query{Vector: q.Vector, K: q.K, ExcludeID: q.ExcludeID}
	if q.ShopID != "" {
		cq.Shops = []string{q.ShopID}
	} else {
		var err error
		if cq.Shops, err = s.groupShops(ctx, tenantID, q.Group); err != nil {
			return nil, false, err
		}
	}
	hits, ok, err := s.vectors.Search(ctx, vectorSource{s}, vectorcache.Key{Tenant: tenantID, Model: q.Model}, cq)
	if ok {
		s.searches.cached.Add(1)
	}
	return hits, ok, err
}

// groupShops returns the ids of the tenant's shops in group (never nil).
func (s *Store) groupShops(ctx context.Context, tenantID, group string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM shops WHERE tenant_id = $1 AND grp = $2`, tenantID, group)
	if err != nil {
		return nil, translate(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, translate(err)
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}

// VectorCacheStats reports the vector cache's size (zero when it is off),
// for the metrics and the batch command's summary: it is most of what a
// worker's memory grows by as a tenant's catalogue grows.
func (s *Store) VectorCacheStats() vectorcache.Stats { return s.vectors.Stats() }
