package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/hashembed"
	"github.com/listinggen/listinggen/internal/storetest"
	"github.com/listinggen/listinggen/internal/vectorcache"
)

var (
	bg          = context.Background()
	embedder, _ = hashembed.New(hashembed.DefaultConfig())
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func openAt(t testing.TB, path string, cacheBytes int64) *Store {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Path = path
	cfg.VectorCacheBytes = cacheBytes
	s, err := Open(bg, cfg, time.Now, newID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func shop(t testing.TB, s *Store, tenant, group string) *listinggen.Shop {
	t.Helper()
	sh := &listinggen.Shop{TenantID: tenant, Name: "店", Platform: listinggen.PlatformTaobao, Group: group}
	if err := s.CreateShop(bg, sh); err != nil {
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

func create(t testing.TB, s *Store, l *listinggen.Listing) *listinggen.Listing {
	t.Helper()
	if created, err := s.CreateListing(bg, l); err != nil || !created {
		t.Fatalf("CreateListing: created=%v, %v", created, err)
	}
	return l
}

func ids(hits []listinggen.SimilarListing) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ListingID
	}
	return out
}

// TestSimilarSeesWritesOfAnotherStore: two stores on one file, as `serve`
// and a `batch` process would be. What the second writes (a new listing,
// a new vector for an existing one, a listing moved to another model) and
// what a writer outside the store writes (plain SQL, numbered by the
// triggers) must show in the first store's next query, whose cache was
// loaded before.
func TestSimilarSeesWritesOfAnotherStore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.db")
	a := openAt(t, path, DefaultConfig().VectorCacheBytes)
	b := openAt(t, path, DefaultConfig().VectorCacheBytes)
	sh := shop(t, a, "t", "")
	query := embedder.Vector("316不锈钢保温杯大容量男女学生水杯")
	similar := func() []listinggen.SimilarListing {
		t.Helper()
		hits, err := a.SimilarListings(bg, "t", listinggen.SimilarQuery{ShopID: sh.ID, Vector: query, Model: embedder.Model(), K: 5})
		if err != nil {
			t.Fatal(err)
		}
		return hits
	}
	dress := create(t, a, listing("t", sh.ID, "p1", "法式复古碎花连衣裙女收腰显瘦"))
	if got := ids(similar()); !slices.Equal(got, []string{dress.ID}) {
		t.Fatalf("first query = %v, want [%s]", got, dress.ID)
	}

	cup := create(t, b, listing("t", sh.ID, "p2", "316不锈钢保温杯大容量男女学生水杯"))
	hits := similar()
	if got := ids(hits); !slices.Equal(got, []string{cup.ID, dress.ID}) || hits[0].Score < 0.999 {
		t.Fatalf("after the other store's insert = %+v, want %s (score 1) then %s", hits, cup.ID, dress.ID)
	}

	// The other store gives the dress the cup's vector, then moves the cup
	// to another model.
	dress.Embedding = embedder.Vector("316不锈钢保温杯大容量男女学生水杯")
	if err := b.UpdateListing(bg, dress); err != nil {
		t.Fatal(err)
	}
	cup.EmbeddingModel, cup.Embedding = "other-model", []float32{1, 0, 0}
	if err := b.UpdateListing(bg, cup); err != nil {
		t.Fatal(err)
	}
	hits = similar()
	if got := ids(hits); !slices.Equal(got, []string{dress.ID}) || hits[0].Score < 0.999 {
		t.Fatalf("after the other store's updates = %+v, want only %s with score 1", hits, dress.ID)
	}

	// A writer that knows nothing of change_seq.
	raw, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO listings (tenant_id, id, shop_id, product_id, product_hash, platform, status, verdict,
		idempotency_key, body, embedding, embedding_model, version, created_at, updated_at)
		VALUES ('t', 'raw-1', ?, 'p3', 'h', 'taobao', 'draft', 'unique', 'raw-key', '{}', ?, ?, 1, '', '')`,
		sh.ID, encodeVector(query), embedder.Model()); err != nil {
		t.Fatal(err)
	}
	if got := ids(similar()); !slices.Contains(got, "raw-1") {
		t.Fatalf("after a raw SQL insert = %v, want raw-1 among them", got)
	}
	if _, err := raw.Exec(`UPDATE listings SET embedding = NULL WHERE id = 'raw-1'`); err != nil {
		t.Fatal(err)
	}
	if got := ids(similar()); slices.Contains(got, "raw-1") {
		t.Fatalf("after a raw SQL update dropped its vector = %v, want no raw-1", got)
	}
}

// TestCachedSearchMatchesSQLScan compares the cache with the SQL scan on
// data with every awkward case: several tenants, models, shops and groups,
// vectors of another length, zero vectors, exact duplicates, exclusions,
// updates, and K above the scope's size.
func TestCachedSearchMatchesSQLScan(t *testing.T) {
	t.Parallel()
	s := openAt(t, filepath.Join(t.TempDir(), "test.db"), DefaultConfig().VectorCacheBytes)
	rng := rand.New(rand.NewPCG(1, 2))
	titles := storetest.Titles(7, 300)
	var shops []*listinggen.Shop
	for i := range 6 {
		shops = append(shops, shop(t, s, []string{"t1", "t2"}[i%2], []string{"g1", "g2", ""}[i%3]))
	}
	var all []*listinggen.Listing
	for i := range 600 {
		sh := shops[rng.IntN(len(shops))]
		l := listing(sh.TenantID, sh.ID, fmt.Sprintf("p%d", i), titles[rng.IntN(len(titles))])
		switch rng.IntN(20) {
		case 0:
			l.Embedding = make([]float32, len(l.Embedding)) // zero vector
		case 1:
			l.Embedding = l.Embedding[:100] // another length, same model
		case 2:
			l.EmbeddingModel = "other"
		case 3:
			l.Embedding = nil
		}
		all = append(all, l)
	}
	for lo := 0; lo < len(all); lo += 100 {
		if _, err := s.CreateListings(bg, all[lo:lo+100]); err != nil {
			t.Fatal(err)
		}
	}
	check := func(stage string) {
		t.Helper()
		for i := range 120 {
			q := listinggen.SimilarQuery{Model: embedder.Model(), K: []int{1, 5, 10, 1000}[i%4], Vector: embedder.Vector(titles[rng.IntN(len(titles))])}
			tenant := []string{"t1", "t2"}[i%2]
			switch i % 5 {
			case 0:
				q.ShopID = shops[rng.IntN(len(shops))].ID
			case 1:
				q.Group = []string{"g1", "g2", "none"}[rng.IntN(3)]
			case 2:
				q.ExcludeID = all[rng.IntN(len(all))].ID
			case 3:
				q.Vector = q.Vector[:100]
			}
			if i%17 == 0 {
				q.Vector = make([]float32, len(q.Vector))
			}
			got, err := s.SimilarListings(bg, tenant, q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := s.similarSQL(bg, tenant, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s: query %d: %d hits, SQL scan %d", stage, i, len(got), len(want))
			}
			// Same scores in the same order; the SQL scan breaks ties in
			// any order, the cache by id.
			for j := range got {
				if math.Abs(got[j].Score-want[j].Score) > 1e-12 {
					t.Fatalf("%s: query %d: hit %d score %v, SQL scan %v\ngot  %+v\nwant %+v", stage, i, j, got[j].Score, want[j].Score, got, want)
				}
				if j > 0 && got[j].Score == got[j-1].Score && got[j].ListingID < got[j-1].ListingID {
					t.Fatalf("%s: query %d: ties not in id order: %+v", stage, i, got)
				}
			}
			byScore := func(h []listinggen.SimilarListing) map[string]float64 {
				m := map[string]float64{}
				for _, x := range h {
					m[x.ListingID+"@"+x.ShopID] = x.Score
				}
				return m
			}
			if len(want) == 0 {
				continue
			}
			wm := byScore(want)
			last := want[len(want)-1].Score
			for key, score := range byScore(got) {
				if _, ok := wm[key]; !ok && score > last+1e-12 {
					t.Fatalf("%s: query %d: hit %s (%v) not in the SQL scan's answer %+v", stage, i, key, score, want)
				}
			}
		}
	}
	check("after inserts")
	for i := range 150 {
		l := all[rng.IntN(len(all))]
		switch i % 4 {
		case 0:
			l.Embedding = embedder.Vector(titles[rng.IntN(len(titles))])
			l.EmbeddingModel = embedder.Model()
		case 1:
			l.Embedding = nil
		case 2:
			l.EmbeddingModel = "other"
		case 3:
			l.Embedding = l.Embedding[:min(len(l.Embedding), 50)]
		}
		if err := s.UpdateListing(bg, l); err != nil {
			t.Fatal(err)
		}
	}
	check("after updates")
}

// TestVectorCacheCap: sets that do not fit together evict each other, a
// set that does not fit alone is answered through SQL, and both answer
// as the SQL scan does.
func TestVectorCacheCap(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "test.db")
	// 256 dimensions: about 300 bytes a row and room for a part-filled
	// chunk; 100 rows fit, 300 do not.
	s := openAt(t, path, 80<<10)
	small, big := shop(t, s, "small", ""), shop(t, s, "big", "")
	titles := storetest.Titles(3, 300)
	for i, title := range titles {
		if i < 100 {
			create(t, s, listing("small", small.ID, fmt.Sprint(i), title))
		}
		create(t, s, listing("big", big.ID, fmt.Sprint(i), title))
	}
	for round := range 3 {
		for _, tenant := range []string{"small", "big"} {
			q := listinggen.SimilarQuery{Vector: embedder.Vector(titles[round]), Model: embedder.Model(), K: 3}
			got, err := s.SimilarListings(bg, tenant, q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := s.similarSQL(bg, tenant, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || math.Abs(got[0].Score-want[0].Score) > 1e-12 || math.Abs(got[2].Score-want[2].Score) > 1e-12 {
				t.Fatalf("%s: got %+v, want %+v", tenant, got, want)
			}
		}
	}
	if st := s.vectors.Stats(); st.Used > st.MaxBytes {
		t.Errorf("cache holds %d bytes, cap %d", st.Used, st.MaxBytes)
	}
	if _, oversize := s.vectors.State(vectorcache.Key{Tenant: "big", Model: embedder.Model()}); !oversize {
		t.Errorf("the 300-row set should be marked oversize")
	}
	if loaded, _ := s.vectors.State(vectorcache.Key{Tenant: "small", Model: embedder.Model()}); !loaded {
		t.Errorf("the 100-row set should be cached")
	}
}

// TestSimilarReadsOwnWritesConcurrently: with writers and queries running
// at once (under -race in make test), a query that starts after a
// listing's CreateListing returned always finds it.
func TestSimilarReadsOwnWritesConcurrently(t *testing.T) {
	t.Parallel()
	s := openAt(t, filepath.Join(t.TempDir(), "test.db"), DefaultConfig().VectorCacheBytes)
	sh := shop(t, s, "t", "")
	titles := storetest.Titles(11, 200)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(titles); i += 4 {
				l := listing("t", sh.ID, fmt.Sprint(i), titles[i])
				if _, err := s.CreateListing(bg, l); err != nil {
					t.Error(err)
					return
				}
				hits, err := s.SimilarListings(bg, "t", listinggen.SimilarQuery{Vector: l.Embedding, Model: embedder.Model(), K: 50})
				if err != nil {
					t.Error(err)
					return
				}
				found := false
				for _, h := range hits {
					found = found || h.ListingID == l.ID
				}
				if !found && hits[len(hits)-1].Score < 0.9999 {
					t.Errorf("listing %s not found right after it was created: %+v", l.ID, hits)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCreateListings(t *testing.T) {
	t.Parallel()
	s := openAt(t, filepath.Join(t.TempDir(), "test.db"), DefaultConfig().VectorCacheBytes)
	sh := shop(t, s, "t", "")
	first := create(t, s, listing("t", sh.ID, "p0", "保温杯"))
	batch := []*listinggen.Listing{
		listing("t", sh.ID, "p1", "连衣裙"),
		listing("t", sh.ID, "p0", "保温杯 again"), // the key of first
		listing("t", sh.ID, "p1", "连衣裙 twice"), // the key of batch[0]
	}
	created, err := s.CreateListings(bg, batch)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(created, []bool{true, false, false}) || batch[1].ID != first.ID || batch[2].ID != batch[0].ID ||
		batch[0].Version != 1 || batch[0].ID == "" {
		t.Fatalf("created=%v, batch=%+v", created, batch)
	}
	hits, err := s.SimilarListings(bg, "t", listinggen.SimilarQuery{Vector: embedder.Vector("连衣裙"), Model: embedder.Model(), K: 5})
	if err != nil || len(hits) != 2 || hits[0].ListingID != batch[0].ID {
		t.Fatalf("after the batch, similar = %+v, %v", hits, err)
	}

	// One bad listing and nothing is written.
	bad := []*listinggen.Listing{listing("t", sh.ID, "p2", "雨伞"), listing("t", "no-such-shop", "p3", "拖鞋")}
	if _, err := s.CreateListings(bg, bad); listinggen.ErrorCode(err) != listinggen.ENOTFOUND {
		t.Fatalf("batch with a missing shop: %v, want ENOTFOUND", err)
	}
	if bad[0].ID != "" {
		t.Fatalf("a failed batch changed its listings: %+v", bad[0])
	}
	invalid := []*listinggen.Listing{listing("t", sh.ID, "p4", "ok"), listing("t", sh.ID, "p5", "bad\x00title")}
	_, err = s.CreateListings(bg, invalid)
	if fields := listinggen.ErrorFields(err); listinggen.ErrorCode(err) != listinggen.EINVALID || len(fields) == 0 || fields[0].Field != "listings[1].copy.title" {
		t.Fatalf("batch with bad text: %v, fields %+v", err, fields)
	}
	page, err := s.FindListings(bg, "t", listinggen.ListingFilter{})
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("after failed batches: %d listings, %v; want 2", len(page.Items), err)
	}
}

// BenchmarkSimilar compares a tenant-wide query over 20k listings from the
// cache with the SQL scan it replaces (the baseline).
func BenchmarkSimilar(b *testing.B) {
	s := openAt(b, filepath.Join(b.TempDir(), "bench.db"), DefaultConfig().VectorCacheBytes)
	sh := shop(b, s, "t", "")
	titles := storetest.Titles(5, 20_000)
	for lo := 0; lo < len(titles); lo += 1000 {
		var batch []*listinggen.Listing
		for i := lo; i < lo+1000; i++ {
			batch = append(batch, listing("t", sh.ID, fmt.Sprint(i), titles[i]))
		}
		if _, err := s.CreateListings(bg, batch); err != nil {
			b.Fatal(err)
		}
	}
	q := listinggen.SimilarQuery{Vector: embedder.Vector(titles[0]), Model: embedder.Model(), K: 10}
	b.Run("baseline=sql-scan", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.similarSQL(bg, "t", q); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cache", func(b *testing.B) {
		if _, err := s.SimilarListings(bg, "t", q); err != nil { // loads the cache
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.SimilarListings(bg, "t", q); err != nil {
				b.Fatal(err)
			}
		}
	})
}
