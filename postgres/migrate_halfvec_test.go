package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
)

// TestMigrationRebuildsVectorIndexAsHalfvec makes a database look as the
// stores before migration 0013 left it (a model whose HNSW index is over
// vector(8), under the old name, with its own m and ef_construction) and
// migrates again: the model's index is now the halfvec one with the same
// options under the new name, the old one is gone, and a tenant query walks
// the new index and finds the rows.
func TestMigrationRebuildsVectorIndexAsHalfvec(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.ExactScanMaxRows, cfg.VectorCacheBytes = 5, 0
	s := openStore(t, cfg)
	sh := mustShop(t, s, "t1", "")
	var first *listinggen.Listing
	for i := range 20 {
		l := listing("t1", sh.ID, fmt.Sprintf("p%d", i), fmt.Sprintf("title %d", i))
		l.EmbeddingModel = "old-model"
		l.Embedding = []float32{float32(i), 1, 2, 3, float32(i % 3), 5, 6, float32(20 - i)}
		mustCreate(t, s, l)
		if first == nil {
			first = l
		}
	}
	m, _, err := s.lookupModel(ctx, "old-model")
	if err != nil {
		t.Fatal(err)
	}
	oldName := strings.Replace(m.index, "listings_hnswh_", "listings_hnsw_", 1)
	version := migrationVersion(t, "0013_halfvec_hnsw.sql")
	for _, sql := range []string{
		`DROP INDEX ` + m.index,
		`CREATE INDEX ` + oldName + ` ON listings USING hnsw ((embedding::vector(8)) vector_cosine_ops) WITH (m = 12, ef_construction = 40) WHERE embedding_model = 'old-model'`,
		`UPDATE embedding_models SET index_name = '` + oldName + `' WHERE model = 'old-model'`,
		fmt.Sprintf(`DELETE FROM schema_migrations WHERE version >= %d`, version),
	} {
		if _, err := s.pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var index, def string
	if err := s.pool.QueryRow(ctx, `SELECT index_name, coalesce(pg_get_indexdef(to_regclass(index_name)), '') FROM embedding_models WHERE model = 'old-model'`).Scan(&index, &def); err != nil {
		t.Fatal(err)
	}
	if index != m.index || !strings.Contains(def, "halfvec(8)") || !strings.Contains(def, "halfvec_cosine_ops") ||
		!strings.Contains(def, "m='12'") || !strings.Contains(def, "ef_construction='40'") || !strings.Contains(def, "'old-model'") {
		t.Fatalf("model's index after the migration: %s (%s)", index, def)
	}
	var old *string
	s.pool.QueryRow(ctx, `SELECT to_regclass($1)::text`, oldName).Scan(&old)
	if old != nil {
		t.Errorf("old index %s is still there", oldName)
	}
	fresh := openStore(t, cfg) // a store that has not cached the model
	before := fresh.searches.approximate.Load()
	hits, err := fresh.SimilarListings(ctx, "t1", listinggen.SimilarQuery{Vector: first.Embedding, Model: "old-model", K: 3})
	if err != nil || len(hits) != 3 || hits[0].ListingID != first.ID {
		t.Fatalf("hits %+v, %v; want %s first", hits, err, first.ID)
	}
	if fresh.searches.approximate.Load() == before {
		t.Error("the tenant query did not walk the index")
	}
}

// migrationVersion is the version Migrate records for the named file: its
// position in the sorted list, from 1.
func migrationVersion(t *testing.T, name string) int {
	for i, f := range migrationFiles() {
		if strings.HasSuffix(f, "/"+name) {
			return i + 1
		}
	}
	t.Fatalf("no migration %s", name)
	return 0
}
