package postgres

import (
	"fmt"
	"testing"

	"github.com/pgvector/pgvector-go"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/storetest"
)

// TestConformanceWithoutVectorCache runs the shared suite with shop and
// group queries answered in SQL, the path a tenant too large for the cache
// takes.
func TestConformanceWithoutVectorCache(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) listinggen.Store {
		cfg := testConfig(t)
		cfg.VectorCacheBytes = 0
		return openStore(t, cfg)
	})
}

// Two stores on one database are two processes. The reader's cache must
// see every write committed before its query started, including one made
// by a transaction that began before the reader's previous look and
// committed after it: the case a "greater than the last seen" counter
// would miss.
func TestVectorCacheSeesOtherProcessesWrites(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	writer, reader := openStore(t, cfg), openStore(t, cfg)
	sh := mustShop(t, writer, "t1", "g")
	other := mustShop(t, writer, "t1", "g")
	titles := storetest.Titles(11, 60)
	var ls []*listinggen.Listing
	for i, title := range titles[:50] {
		ls = append(ls, mustCreate(t, writer, listing("t1", sh.ID, fmt.Sprint(i), title)))
	}
	top := func(scope listinggen.SimilarQuery, title string) listinggen.SimilarListing {
		t.Helper()
		scope.Vector, scope.Model, scope.K = embedder.Vector(title), embedder.Model(), 3
		before := reader.searches.cached.Load()
		hits, err := reader.SimilarListings(ctx, "t1", scope)
		if err != nil {
			t.Fatal(err)
		}
		if reader.searches.cached.Load() != before+1 {
			t.Fatalf("query %+v was not answered from the cache", scope)
		}
		if len(hits) == 0 {
			return listinggen.SimilarListing{}
		}
		return hits[0]
	}
	shopQ := listinggen.SimilarQuery{ShopID: sh.ID}
	if h := top(shopQ, titles[7]); h.ListingID != ls[7].ID || h.Score < 0.9999 {
		t.Fatalf("loaded cache: top hit %+v, want %s", h, ls[7].ID)
	}

	// A write by the other process, committed before the query.
	fresh := mustCreate(t, writer, listing("t1", other.ID, "new", titles[55]))
	if h := top(listinggen.SimilarQuery{Group: "g"}, titles[55]); h.ListingID != fresh.ID {
		t.Fatalf("a committed insert is missing: top hit %+v, want %s", h, fresh.ID)
	}

	// A slow transaction: it changes listing 3's vector to titles[58]'s,
	// the reader looks (and must not see it), a quicker transaction
	// commits and the reader looks again, then the slow one commits.
	slow, err := writer.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx)
	if _, err := slow.Exec(ctx, `UPDATE listings SET embedding = $1 WHERE id = $2`, pgvector.NewVector(embedder.Vector(titles[58])), ls[3].ID); err != nil {
		t.Fatal(err)
	}
	if h := top(shopQ, titles[58]); h.ListingID == ls[3].ID {
		t.Fatalf("an uncommitted change is visible: %+v", h)
	}
	quick := mustCreate(t, writer, listing("t1", sh.ID, "quick", titles[56]))
	if h := top(shopQ, titles[56]); h.ListingID != quick.ID {
		t.Fatalf("the quick insert is missing: top hit %+v", h)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if h := top(shopQ, titles[58]); h.ListingID != ls[3].ID || h.Score < 0.9999 {
		t.Fatalf("the slow transaction's change is missing: top hit %+v, want %s", h, ls[3].ID)
	}

	// A listing that loses its vector leaves the cache.
	if _, err := writer.pool.Exec(ctx, `UPDATE listings SET embedding = NULL, embedding_dims = NULL, embedding_model = '' WHERE id = $1`, ls[7].ID); err != nil {
		t.Fatal(err)
	}
	if h := top(shopQ, titles[7]); h.ListingID == ls[7].ID {
		t.Fatalf("a listing without a vector is still found: %+v", h)
	}
}

// A tenant whose vectors exceed the cap is searched in SQL, with the same
// answers.
func TestVectorCacheCapFallsBackToSQL(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.VectorCacheBytes = 16 << 10 // about 30 vectors of 256 dimensions
	s := openStore(t, cfg)
	sh := mustShop(t, s, "t1", "")
	titles := storetest.Titles(12, 80)
	var ls []*listinggen.Listing
	for i, title := range titles {
		ls = append(ls, mustCreate(t, s, listing("t1", sh.ID, fmt.Sprint(i), title)))
	}
	hits, err := s.SimilarListings(ctx, "t1", listinggen.SimilarQuery{ShopID: sh.ID, Vector: embedder.Vector(titles[40]), Model: embedder.Model(), K: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 5 || hits[0].ListingID != ls[40].ID || s.searches.cached.Load() != 0 || s.searches.exact.Load() != 1 {
		t.Fatalf("hits %+v, cached %d, exact %d", hits, s.searches.cached.Load(), s.searches.exact.Load())
	}
}
