package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/listinggen/listinggen"
)

// Vector limits of pgvector 0.8: a vector column holds up to 16000
// dimensions; HNSW indexes halfvec up to 4000.
const (
	maxDims        = 16000
	maxHalfvecHNSW = 4000
)

// embeddingModel is a row of embedding_models.
type embeddingModel struct {
	name  string
	dims  int
	index string // "" when the model is too wide for HNSW
}

// indexExpr is the expression a model's HNSW index is built on, and that
// its queries must order by so that the planner can use the index: the
// untyped column cast to a halfvec of the model's dimension. Half
// precision changes a cosine distance by about 1e-3 at most, which moves
// few neighbours, and the query re-sorts what the walk finds by the exact
// distance on the full-precision column; in exchange the graph is half the
// size, and builds and walks faster. Past 4000 dimensions there is no
// index.
func (m embeddingModel) indexExpr(column string) (expr, opclass string, ok bool) {
	if m.dims <= maxHalfvecHNSW {
		return fmt.Sprintf("(%s::halfvec(%d))", column, m.dims), "halfvec_cosine_ops", true
	}
	return "", "", false
}

// queryExpr casts the query vector parameter to the type of indexExpr.
func (m embeddingModel) queryExpr(param string) string {
	return fmt.Sprintf("%s::vector::halfvec(%d)", param, m.dims)
}

// indexName is the name of a model's HNSW index: a hash of the model's
// name (any text) and its dimension. The "h" tells a halfvec index from a
// vector one (migration 0013 rebuilds those as halfvec).
func indexName(model string, dims int) string {
	sum := sha256.Sum256([]byte(model))
	return fmt.Sprintf("listings_hnswh_%x_d%d", sum[:8], dims)
}

// quoteLiteral quotes s as an SQL string literal. It is only used for model
// names, which checkEmbedding has checked (valid UTF-8, no NUL); pgx
// requires standard_conforming_strings, so doubling quotes is enough.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// checkEmbedding refuses a vector the store could not search correctly:
// one without a model name, with non-finite values, or whose length differs
// from the one recorded for its model. The first vector of a model records
// the model (and builds its index).
func (s *Store) checkEmbedding(ctx context.Context, model string, v []float32) error {
	if len(v) == 0 {
		return nil
	}
	if model == "" {
		return listinggen.Invalid([]listinggen.FieldError{{Field: "embedding_model", Message: "is required with an embedding"}})
	}
	if fe := listinggen.CheckText("embedding_model", model, listinggen.MaxShortTextRunes, false); fe != nil {
		return listinggen.Invalid(fe)
	}
	if len(v) > maxDims {
		return listinggen.Invalid([]listinggen.FieldError{{Field: "embedding", Message: fmt.Sprintf("has %d dimensions, more than %d", len(v), maxDims)}})
	}
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return listinggen.Invalid([]listinggen.FieldError{{Field: "embedding", Message: "contains NaN or infinity"}})
		}
	}
	m, err := s.ensureModel(ctx, model, len(v))
	if err != nil {
		return err
	}
	return m.checkDims(len(v))
}

// checkDims reports a vector whose length is not the model's. Mixing
// lengths under one model name would make every comparison meaningless
// (and the model's index expression fail), so it is refused, never cast.
func (m embeddingModel) checkDims(n int) error {
	if n == m.dims {
		return nil
	}
	return &listinggen.Error{Code: listinggen.EINVALID,
		Message: fmt.Sprintf("embedding model %q produces %d-dimensional vectors, this one has %d: "+
			"check the embedder's configuration, or give a model with another dimension its own name", m.name, m.dims, n),
		Fields: []listinggen.FieldError{{Field: "embedding", Message: fmt.Sprintf("has %d dimensions, model %q has %d", n, m.name, m.dims)}}}
}

func (s *Store) cachedModel(name string) (embeddingModel, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.models[name]
	return m, ok
}

func (s *Store) cacheModel(m embeddingModel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.models[m.name] = m
}

// lookupModel returns the recorded model, or ok=false if no vector of that
// model was ever stored.
func (s *Store) lookupModel(ctx context.Context, name string) (m embeddingModel, ok bool, err error) {
	if m, ok := s.cachedModel(name); ok {
		return m, true, nil
	}
	err = s.pool.QueryRow(ctx, `SELECT model, dims, index_name FROM embedding_models WHERE model = $1`, name).Scan(&m.name, &m.dims, &m.index)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, false, nil
	} else if err != nil {
		return m, false, translate(err)
	}
	s.cacheModel(m)
	return m, true, nil
}

// ensureModel records a model the first time one of its vectors is stored
// and builds its partial HNSW index in the same transaction, so that a model
// is never recorded without its index. Concurrent first writers of one model
// queue on the primary key: one inserts and builds, the others then read its
// row. The conflict clause names no target on purpose: a racing insert can
// trip UNIQUE (model, dims) before the primary key, and a targeted clause
// would turn that into an error instead of "someone else recorded it".
// The build holds a SHARE lock on listings (writes wait) while it scans
// the table; that happens once per model, and the index starts empty.
func (s *Store) ensureModel(ctx context.Context, name string, dims int) (embeddingModel, error) {
	if m, ok, err := s.lookupModel(ctx, name); err != nil || ok {
		return m, err
	}
	m := embeddingModel{name: name, dims: dims}
	expr, opclass, indexable := m.indexExpr("embedding")
	if indexable {
		m.index = indexName(name, dims)
	}
	err := s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		// Waiting behind a long transaction for the SHARE lock would stall
		// every writer queued behind us: give up and let the caller retry.
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '10s'`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO embedding_models (model, dims, index_name, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, m.name, m.dims, m.index, s.timestamp())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return tx.QueryRow(ctx, `SELECT model, dims, index_name FROM embedding_models WHERE model = $1`, name).Scan(&m.name, &m.dims, &m.index)
		}
		if !indexable {
			return nil
		}
		_, err = tx.Exec(ctx, fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON listings USING hnsw (%s %s)
			WITH (m = %d, ef_construction = %d) WHERE embedding_model = %s`,
			m.index, expr, opclass, s.cfg.HNSW.M, s.cfg.HNSW.EfConstruction, quoteLiteral(m.name)))
		return err
	})
	if err != nil {
		return m, err
	}
	s.cacheModel(m)
	return m, nil
}

// SimilarListings returns the K listings of the query's model nearest to
// q.Vector by cosine distance within the scope (a shop, the shops of a
// group, or the whole tenant), best first.
//
// A shop or group is answered from the in-process vector cache (exact,
// vectors.go) unless it is off or the tenant is too large for it; then, and
// for the whole tenant: a scope of up to ExactScanMaxRows rows is scanned
// exactly in SQL. HNSW with a filter is the wrong tool there: left alone,
// the planner walks the index and post-filters, so a shop of a few hundred
// rows in a table of millions comes back with fewer than K hits, while the
// exact scan through the btree index reads only the scope's rows, at
// recall 1.0. A larger scope uses the model's HNSW index with an iterative
// scan, and falls back to the exact scan if that still returns fewer than
// min(K, rows in scope).
//
// Telling the two apart takes a count, and the count a transaction around
// it and the query: four round trips, where the HNSW walk needs one. So a
// scope counted larger than ExactScanMaxRows is remembered as such for
// largeScopeTTL (largeScopes), and its queries send the settings and the
// HNSW query in one batch, without a count; only a scope that shrank in
// the meantime and still holds K rows is then walked where a count would
// have chosen the exact scan. An answer with fewer than K rows (the walk
// gave up, or the scope shrank) is asked again the long way, minus the
// walk: the count, then the exact scan, in one snapshot. A model too wide
// for an index is always scanned exactly, without a count.
func (s *Store) SimilarListings(ctx context.Context, tenantID string, q listinggen.SimilarQuery) ([]listinggen.SimilarListing, error) {
	if q.K <= 0 || len(q.Vector) == 0 {
		return nil, listinggen.Errorf(listinggen.EINVALID, "similarity query needs a vector and K > 0")
	}
	m, ok, err := s.lookupModel(ctx, q.Model)
	if err != nil {
		return nil, err
	} else if !ok {
		return []listinggen.SimilarListing{}, nil // no vector of this model was ever stored
	}
	if err := m.checkDims(len(q.Vector)); err != nil {
		return nil, err
	}
	if q.ShopID != "" || q.Group != "" {
		if hits, ok, err := s.similarCached(ctx, tenantID, q); err != nil || ok {
			return hits, err
		}
	}
	sc := scope{tenantID: tenantID, model: m, shop: q.ShopID, exclude: q.ExcludeID, vector: pgvector.NewVector(q.Vector), k: q.K}
	if q.ShopID == "" {
		sc.group = q.Group
	}
	if _, _, indexable := m.indexExpr("l.embedding"); !indexable {
		// No index to walk, so nothing to count for: one statement.
		s.searches.exact.Add(1)
		hits, err := sc.exact(ctx, s.pool)
		return hits, translate(err)
	}
	ef := min(max(s.cfg.HNSW.EfSearch, q.K), maxEfSearch)
	key := sc.key()
	walked := false
	if s.large.known(key, s.now()) {
		s.searches.approximate.Add(1)
		hits, err := sc.approximate(ctx, s.pool, ef, s.cfg.HNSW.MaxScanTuples)
		if err != nil || len(hits) >= q.K {
			return hits, translate(err)
		}
		walked = true
	}
	var hits []listinggen.SimilarListing
	// One snapshot for the count and the queries, so that "fewer rows than
	// the scope holds" compares like with like.
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err = s.inTx(ctx, opts, func(tx pgx.Tx) error {
		n, err := sc.count(ctx, tx, max(s.cfg.ExactScanMaxRows, q.K)+1)
		if err != nil {
			return err
		}
		s.searches.counted.Add(1)
		if n <= s.cfg.ExactScanMaxRows {
			s.large.forget(key)
			s.searches.exact.Add(1)
			hits, err = sc.exact(ctx, tx)
			return err
		}
		s.large.remember(key, s.now())
		if !walked {
			s.searches.approximate.Add(1)
			if hits, err = sc.approximate(ctx, tx, ef, s.cfg.HNSW.MaxScanTuples); err != nil {
				return err
			}
			if len(hits) >= min(q.K, n) {
				return nil
			}
		}
		// The walk came back short: the iterative scan gave up
		// (MaxScanTuples) before K rows passed the filter, or, for a walk
		// made before the count, K may be above the scope's size (the exact
		// scan answers that too). enable_sort=off may still be set, which
		// does not matter: the exact query has no plan without a sort.
		s.searches.fallback.Add(1)
		hits, err = sc.exact(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return hits, nil
}

// largeScopeTTL is how long a scope counted larger than ExactScanMaxRows is
// taken to still be. Listings are rarely deleted, and a scope that shrank
// in the meantime is still answered correctly, by HNSW or, when that comes
// back short, exactly; the TTL bounds how long it may be answered by HNSW
// where a fresh count would have chosen the exact scan.
const largeScopeTTL = time.Minute

// largeScopes remembers which scopes were counted larger than
// ExactScanMaxRows, and until when. It holds at most one entry per model
// and tenant, shop or group queried in SQL with more rows than that, so
// the data bounds it.
type largeScopes struct {
	mu    sync.Mutex
	until map[scopeKey]time.Time
}

// scopeKey names a scope: the model, the tenant, and a shop or a group or
// neither (the whole tenant). The excluded row and the vector do not
// change the scope's size by more than one row.
type scopeKey struct{ tenant, model, shop, group string }

func (sc scope) key() scopeKey {
	return scopeKey{tenant: sc.tenantID, model: sc.model.name, shop: sc.shop, group: sc.group}
}

// known reports whether k was counted large less than largeScopeTTL ago.
func (ls *largeScopes) known(k scopeKey, now time.Time) bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	until, ok := ls.until[k]
	if ok && !now.Before(until) {
		delete(ls.until, k)
		return false
	}
	return ok
}

func (ls *largeScopes) remember(k scopeKey, now time.Time) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.until == nil {
		ls.until = map[scopeKey]time.Time{}
	}
	ls.until[k] = now.Add(largeScopeTTL)
}

func (ls *largeScopes) forget(k scopeKey) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	delete(ls.until, k)
}

// searchCounts counts how similarity queries were answered, for tests
// and, later, metrics: a rising fallback count means ExactScanMaxRows or
// MaxScanTuples is too low for the data; counted is the number of scope
// counts, which largeScopes spares most queries of a large scope.
type searchCounts struct {
	cached, exact, approximate, fallback, counted atomic.Int64
}

// scope is one similarity query's search space and target.
type scope struct {
	tenantID string
	model    embeddingModel
	shop     string // one shop, or
	group    string // the shops of a group, or, when both are empty, the tenant
	exclude  string
	vector   pgvector.Vector
	k        int
}

// where is the scope's filter over listings l; $1 tenant, $2 excluded id,
// $3 the shop or group if any. The model is a literal, not a parameter, so
// that the planner can prove the partial HNSW index's predicate even under
// a generic plan (pgx prepares statements, and after five runs PostgreSQL
// may switch to a generic plan). A group's shop ids are read once, as an
// array, and each row is checked against it: written as IN (subquery) the
// planner joins instead, and the HNSW walk for a group is much slower.
func (sc scope) where() (string, []any) {
	w := `l.tenant_id = $1 AND l.embedding_model = ` + quoteLiteral(sc.model.name) +
		` AND l.embedding IS NOT NULL AND l.id <> $2`
	args := []any{sc.tenantID, sc.exclude}
	switch {
	case sc.shop != "":
		w += ` AND l.shop_id = $3`
		args = append(args, sc.shop)
	case sc.group != "":
		w += ` AND l.shop_id = ANY (ARRAY(SELECT s.id FROM shops s WHERE s.tenant_id = $1 AND s.grp = $3))`
		args = append(args, sc.group)
	}
	return w, args
}

// count returns the number of rows in scope, counting no further than
// limit: the caller only needs to know whether the scope is small, and
// min(K, rows), which a limit above both answers exactly.
func (sc scope) count(ctx context.Context, tx pgx.Tx, limit int) (n int, err error) {
	w, args := sc.where()
	args = append(args, limit)
	err = tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM listings l WHERE %s LIMIT $%d) s`, w, len(args)), args...).Scan(&n)
	return n, err
}

// querier is what a scope's queries run on: a transaction, or the pool,
// where each statement, or each batch up to its one Sync, runs in an
// implicit transaction of its own.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// exact returns the scope's K nearest rows by an exact scan.
func (sc scope) exact(ctx context.Context, db querier) ([]listinggen.SimilarListing, error) {
	q, args := sc.exactQuery()
	return collectHits(db.Query(ctx, q, args...))
}

// exactQuery orders the scope by the distance on the untyped column, an
// expression no HNSW index is built on, so it can never be answered from
// one: it reads the scope's rows through the btree index and sorts them.
func (sc scope) exactQuery() (string, []any) {
	w, args := sc.where()
	args = append(args, sc.vector, sc.k)
	return fmt.Sprintf(`SELECT l.id, l.shop_id, l.embedding <=> $%d AS d FROM listings l WHERE %s
		ORDER BY d, l.id LIMIT $%d`, len(args)-1, w, len(args)), args
}

// approximate walks the model's HNSW index, sending the settings and the
// query in one batch: one round trip (after the first on a connection,
// which prepares the statements).
func (sc scope) approximate(ctx context.Context, db querier, efSearch, maxScanTuples int) ([]listinggen.SimilarListing, error) {
	set, setArgs := searchSettings(efSearch, maxScanTuples)
	q, args := sc.approximateQuery()
	b := &pgx.Batch{}
	b.Queue(set, setArgs...)
	var hits []listinggen.SimilarListing
	b.Queue(q, args...).Query(func(rows pgx.Rows) (err error) {
		hits, err = collectHits(rows, nil)
		return err
	})
	if err := db.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return hits, nil
}

// searchSettings are the approximate query's settings. They are SET LOCAL
// (set_config(..., true)) in the query's own transaction: pooled
// connections and pgx's cached statements must not carry them to other
// queries. On the pool, that transaction is the implicit one PostgreSQL
// runs a pipelined batch in up to its Sync, which pgx sends once, after the
// batch's last query: it ends there, committed or, if a statement failed,
// rolled back, and the settings with it. relaxed_order lets the iterative
// scan go on past rows the filter drops until K match, up to
// maxScanTuples. enable_sort=off makes the planner walk the index even
// when its estimate (stale statistics right after a bulk load, or a
// selective shop filter) prefers the btree and a sort: a count has shown
// that the scope is too large for that, in the same transaction or at most
// largeScopeTTL ago.
func searchSettings(efSearch, maxScanTuples int) (string, []any) {
	return `SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true),
		set_config('hnsw.max_scan_tuples', $2, true), set_config('enable_sort', 'off', true)`,
		[]any{strconv.Itoa(efSearch), strconv.Itoa(maxScanTuples)}
}

// approximateQuery orders by the model's index expression so that the
// planner can walk its HNSW index, and returns the exact distance too:
// relaxed_order results may be slightly out of order, so the outer query
// re-sorts them by it.
func (sc scope) approximateQuery() (string, []any) {
	w, args := sc.where()
	args = append(args, sc.vector, sc.k)
	v, k := len(args)-1, len(args)
	expr, _, _ := sc.model.indexExpr("l.embedding")
	return fmt.Sprintf(`SELECT id, shop_id, d FROM (
			SELECT l.id, l.shop_id, l.embedding <=> $%d AS d FROM listings l WHERE %s
			ORDER BY %s <=> %s LIMIT $%d
		) hits ORDER BY d, id`, v, w, expr, sc.model.queryExpr(fmt.Sprintf("$%d", v)), k), args
}

// collectHits reads (id, shop_id, cosine distance) rows. Score is the cosine
// similarity; pgvector's distance to a zero vector is NaN, which becomes 0
// as in listinggen.Cosine.
func collectHits(rows pgx.Rows, err error) ([]listinggen.SimilarListing, error) {
	if err != nil {
		return nil, err
	}
	hits := []listinggen.SimilarListing{}
	for rows.Next() {
		var h listinggen.SimilarListing
		var d float64
		if err := rows.Scan(&h.ListingID, &h.ShopID, &d); err != nil {
			rows.Close()
			return nil, err
		}
		h.Score = 1 - d
		if math.IsNaN(h.Score) {
			h.Score = 0
		}
		hits = append(hits, h)
	}
	return hits, rows.Err()
}
