package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/hashembed"
	"github.com/listinggen/listinggen/internal/pgtest"
	"github.com/listinggen/listinggen/internal/storetest"
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func testConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.URL = pgtest.FreshDatabase(t)
	return cfg
}

func openStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfg, time.Now, newID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the shared suite on the shipped defaults; with
// ExactScanMaxRows at 1000, its recall subtest answers the small shops
// exactly and the big shop, the groups and the tenant through HNSW.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) listinggen.Store { return openStore(t, testConfig(t)) })
}

var ctx = context.Background()

var embedder, _ = hashembed.New(hashembed.DefaultConfig())

func mustShop(t *testing.T, s *Store, tenant, group string) *listinggen.Shop {
	t.Helper()
	sh := &listinggen.Shop{TenantID: tenant, Name: "店", Platform: listinggen.PlatformTaobao, Group: group}
	if err := s.CreateShop(ctx, sh); err != nil {
		t.Fatal(err)
	}
	return sh
}

func listing(tenant, shopID, product, title string) *listinggen.Listing {
	return &listinggen.Listing{
		TenantID: tenant, ShopID: shopID, ProductID: product, ProductHash: "h" + product,
		Platform: listinggen.PlatformTaobao, Status: listinggen.StatusDraft,
		Copy:           listinggen.Copy{Title: title},
		Source:         listinggen.Product{ID: product, Title: title},
		Dedup:          listinggen.DedupReport{Verdict: listinggen.VerdictUnique},
		Embedding:      embedder.Vector(title),
		EmbeddingModel: embedder.Model(),
		IdempotencyKey: shopID + "/" + product,
	}
}

func mustCreate(t *testing.T, s *Store, l *listinggen.Listing) *listinggen.Listing {
	t.Helper()
	if created, err := s.CreateListing(ctx, l); err != nil || !created {
		t.Fatalf("CreateListing: created=%v, %v", created, err)
	}
	return l
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := listinggen.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// TestMigrateConcurrently starts three stores at once on a fresh database:
// all must succeed, and each migration must be applied and recorded once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	const n = 3
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(ctx, cfg, time.Now, newID)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("store %d: Open: %v", i, err)
		}
		defer stores[i].Close()
	}
	rows, err := stores[0].pool.Query(ctx, `SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]int, error) {
		var v [2]int
		return v, r.Scan(&v[0], &v[1])
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != len(migrationFiles()) {
		t.Fatalf("schema_migrations has versions %v, want %d", counts, len(migrationFiles()))
	}
	for i, c := range counts {
		if c[0] != i+1 || c[1] != 1 {
			t.Fatalf("schema_migrations version %d recorded %d times (all: %v)", c[0], c[1], counts)
		}
	}
	// Migrate again (what `listinggen migrate` does on a current database)
	// is a no-op, and every store is ready.
	if err := stores[1].Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if err := s.Ping(ctx); err != nil {
			t.Errorf("store %d: Ping: %v", i, err)
		}
	}
}

func TestPingReportsMissingMigrations(t *testing.T) {
	t.Parallel()
	s := openStore(t, testConfig(t))
	if _, err := s.pool.Exec(ctx, `DELETE FROM schema_migrations`); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.Ping(ctx), listinggen.EUNAVAILABLE)
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	err := Config{MaxConns: 0, HNSW: HNSWConfig{M: 1, EfConstruction: 1, EfSearch: 0, MaxScanTuples: 0}, ExactScanMaxRows: -1}.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"URL", "MaxConns", "HNSW.M", "HNSW.EfConstruction", "HNSW.EfSearch", "HNSW.MaxScanTuples", "ExactScanMaxRows"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	cfg := DefaultConfig()
	cfg.URL = "postgres://u:secret@host:notaport/db"
	if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("invalid URL: error %v; want one that does not repeat the password", err)
	}
	if _, err := Open(ctx, Config{}, time.Now, newID); err == nil {
		t.Error("Open accepted an empty config")
	}
}

// TestOpenUnreachableIsUnavailable: a database that is down is EUNAVAILABLE
// (readiness, retry), not an internal error.
func TestOpenUnreachableIsUnavailable(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.URL = "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"
	_, err := Open(ctx, cfg, time.Now, newID)
	wantCode(t, err, listinggen.EUNAVAILABLE)
}

// TestEmbeddingDimensionsArePinnedPerModel: the first vector of a model
// records its dimension and builds its index; a vector of another length
// under the same name is refused, never cast or mixed.
func TestEmbeddingDimensionsArePinnedPerModel(t *testing.T) {
	t.Parallel()
	s := openStore(t, testConfig(t))
	sh := mustShop(t, s, "t1", "")
	mustCreate(t, s, listing("t1", sh.ID, "p1", "保温杯"))

	wrong := listing("t1", sh.ID, "p2", "保温杯")
	wrong.Embedding = wrong.Embedding[:128]
	_, err := s.CreateListing(ctx, wrong)
	wantCode(t, err, listinggen.EINVALID)
	if msg := listinggen.ErrorMessage(err); !strings.Contains(msg, "256") || !strings.Contains(msg, "128") || !strings.Contains(msg, embedder.Model()) {
		t.Errorf("message %q should name the model and both dimensions", msg)
	}
	if fields := listinggen.ErrorFields(err); len(fields) != 1 || fields[0].Field != "embedding" {
		t.Errorf("fields = %+v, want embedding", fields)
	}
	// A fresh store (another process) has no cache and reads the record.
	s2 := openStore(t, Config{URL: s.cfg.URL, MaxConns: 2, HNSW: s.cfg.HNSW, ExactScanMaxRows: 10})
	_, err = s2.CreateListing(ctx, wrong)
	wantCode(t, err, listinggen.EINVALID)
	// Updates are held to the same rule.
	first, _ := s.FindListings(ctx, "t1", listinggen.ListingFilter{})
	upd := first.Items[0]
	upd.Embedding = upd.Embedding[:100]
	wantCode(t, s.UpdateListing(ctx, upd), listinggen.EINVALID)
	// So are queries.
	_, err = s.SimilarListings(ctx, "t1", listinggen.SimilarQuery{Vector: make([]float32, 8), Model: embedder.Model(), K: 3})
	wantCode(t, err, listinggen.EINVALID)
	// A vector needs a model name, and finite values.
	noModel := listing("t1", sh.ID, "p3", "x")
	noModel.EmbeddingModel = ""
	_, err = s.CreateListing(ctx, noModel)
	wantCode(t, err, listinggen.EINVALID)
	nan := listing("t1", sh.ID, "p4", "x")
	nan.Embedding[3] = float32(nanValue())
	_, err = s.CreateListing(ctx, nan)
	wantCode(t, err, listinggen.EINVALID)
	// The database itself refuses a mismatch that skips the store's check.
	_, err = s.pool.Exec(ctx, `UPDATE listings SET embedding = '[1,2,3]', embedding_dims = 3`)
	if err == nil {
		t.Error("database accepted a 3-dimensional vector for a 256-dimensional model")
	}

	var dims int
	var index string
	if err := s.pool.QueryRow(ctx, `SELECT dims, index_name FROM embedding_models WHERE model = $1`, embedder.Model()).Scan(&dims, &index); err != nil {
		t.Fatal(err)
	}
	var def string
	if err := s.pool.QueryRow(ctx, `SELECT indexdef FROM pg_indexes WHERE indexname = $1`, index).Scan(&def); err != nil {
		t.Fatalf("index %q of the model: %v", index, err)
	}
	if dims != 256 || !strings.Contains(def, "hnsw") || !strings.Contains(def, "halfvec(256)") || !strings.Contains(def, embedder.Model()) {
		t.Errorf("model recorded with %d dims, index %s", dims, def)
	}
}

func nanValue() float64 { z := 0.0; return z / z }

// TestConcurrentFirstUseOfAModel: many writers seeing a new model at once
// record it once and build one index.
func TestConcurrentFirstUseOfAModel(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	s := openStore(t, cfg)
	other := openStore(t, cfg) // a second process, with its own cache
	sh := mustShop(t, s, "t1", "")
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := listing("t1", sh.ID, fmt.Sprint("p", i), fmt.Sprint("商品", i))
			l.EmbeddingModel = "new-model"
			st := s
			if i%2 == 1 {
				st = other
			}
			_, errs[i] = st.CreateListing(ctx, l)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	var models, indexes int
	s.pool.QueryRow(ctx, `SELECT count(*) FROM embedding_models`).Scan(&models)
	s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE tablename = 'listings' AND indexdef LIKE '%hnsw%'`).Scan(&indexes)
	if models != 1 || indexes != 1 {
		t.Fatalf("%d models and %d HNSW indexes after concurrent first use, want 1 and 1", models, indexes)
	}
}

// TestSimilarSwitch exercises both sides of ExactScanMaxRows on realistic
// titles: scopes up to the threshold are scanned exactly, larger ones go
// through HNSW with their filter, including a shop holding 5% of the
// tenant's rows and a group. Every query returns min(K, rows in scope) rows
// without needing the exact fallback, in scope, correctly scored, sorted,
// and with recall@K ≥ 0.9 against an exact scan done here.
func TestSimilarSwitch(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.ExactScanMaxRows = 50
	cfg.VectorCacheBytes = 0 // this test is about the SQL paths
	s := openStore(t, cfg)
	type shop struct {
		sh   *listinggen.Shop
		size int
	}
	tiny, edge, mid := &shop{mustShop(t, s, "t1", "g1"), 30}, &shop{mustShop(t, s, "t1", ""), 50}, &shop{mustShop(t, s, "t1", "g1"), 75}
	big, misc := &shop{mustShop(t, s, "t1", "g2"), 900}, &shop{mustShop(t, s, "t1", ""), 445}
	// Another tenant's rows share the index; they must never appear.
	other := &shop{mustShop(t, s, "t2", "g1"), 300}
	all := []*shop{tiny, edge, mid, big, misc, other}

	type row struct{ id, shop string }
	var rows []row
	vectors := map[string][]float32{}
	var mu sync.Mutex
	titles := storetest.Titles(7, 1800)
	var wg sync.WaitGroup
	next := 0
	for _, sh := range all {
		part := titles[next : next+sh.size]
		next += sh.size
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, title := range part {
				l := listing(sh.sh.TenantID, sh.sh.ID, fmt.Sprint(i), title)
				if _, err := s.CreateListing(ctx, l); err != nil {
					t.Error(err) // not Fatal: this is not the test's goroutine
					return
				}
				mu.Lock()
				rows = append(rows, row{l.ID, sh.sh.ID})
				vectors[l.ID] = l.Embedding
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	in := func(shops ...*shop) func(string) bool {
		return func(id string) bool {
			for _, sh := range shops {
				if sh.sh.ID == id {
					return true
				}
			}
			return false
		}
	}
	cases := []struct {
		name    string
		q       listinggen.SimilarQuery
		inScope func(string) bool
		viaHNSW bool
	}{
		{"tiny shop: exact", listinggen.SimilarQuery{ShopID: tiny.sh.ID, K: 10}, in(tiny), false},
		{"tiny shop, K above its size: exact", listinggen.SimilarQuery{ShopID: tiny.sh.ID, K: 40}, in(tiny), false},
		{"shop at the threshold: exact", listinggen.SimilarQuery{ShopID: edge.sh.ID, K: 10}, in(edge), false},
		{"5% shop: HNSW with filter", listinggen.SimilarQuery{ShopID: mid.sh.ID, K: 10}, in(mid), true},
		{"5% shop, K above its size: HNSW then exact", listinggen.SimilarQuery{ShopID: mid.sh.ID, K: 100}, in(mid), true},
		{"big shop: HNSW", listinggen.SimilarQuery{ShopID: big.sh.ID, K: 10}, in(big), true},
		{"big shop, K above ef_search: HNSW", listinggen.SimilarQuery{ShopID: big.sh.ID, K: 150}, in(big), true},
		{"group: HNSW", listinggen.SimilarQuery{Group: "g1", K: 10}, in(tiny, mid), true},
		{"tenant: HNSW", listinggen.SimilarQuery{K: 10}, in(tiny, edge, mid, big, misc), true},
		{"empty group", listinggen.SimilarQuery{Group: "none", K: 10}, in(), false},
		{"unknown shop", listinggen.SimilarQuery{ShopID: "none", K: 10}, in(), false},
	}
	queries := storetest.Titles(8, 10)
	for _, c := range cases {
		var found, wanted int
		for qi, title := range queries {
			q := c.q
			q.Vector, q.Model = embedder.Vector(title), embedder.Model()
			var exact []float64
			for _, r := range rows {
				if c.inScope(r.shop) {
					exact = append(exact, listinggen.Cosine(q.Vector, vectors[r.id]))
				}
			}
			sort.Sort(sort.Reverse(sort.Float64Slice(exact)))
			want := min(q.K, len(exact))
			before := s.searches.approximate.Load()
			hits, err := s.SimilarListings(ctx, "t1", q)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if used := s.searches.approximate.Load() > before; used != c.viaHNSW {
				t.Errorf("%s: HNSW used = %v, want %v", c.name, used, c.viaHNSW)
			}
			if len(hits) != want {
				t.Errorf("%s, query %d: %d hits, want %d", c.name, qi, len(hits), want)
			}
			wanted += want
			for i, h := range hits {
				score := listinggen.Cosine(q.Vector, vectors[h.ListingID])
				switch {
				case !c.inScope(h.ShopID):
					t.Errorf("%s: hit in shop %s is out of scope", c.name, h.ShopID)
				case h.Score-score > 1e-5 || score-h.Score > 1e-5:
					t.Errorf("%s: score %v, exact %v", c.name, h.Score, score)
				case i > 0 && h.Score > hits[i-1].Score:
					t.Errorf("%s: not sorted by score: %+v", c.name, hits)
				case score >= exact[want-1]-1e-6:
					found++
				}
			}
		}
		if wanted > 0 && float64(found)/float64(wanted) < 0.9 {
			t.Errorf("%s: recall@K %.3f, want ≥ 0.9", c.name, float64(found)/float64(wanted))
		}
	}
	// Only "K above the shop's size" may fall back: HNSW cannot return more
	// rows than the shop has, and min(K, rows) is then every row.
	if n := s.searches.fallback.Load(); n > int64(len(queries)) {
		t.Errorf("%d HNSW queries fell back to an exact scan, want at most %d", n, len(queries))
	}
}

// TestQueryPlans checks with EXPLAIN, on generic plans (what a statement
// cached by pgx may get after five runs), that the exact query cannot use
// an HNSW index and that the approximate one does, in every scope.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	s := openStore(t, testConfig(t))
	sh := mustShop(t, s, "t1", "g")
	for i, title := range storetest.Titles(3, 200) {
		mustCreate(t, s, listing("t1", sh.ID, fmt.Sprint(i), title))
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE listings`); err != nil {
		t.Fatal(err)
	}
	m, _, err := s.lookupModel(ctx, embedder.Model())
	if err != nil {
		t.Fatal(err)
	}
	explain := func(approximate bool, q string, args []any) string {
		var plan []string
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if approximate {
				set, setArgs := searchSettings(100, 20000)
				if _, err := tx.Exec(ctx, set, setArgs...); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
				return err
			}
			// EXECUTE takes no bind parameters: pass the values as literals.
			var types, params []string
			for _, a := range args {
				switch a := a.(type) {
				case string:
					types, params = append(types, "text"), append(params, quoteLiteral(a))
				case int:
					types, params = append(types, "integer"), append(params, fmt.Sprint(a))
				case pgvector.Vector:
					types, params = append(types, "vector"), append(params, quoteLiteral(a.String()))
				default:
					return fmt.Errorf("no SQL type for %T", a)
				}
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf("PREPARE plan_test (%s) AS %s", strings.Join(types, ", "), q)); err != nil {
				return err
			}
			defer tx.Exec(ctx, "DEALLOCATE plan_test")
			rows, err := tx.Query(ctx, fmt.Sprintf("EXPLAIN EXECUTE plan_test (%s)", strings.Join(params, ", ")))
			if err != nil {
				return err
			}
			plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(plan, "\n")
	}
	for _, sc := range []scope{{shop: sh.ID}, {group: "g"}, {}} {
		sc.tenantID, sc.model, sc.k, sc.vector = "t1", m, 10, pgvector.NewVector(embedder.Vector("连衣裙"))
		name := fmt.Sprintf("shop %q group %q", sc.shop, sc.group)
		q, args := sc.exactQuery()
		if plan := explain(false, q, args); strings.Contains(plan, m.index) {
			t.Errorf("%s: exact query uses the HNSW index:\n%s", name, plan)
		}
		q, args = sc.approximateQuery()
		if plan := explain(true, q, args); !strings.Contains(plan, m.index) {
			t.Errorf("%s: approximate query does not use the HNSW index %s:\n%s", name, m.index, plan)
		}
	}
}

// TestWideModels: past 2000 dimensions the index is on halfvec (HNSW's
// limit for vector), past 4000 there is none and queries are exact.
func TestWideModels(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.ExactScanMaxRows = 0
	cfg.VectorCacheBytes = 0 // this test is about the SQL paths
	s := openStore(t, cfg)
	sh := mustShop(t, s, "t1", "")
	for _, dims := range []int{3072, 5000} {
		model := fmt.Sprintf("wide-%d", dims)
		var first *listinggen.Listing
		for i := range 20 {
			l := listing("t1", sh.ID, fmt.Sprint(model, i), "x")
			l.EmbeddingModel = model
			l.Embedding = make([]float32, dims)
			for j := range l.Embedding {
				l.Embedding[j] = float32((i*31+j*17)%23) - 11
			}
			mustCreate(t, s, l)
			if first == nil {
				first = l
			}
		}
		before := s.searches.approximate.Load()
		hits, err := s.SimilarListings(ctx, "t1", listinggen.SimilarQuery{ShopID: sh.ID, Vector: first.Embedding, Model: model, K: 5})
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		if len(hits) != 5 || hits[0].ListingID != first.ID || hits[0].Score < 0.9999 {
			t.Errorf("%s: hits %+v, want %s first with score 1", model, hits, first.ID)
		}
		if used, want := s.searches.approximate.Load() > before, dims <= maxHalfvecHNSW; used != want {
			t.Errorf("%s: HNSW used = %v, want %v", model, used, want)
		}
		m, _, _ := s.lookupModel(ctx, model)
		var def string
		s.pool.QueryRow(ctx, `SELECT indexdef FROM pg_indexes WHERE indexname = $1`, m.index).Scan(&def)
		if (dims <= maxHalfvecHNSW) != strings.Contains(def, "halfvec(3072)") {
			t.Errorf("%s: index %q (%s)", model, m.index, def)
		}
	}
}

// TestZeroVectorScoresZero: cosine distance to a zero vector is NaN in
// pgvector; the store reports 0, like listinggen.Cosine, and JSON can
// encode it.
func TestZeroVectorScoresZero(t *testing.T) {
	t.Parallel()
	s := openStore(t, testConfig(t))
	sh := mustShop(t, s, "t1", "")
	z := listing("t1", sh.ID, "z", "x")
	z.Embedding = make([]float32, len(z.Embedding))
	mustCreate(t, s, z)
	mustCreate(t, s, listing("t1", sh.ID, "a", "保温杯"))
	hits, err := s.SimilarListings(ctx, "t1", listinggen.SimilarQuery{ShopID: sh.ID, Vector: embedder.Vector("保温杯"), Model: embedder.Model(), K: 5})
	if err != nil || len(hits) != 2 {
		t.Fatalf("hits %+v, %v", hits, err)
	}
	if hits[1].ListingID != z.ID || hits[1].Score != 0 {
		t.Errorf("zero vector hit %+v, want score 0 and last", hits[1])
	}
}

// TestSourceAttributesKeepOrder: jsonb would sort the attribute names and
// merge duplicates; the supplier's order must come back as written.
func TestSourceAttributesKeepOrder(t *testing.T) {
	t.Parallel()
	s := openStore(t, testConfig(t))
	sh := mustShop(t, s, "t1", "")
	l := listing("t1", sh.ID, "p1", "连衣裙")
	l.Source.Attributes = listinggen.Attributes{
		{Name: "颜色", Values: []string{"白色", "黑色"}}, {Name: "材质", Values: []string{"聚酯纤维"}},
		{Name: "尺码", Values: []string{"S", "M"}}, {Name: "a", Values: []string{"1"}}, {Name: "颜色", Values: []string{"红色"}},
	}
	mustCreate(t, s, l)
	got, err := s.FindListing(ctx, "t1", l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Source.Attributes) != fmt.Sprint(l.Source.Attributes) {
		t.Fatalf("attributes = %v, want %v", got.Source.Attributes, l.Source.Attributes)
	}
	got.Source.Attributes = got.Source.Attributes[:2]
	if err := s.UpdateListing(ctx, got); err != nil {
		t.Fatal(err)
	}
	again, _ := s.FindListing(ctx, "t1", l.ID)
	if fmt.Sprint(again.Source.Attributes) != fmt.Sprint(l.Source.Attributes[:2]) {
		t.Fatalf("after update attributes = %v", again.Source.Attributes)
	}
	if !again.CreatedAt.Equal(l.CreatedAt) || again.Version != 2 {
		t.Errorf("after update CreatedAt %v (want %v), version %d", again.CreatedAt, l.CreatedAt, again.Version)
	}
}

// TestCancelledContext: a cancelled request gets the context error back,
// so callers can tell it from a database fault.
func TestCancelledContext(t *testing.T) {
	t.Parallel()
	s := openStore(t, testConfig(t))
	c, cancel := context.WithCancel(ctx)
	cancel()
	_, err := s.FindShop(c, "t1", "x")
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("FindShop on a cancelled context: %v", err)
	}
}

// TestListingWithoutEmbedding: a listing not embedded yet stores no vector
// and no dimension, reads back without one, and is never a similarity hit.
func TestListingWithoutEmbedding(t *testing.T) {
	t.Parallel()
	s := openStore(t, testConfig(t))
	sh := mustShop(t, s, "t1", "")
	bare := listing("t1", sh.ID, "bare", "保温杯")
	bare.Embedding, bare.EmbeddingModel = nil, ""
	mustCreate(t, s, bare)
	with := mustCreate(t, s, listing("t1", sh.ID, "with", "保温杯"))
	got, err := s.FindListing(ctx, "t1", bare.ID)
	if err != nil || got.Embedding != nil || got.EmbeddingModel != "" {
		t.Fatalf("FindListing = %+v, %v; want no embedding", got, err)
	}
	hits, err := s.SimilarListings(ctx, "t1", listinggen.SimilarQuery{ShopID: sh.ID, Vector: with.Embedding, Model: embedder.Model(), K: 5})
	if err != nil || len(hits) != 1 || hits[0].ListingID != with.ID {
		t.Fatalf("hits = %+v, %v; want only %s", hits, err, with.ID)
	}
	// Embedding it later goes through the same model check.
	got.Embedding, got.EmbeddingModel = with.Embedding, embedder.Model()
	if err := s.UpdateListing(ctx, got); err != nil {
		t.Fatal(err)
	}
	hits, _ = s.SimilarListings(ctx, "t1", listinggen.SimilarQuery{ShopID: sh.ID, Vector: with.Embedding, Model: embedder.Model(), K: 5})
	if len(hits) != 2 {
		t.Fatalf("after embedding, hits = %+v, want 2", hits)
	}
}
