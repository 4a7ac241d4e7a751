package storebench

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
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
