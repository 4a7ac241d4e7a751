package postgres

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/storetest"
)

func TestLargeScopesExpire(t *testing.T) {
	t.Parallel()
	var ls largeScopes
	t0 := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	tenant, shop := scopeKey{tenant: "t", model: "m"}, scopeKey{tenant: "t", model: "m", shop: "s"}
	if ls.known(tenant, t0) {
		t.Fatal("known before remembered")
	}
	ls.remember(tenant, t0)
	switch {
	case !ls.known(tenant, t0.Add(largeScopeTTL-time.Nanosecond)):
		t.Error("forgotten before its TTL")
	case ls.known(shop, t0):
		t.Error("a shop of a known tenant is known")
	case ls.known(tenant, t0.Add(largeScopeTTL)):
		t.Error("known after its TTL")
	}
	ls.remember(tenant, t0)
	ls.forget(tenant)
	if ls.known(tenant, t0) {
		t.Error("known after forget")
	}
}

// clock is a settable Store clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// oneConnStore opens a store whose pool holds a single connection, so that
// what one query leaves on its connection is what the next one finds; the
// HNSW settings differ from pgvector's defaults, so that a leak shows.
func oneConnStore(t *testing.T, c *clock) *Store {
	t.Helper()
	cfg := testConfig(t)
	cfg.MaxConns = 1
	cfg.ExactScanMaxRows = 50
	cfg.VectorCacheBytes = 0
	cfg.HNSW.EfSearch, cfg.HNSW.MaxScanTuples = 77, 5000
	s, err := Open(ctx, cfg, c.now, newID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sessionState is what a query may leave behind on its connection.
type sessionState struct {
	pid                                                   int
	txStatus                                              byte
	efSearch, iterativeScan, maxScanTuples, sort, jit, ro string
	planCache                                             string
}

// pooledSession reads the state of the pool's (only) connection.
func pooledSession(t *testing.T, s *Store) sessionState {
	t.Helper()
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	st := sessionState{txStatus: c.Conn().PgConn().TxStatus()}
	// pgvector defines its settings when a session first loads it: a new
	// connection has none of them yet.
	if err := c.QueryRow(ctx, `SELECT pg_backend_pid(), coalesce(current_setting('hnsw.ef_search', true), ''),
		coalesce(current_setting('hnsw.iterative_scan', true), ''), coalesce(current_setting('hnsw.max_scan_tuples', true), ''),
		current_setting('enable_sort'), current_setting('jit'), current_setting('transaction_read_only'), current_setting('plan_cache_mode')`).
		Scan(&st.pid, &st.efSearch, &st.iterativeScan, &st.maxScanTuples, &st.sort, &st.jit, &st.ro, &st.planCache); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestLargeScopeInOneBatch: once a scope has been counted larger than
// ExactScanMaxRows, its queries skip the count (until largeScopeTTL has
// passed) and run without an explicit transaction; the settings they make
// end with their batch, even when a statement of it fails, and the
// connection goes back to the pool usable, not closed.
func TestLargeScopeInOneBatch(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	s := oneConnStore(t, c)
	sh := mustShop(t, s, "t1", "")
	titles := storetest.Titles(11, 80)
	for i, title := range titles {
		mustCreate(t, s, listing("t1", sh.ID, fmt.Sprint(i), title))
	}
	q := listinggen.SimilarQuery{Vector: embedder.Vector(titles[3]), Model: embedder.Model(), K: 10}
	ask := func(q listinggen.SimilarQuery) []listinggen.SimilarListing {
		t.Helper()
		hits, err := s.SimilarListings(ctx, "t1", q)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != min(q.K, len(titles)) {
			t.Fatalf("%d hits, want %d", len(hits), min(q.K, len(titles)))
		}
		return hits
	}
	want := sessionState{txStatus: 'I', efSearch: "40", iterativeScan: "off", maxScanTuples: "20000", sort: "on", jit: "off", ro: "off", planCache: "force_custom_plan"}
	check := func(when string, pid int) {
		t.Helper()
		got := pooledSession(t, s)
		want.pid = pid
		if got != want {
			t.Errorf("%s: connection state %+v, want %+v", when, got, want)
		}
	}

	first := ask(q)
	if n, a := s.searches.counted.Load(), s.searches.approximate.Load(); n != 1 || a != 1 {
		t.Fatalf("first query: %d counts, %d HNSW walks; want 1 and 1", n, a)
	}
	pid := pooledSession(t, s).pid
	for i := range 3 {
		hits := ask(q)
		if fmt.Sprint(hits) != fmt.Sprint(first) {
			t.Errorf("query %d: %+v, first %+v", i, hits, first)
		}
	}
	if n, a, f := s.searches.counted.Load(), s.searches.approximate.Load(), s.searches.fallback.Load(); n != 1 || a != 4 || f != 0 {
		t.Errorf("after 3 more queries: %d counts, %d walks, %d fallbacks; want 1, 4, 0", n, a, f)
	}
	check("after a query without a count", pid)

	// A statement of the batch fails after the settings were made: a NaN
	// is refused when the query's vector parameter is read.
	bad := q
	bad.Vector = append([]float32{}, q.Vector...)
	bad.Vector[0] = float32(math.NaN())
	before := s.searches.approximate.Load()
	_, err := s.SimilarListings(ctx, "t1", bad)
	wantCode(t, err, listinggen.EINVALID)
	if s.searches.approximate.Load() != before+1 || s.searches.counted.Load() != 1 {
		t.Fatal("the failing query did not take the one-batch path")
	}
	check("after a failed batch", pid)
	ask(q)

	c.add(largeScopeTTL)
	ask(q)
	if n := s.searches.counted.Load(); n != 2 {
		t.Errorf("after the TTL: %d counts, want 2", n)
	}
	check("after a counted query", pid)
}

// TestLargeScopeThatShrank: a scope remembered as large whose HNSW answer
// comes back short is counted again; now small, it is answered by the exact
// scan and forgotten.
func TestLargeScopeThatShrank(t *testing.T) {
	t.Parallel()
	s := oneConnStore(t, &clock{t: time.Now()})
	sh := mustShop(t, s, "t1", "")
	other := mustShop(t, s, "t2", "")
	titles := storetest.Titles(12, 90)
	var ids []string
	for i, title := range titles[:60] {
		ids = append(ids, mustCreate(t, s, listing("t1", sh.ID, fmt.Sprint(i), title)).ID)
	}
	for i, title := range titles[60:] {
		mustCreate(t, s, listing("t2", other.ID, fmt.Sprint(i), title))
	}
	q := listinggen.SimilarQuery{Vector: embedder.Vector(titles[0]), Model: embedder.Model(), K: 10}
	if _, err := s.SimilarListings(ctx, "t1", q); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM listings WHERE tenant_id = 't1' AND NOT id = ANY ($1)`, ids[:4]); err != nil {
		t.Fatal(err)
	}
	counted, exact, walks := s.searches.counted.Load(), s.searches.exact.Load(), s.searches.approximate.Load()
	hits, err := s.SimilarListings(ctx, "t1", q)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 4 || hits[0].ListingID != ids[0] {
		t.Errorf("hits %+v, want the 4 rows left, %s first", hits, ids[0])
	}
	if s.searches.approximate.Load() != walks+1 || s.searches.counted.Load() != counted+1 || s.searches.exact.Load() != exact+1 {
		t.Errorf("want one walk, then a count and an exact scan: %d walks, %d counts, %d exact scans",
			s.searches.approximate.Load()-walks, s.searches.counted.Load()-counted, s.searches.exact.Load()-exact)
	}
	if s.large.known(scopeKey{tenant: "t1", model: embedder.Model()}, time.Now()) {
		t.Error("the scope is still remembered as large")
	}
}
