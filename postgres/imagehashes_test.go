package postgres

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
)

// TestImageHashesThroughHNSW answers image queries from the HNSW index on
// bit(64) (ExactScanMaxRows 0) and checks them against a brute-force scan,
// and that the planner really walks the index.
func TestImageHashesThroughHNSW(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.ExactScanMaxRows = 0
	s := openStore(t, cfg)
	sh := mustShop(t, s, "t1", "g")
	rng := rand.New(rand.NewPCG(7, 7))
	type row struct {
		id   string
		hash uint64
	}
	var rows []row
	base := rng.Uint64()
	for i := range 400 {
		h := rng.Uint64()
		if i%40 == 0 { // a few near copies of one photo
			h = base ^ (1 << (i % 64)) ^ (1 << ((i + 7) % 64))
		}
		l := listing("t1", sh.ID, fmt.Sprint("p", i), "保温杯")
		l.Images = []listinggen.ListingImage{{SourceURL: "https://img.example/x.jpg", Status: "ready", PHash: fmt.Sprintf("%016x", h)}}
		mustCreate(t, s, l)
		rows = append(rows, row{l.ID, h})
	}
	q := listinggen.ImageHashQuery{Group: "g", Hashes: []uint64{base}, MaxDistance: 6, K: 20}
	got, err := s.SimilarImages(ctx, "t1", q)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, r := range rows {
		if d := bits.OnesCount64(r.hash ^ base); d <= q.MaxDistance {
			want[r.id] = d
		}
	}
	if len(got) != len(want) || len(want) != 10 {
		t.Fatalf("got %d matches, want %d (%+v)", len(got), len(want), got)
	}
	for _, m := range got {
		if d, ok := want[m.ListingID]; !ok || d != m.Distance {
			t.Fatalf("match %+v: want distance %d (present %v)", m, d, ok)
		}
	}
	if s.searches.approximate.Load() == 0 {
		t.Error("the query did not take the HNSW path")
	}
	// The plan the query runs with (searchSettings in its transaction).
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	set, args := searchSettings(40, 20000)
	if _, err := tx.Exec(ctx, set, args...); err != nil {
		t.Fatal(err)
	}
	rowsPlan, err := tx.Query(ctx, `EXPLAIN SELECT listing_id FROM listing_image_hashes h WHERE h.tenant_id = 't1'
		ORDER BY h.phash <~> $1::int8::bit(64) LIMIT 10`, int64(base))
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rowsPlan.Next() {
		var line string
		if err := rowsPlan.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	rowsPlan.Close()
	if !strings.Contains(strings.Join(plan, "\n"), "listing_image_hashes_hnsw") {
		t.Errorf("plan does not use listing_image_hashes_hnsw:\n%s", strings.Join(plan, "\n"))
	}
}
