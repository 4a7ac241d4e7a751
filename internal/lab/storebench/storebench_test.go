package storebench

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/postgres"
)

// TestDedupBench is make bench's dedup section (scripts/bench.sh). It runs
// only with DEDUP_BENCH=1, so that go test ./... passes by quickly:
//
//	DEDUP_BENCH=1 go test -run '^TestDedupBench$' -count=1 -timeout 90m -v ./storebench
//
// DEDUP_BENCH_N (default 100000), DEDUP_BENCH_QUERIES (500) and
// DEDUP_BENCH_WORKERS (4) size it; PostgreSQL is measured on a scratch
// database created on DEDUP_BENCH_PG_URL, else TEST_DATABASE_URL's server,
// and skipped when DEDUP_BENCH_PG_URL is "off"; DEDUP_BENCH_SQLITE=off
// skips SQLite, DEDUP_BENCH_KEEP_DB=1 keeps the PostgreSQL database (to
// EXPLAIN its queries; its name is logged).
//
// At DEDUP_BENCH_N=1000000 (make bench-large) PostgreSQL gets its first
// 100000 listings through CreateListing as timed, the rest in a bulk load
// with the HNSW index built once afterwards. The loads and the HNSW build
// take most of the run, and the queries (mostly the Go exact scan behind
// each tenant query) the rest at the default DEDUP_BENCH_QUERIES, which is
// why it keeps its default there.
func TestDedupBench(t *testing.T) {
	if os.Getenv("DEDUP_BENCH") != "1" {
		t.Skip("set DEDUP_BENCH=1 to run the dedup benchmark (minutes); scripts/bench.sh does")
	}
	c := DefaultConfig()
	c.Dir = t.TempDir()
	c.Log = os.Stderr
	for env, dst := range map[string]*int{"DEDUP_BENCH_N": &c.N, "DEDUP_BENCH_QUERIES": &c.Queries, "DEDUP_BENCH_WORKERS": &c.Workers} {
		if v := os.Getenv(env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s=%q: %v", env, v, err)
			}
			*dst = n
		}
	}
	c.ShopRows = min(c.ShopRows, c.N)
	c.KeepDatabase = os.Getenv("DEDUP_BENCH_KEEP_DB") == "1"
	c.SkipSQLite = os.Getenv("DEDUP_BENCH_SQLITE") == "off"
	switch u := os.Getenv("DEDUP_BENCH_PG_URL"); u {
	case "off":
	case "":
		c.PostgresURL = os.Getenv("TEST_DATABASE_URL")
	default:
		c.PostgresURL = u
	}
	if c.PostgresURL == "" {
		t.Log("no PostgreSQL (DEDUP_BENCH_PG_URL, TEST_DATABASE_URL): SQLite only")
	}
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	r.Write(os.Stdout)
}

// TestRunSmall runs the whole benchmark on a small catalogue, so that the
// code behind make bench is tested by make test; with TEST_DATABASE_URL it
// includes PostgreSQL. Both stores answer exactly at this size (SQLite
// always; PostgreSQL below ExactScanMaxRows in the variant that says so),
// so their recall must be 1.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts a few thousand listings")
	}
	c := DefaultConfig()
	c.N, c.ShopRows, c.OtherShopRows, c.Queries, c.Warmup = 3000, 800, 300, 20, 2
	c.SQLiteRowSample, c.SQLiteBatch, c.SQLiteSQLScanQueries = 50, 500, 4
	c.Dir = t.TempDir()
	c.PostgresURL = os.Getenv("TEST_DATABASE_URL")
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range r.Latency {
		if l.Queries == 0 || l.P50 <= 0 || l.P99 < l.P50 || l.BaseP50 <= 0 {
			t.Errorf("latency row %+v is incomplete", l)
		}
		exact := l.Store == "sqlite" || l.Store == "sqlite cache off" || l.Store == "postgres exact≤20k"
		if exact && (l.Recall != 1 || l.Short != 0) {
			t.Errorf("%s %s: recall %.4f, %d short answers; want 1 and 0 from an exact scan", l.Store, l.Scope, l.Recall, l.Short)
		}
	}
	wantRows := 2 * 3 // scopes × (baseline, sqlite, sqlite cache off)
	if c.PostgresURL != "" {
		wantRows += 2 * len(DefaultVariants())
		if len(r.Builds) != len(DefaultBuildMemory()) {
			t.Errorf("want %d HNSW build rows, got %+v", len(DefaultBuildMemory()), r.Builds)
		}
	}
	if len(r.Latency) != wantRows || len(r.Inserts) < 2 {
		t.Errorf("report has %d latency rows (want %d) and %d insert rows", len(r.Latency), wantRows, len(r.Inserts))
	}
	var out testWriter
	r.Write(&out)
	t.Log("\n" + string(out))
}

// TestBulkLoadLeavesTheStoresIndex loads most listings with the model's
// HNSW index dropped (bulkLoad) and checks that the database ends as
// CreateListing alone would have left it: the index has the definition a
// store gives it on first sight of the model (read from a store in a
// database of its own), is valid, and holds the bulk rows (a tenant query,
// which walks it at this size, finds them); every row carries a vec_xid
// stamp; and the build row is that rebuild's time.
func TestBulkLoadLeavesTheStoresIndex(t *testing.T) {
	server := os.Getenv("TEST_DATABASE_URL")
	if server == "" {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	ctx := context.Background()
	c := DefaultConfig()
	c.N, c.ShopRows, c.OtherShopRows, c.Queries, c.Warmup = 3000, 800, 300, 2, 0
	c.PostgresRowSample, c.PostgresURL, c.Postgres, c.BuildMemory = 200, server, DefaultVariants()[:1], DefaultBuildMemory()
	d, err := generate(c)
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	p, err := c.fillPostgres(ctx, d, &r)
	if p != nil {
		defer p.close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Inserts) != 1 || r.Inserts[0].Rows != 200 || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "synchronous_commit=off") {
		t.Errorf("want one insert row of 200 listings and a note on the bulk load; got %+v, notes %q", r.Inserts, r.Notes)
	}

	indexOf := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) (def string, valid bool) {
		t.Helper()
		if err := q.QueryRow(ctx, `SELECT pg_get_indexdef(i.indexrelid), i.indisvalid FROM embedding_models m
			JOIN pg_index i ON i.indexrelid = to_regclass(m.index_name) WHERE m.model = $1`, d.model).Scan(&def, &valid); err != nil {
			t.Fatal(err)
		}
		return def, valid
	}
	got, valid := indexOf(p.pool)
	if want := storeIndex(t, server, d); got != want || !valid {
		t.Errorf("after the bulk load the index is\n  %s (valid %v)\nthe store creates\n  %s", got, valid, want)
	}
	var unstamped int
	if err := p.pool.QueryRow(ctx, `SELECT count(*) FROM listings WHERE vec_xid = '0'`).Scan(&unstamped); err != nil {
		t.Fatal(err)
	}
	if unstamped != 0 {
		t.Errorf("%d listings have no vec_xid stamp", unstamped)
	}
	if err := p.measureBuild(ctx, c, d, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Builds) != 1 || r.Builds[0].Elapsed != p.rebuilt || p.rebuilt <= 0 || !strings.Contains(r.Builds[0].What, "after the bulk load") {
		t.Errorf("want the build row to be the bulk load's rebuild (%v); got %+v", p.rebuilt, r.Builds)
	}
	for i := c.N - 20; i < c.N; i++ {
		hits, err := p.variants[0].store.SimilarListings(ctx, tenant, listinggen.SimilarQuery{Model: d.model, Vector: d.vecs[i], K: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 1 || hits[0].Score < 1-1e-6 {
			t.Errorf("tenant query for bulk-loaded listing %d: %+v, want itself (score 1)", i, hits)
		}
	}
}

// storeIndex is the definition of the HNSW index a store creates for d's
// model, read from a scratch database with one listing in it.
func storeIndex(t *testing.T, server string, d *data) string {
	t.Helper()
	ctx := context.Background()
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	name := "lg_bench_ref_" + strings.ReplaceAll(newID()[24:], "-", "")
	if err := adminExec(ctx, server, `CREATE DATABASE `+name); err != nil {
		t.Fatal(err)
	}
	defer adminExec(ctx, server, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	u.Path = "/" + name
	cfg := postgres.DefaultConfig()
	cfg.URL = u.String()
	s, err := postgres.Open(ctx, cfg, time.Now, newID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := d.createShops(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := d.insertEach(ctx, s, 0, 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var def string
	if err := conn.QueryRow(ctx, `SELECT pg_get_indexdef(to_regclass(index_name)) FROM embedding_models WHERE model = $1`, d.model).Scan(&def); err != nil {
		t.Fatal(err)
	}
	return def
}

type testWriter []byte

func (w *testWriter) Write(p []byte) (int, error) { *w = append(*w, p...); return len(p), nil }

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Config{N: 10, ShopRows: 20, Queries: 1, Workers: 0, PostgresURL: "postgres://db.example.com/x"}
	err := c.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"ShopRows", "Queries", "Workers", "Dir", "loopback"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if err := checkLoopback("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"); err != nil {
		t.Errorf("127.0.0.1 refused: %v", err)
	}
}
