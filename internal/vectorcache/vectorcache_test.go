package vectorcache

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/listinggen/listinggen"
)

// fixedSource serves a fixed set of rows and never reports a change.
type fixedSource struct {
	ids, shops []string
	vecs       [][]float32
}

func (s fixedSource) Load(_ context.Context, _ Key, l *Loader) (uint64, error) {
	for i := range s.ids {
		if !l.Add(s.ids[i], s.shops[i], s.vecs[i]) {
			break
		}
	}
	return 1, nil
}

func (fixedSource) Changes(_ context.Context, _ Key, pos uint64, _ func(Change) bool) (uint64, error) {
	return pos, nil
}

func BenchmarkSearch(b *testing.B) {
	const n, dims = 100_000, 256
	r := rand.New(rand.NewPCG(1, 2))
	src := fixedSource{}
	for i := range n {
		v := make([]float32, dims)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		src.ids = append(src.ids, testID(i))
		src.shops = append(src.shops, fmt.Sprintf("s%d", i%10))
		src.vecs = append(src.vecs, v)
	}
	c := New(1<<30, b.TempDir())
	defer c.Close()
	key := Key{Tenant: "t", Model: "m"}
	// Load the set before timing: the queries are what is measured.
	if _, ok, err := c.Search(context.Background(), src, key, Query{Vector: src.vecs[0], K: 1}); err != nil || !ok {
		b.Fatal(ok, err)
	}
	for _, scope := range []struct {
		name  string
		shops []string
	}{{"shop", []string{"s3"}}, {"tenant", nil}} {
		b.Run(scope.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				q := Query{Vector: src.vecs[i%n], K: 10, Shops: scope.shops, ExcludeID: src.ids[i%n]}
				if _, ok, err := c.Search(context.Background(), src, key, q); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// memSource is a store in memory: Changes reports every change made since
// a position, as the stores' sources do.
type memSource struct {
	mu      sync.Mutex
	log     []Change // log[i] is change i+1
	current map[string]Change
}

func (s *memSource) write(ch Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, ch)
	if s.current == nil {
		s.current = map[string]Change{}
	}
	s.current[ch.ID] = ch
}

func (s *memSource) Load(_ context.Context, _ Key, l *Loader) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.current {
		if len(ch.Vector) > 0 && !l.Add(ch.ID, ch.Shop, ch.Vector) {
			break
		}
	}
	return uint64(len(s.log)), nil
}

func (s *memSource) Changes(_ context.Context, _ Key, pos uint64, apply func(Change) bool) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.log[pos:] {
		if !apply(ch) {
			return pos, nil
		}
	}
	return uint64(len(s.log)), nil
}

// exact answers q over the source's current rows the slow way.
func (s *memSource) exact(q Query) []listinggen.SimilarListing {
	return s.rank(q, func(vec []float32) float64 { return CosineScore(q.Vector, vec) })
}

// rank scores every row of q's scope that has a vector and returns the
// best q.K.
func (s *memSource) rank(q Query, score func([]float32) float64) []listinggen.SimilarListing {
	var hits []hit
	for _, ch := range s.current {
		if len(ch.Vector) == 0 || ch.ID == q.ExcludeID || q.Shops != nil && !slices.Contains(q.Shops, ch.Shop) {
			continue
		}
		hits = append(hits, hit{score: score(ch.Vector), id: ch.ID})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if better(a, b) {
			return -1
		}
		return 1
	})
	out := []listinggen.SimilarListing{}
	for _, h := range hits[:min(q.K, len(hits))] {
		out = append(out, listinggen.SimilarListing{ListingID: h.id, ShopID: s.current[h.id].Shop, Score: h.score})
	}
	return out
}

// TestSearchMatchesExactScanThroughChanges moves listings between shops,
// removes and re-adds vectors and adds some of another length, in rounds
// of changes small and large enough to fill and empty whole chunks, and
// checks every query against an exact scan of the source. Scores must be
// equal, not close: the cache computes them as listinggen.Cosine does.
//
// At 256 dimensions the larger chunks live outside the Go heap; the test
// collects garbage between rounds, so a chunk released too early would be
// read after its mapping is gone.
func TestSearchMatchesExactScanThroughChanges(t *testing.T) {
	for _, dims := range []int{8, 256} {
		t.Run(fmt.Sprint(dims), func(t *testing.T) { testSearchMatchesExactScan(t, dims) })
	}
}

func testSearchMatchesExactScan(t *testing.T, dims int) {
	r := rand.New(rand.NewPCG(3, 4))
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.IntN(5) - 2) // small integers: exact ties happen
		}
		return v
	}
	shops := []string{"a", "b", "c", "d"}
	src := &memSource{}
	c := New(1<<30, t.TempDir())
	key := Key{Tenant: "t", Model: "m"}
	for round := range 40 {
		for range r.IntN(1500) {
			ch := Change{ID: testID(r.IntN(3000)), Shop: shops[r.IntN(len(shops))]}
			switch p := r.IntN(20); {
			case p == 0:
				ch.Vector = vec(dims + 1)
			case p < 5:
				// no vector: removed
			default:
				ch.Vector = vec(dims)
			}
			src.write(ch)
		}
		for qi := range 20 {
			q := Query{Vector: vec(dims), K: 1 + r.IntN(30)}
			switch qi % 4 {
			case 1:
				q.Shops = []string{shops[r.IntN(len(shops))]}
			case 2:
				q.Shops = []string{"a", "c", "a", "nowhere"}
			case 3:
				q.Shops = []string{}
			}
			if ids := slices.Collect(maps.Keys(src.current)); len(ids) > 0 {
				// Half the time the dedup step's own question: a listing's
				// vector, excluding itself.
				q.ExcludeID = ids[r.IntN(len(ids))]
				if own := src.current[q.ExcludeID].Vector; len(own) == dims && qi%2 == 0 {
					q.Vector = own
				}
			}
			got, ok, err := c.Search(context.Background(), src, key, q)
			if err != nil || !ok {
				t.Fatalf("round %d: ok %v, err %v", round, ok, err)
			}
			if want := src.exact(q); !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d, query %d:\n got %v\nwant %v", round, qi, got, want)
			}
		}
		runtime.GC()
	}
	// A set loaded from scratch answers the same as the one kept up to
	// date, and is charged no more than the rows it holds plus one
	// part-filled chunk per shop.
	fresh := New(1<<30, t.TempDir())
	q := Query{Vector: vec(dims), K: 50}
	a, _, _ := c.Search(context.Background(), src, key, q)
	b, _, _ := fresh.Search(context.Background(), src, key, q)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("kept up to date %v, loaded %v", a, b)
	}
	rows := 0
	for _, ch := range src.current {
		if len(ch.Vector) == dims {
			rows++
		}
	}
	// A row's index entry is 8 bytes at a load of 3/8 or more; a third of
	// the ids are not UUIDs, which costs their chunks a string header a row
	// and the names' bytes.
	perRow := rowBytes(dims) + 22 + 16 + 8
	if used, most := fresh.Stats().Used, int64(rows+len(shops)*maxChunkRows)*perRow+int64(setOverhead)+64<<10; used > most {
		t.Fatalf("a set of %d rows is charged %d bytes, more than %d", rows, used, most)
	}
}

// testID is listing i's id: mostly a UUID, as the stores make them (kept
// packed), and for every third an id of another form (kept as a string),
// upper-case UUIDs among them.
func testID(i int) string {
	switch {
	case i%6 == 3:
		return fmt.Sprintf("%08X-0000-7000-8000-%012X", i*7919, i)
	case i%3 == 0:
		return fmt.Sprintf("l%d", i)
	}
	return fmt.Sprintf("%08x-0000-7000-8000-%012x", i*7919, i)
}

// TestRowKeysRoundTrip: every id comes back as it went in; only the
// canonical UUID form is packed, the others (upper case, braces, urn:,
// no dashes, not a UUID) are kept as strings.
func TestRowKeysRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		id     string
		packed bool
	}{
		{testID(1), true},
		{"00000000-0000-0000-0000-000000000000", true},
		{testID(3), false},
		{testID(6), false},
		{"{01a250da-c925-7955-aa04-a65db5c16095}", false},
		{"urn:uuid:01a250da-c925-7955-aa04-a65db5c16095", false},
		{"01a250dac9257955aa04a65db5c16095", false},
	} {
		k := keyOf(tc.id)
		if k.String() != tc.id {
			t.Errorf("keyOf(%q).String() = %q", tc.id, k.String())
		}
		if packed := k.name == ""; packed != tc.packed {
			t.Errorf("keyOf(%q) packed: %v, want %v", tc.id, packed, tc.packed)
		}
	}
}

// TestChunksStayFullButTheLast removes rows from the middle of a shop
// until it is empty, checking after each that the shop's chunks are full
// but the last and that the index finds every row, and only those.
func TestChunksStayFullButTheLast(t *testing.T) {
	sp := newSpill(t.TempDir())
	defer sp.close()
	v := newSet(Key{}, sp)
	const n = 3000
	number := map[string]int{}
	for i := range n {
		number[testID(i)] = i
		if err := v.put(testID(i), "s", []float32{float32(i), 1}); err != nil {
			t.Fatal(err)
		}
	}
	vec := make([]float32, 2)
	r := rand.New(rand.NewPCG(5, 6))
	for step, i := range r.Perm(n) {
		if err := v.remove(testID(i)); err != nil {
			t.Fatal(err)
		}
		delete(number, testID(i))
		if _, _, ok := v.find(testID(i)); ok {
			t.Fatalf("removed %s is still found", testID(i))
		}
		if step%7 != 0 && len(number) > 50 {
			continue // the full check is quadratic
		}
		entries := 0
		for _, e := range v.index.slots {
			if e == 0 {
				continue
			}
			entries++
			c, row := v.entryRow(e)
			id := c.id(row)
			want, ok := number[id]
			if err := sp.read(vec, c.file.off+int64(row)*2*4); err != nil {
				t.Fatal(err)
			}
			if !ok || vec[0] != float32(want) || row >= c.n {
				t.Fatalf("entry for row %d of chunk %d holds %s (%v), vector %v", row, c.num, id, ok, vec)
			}
			if fc, frow, ok := v.find(id); !ok || fc != c || frow != row {
				t.Fatalf("find(%s) = %d of chunk %v, %v; the entry says %d of %d", id, frow, fc, ok, row, c.num)
			}
		}
		total := 0
		chunks := v.shards[0].chunks
		for i, c := range chunks {
			if i < len(chunks)-1 && !c.full() || c.n == 0 {
				t.Fatalf("chunk %d of %d has %d of %d rows", i, len(chunks), c.n, c.size)
			}
			total += c.n
		}
		if total != len(number) || entries != len(number) || v.index.used != len(number) {
			t.Fatalf("%d rows in chunks, %d entries (%d counted) for %d ids", total, entries, v.index.used, len(number))
		}
	}
	if v.capRows != 0 || len(v.chunkTab) != len(v.freeNums) || v.nameSlots != 0 || v.nameBytes != 0 {
		t.Fatalf("empty set still counts %d rows of room in %d chunks, %d name slots, %d name bytes",
			v.capRows, len(v.chunkTab)-len(v.freeNums), v.nameSlots, v.nameBytes)
	}
}

// TestSearchIsExactOnRealValuedVectors checks the codes' bounds where they
// matter: real-valued vectors with clusters of near-copies (so that many
// rows score close to the K-th best), answered as an exact scan of the
// float32 vectors with the cache's own score would answer them, for every
// K from 1 to 40, in a shop and over the tenant.
func TestSearchIsExactOnRealValuedVectors(t *testing.T) {
	const dims, n = 64, 6000
	r := rand.New(rand.NewPCG(7, 8))
	src := &memSource{}
	var centres [][]float32
	for range 40 {
		v := make([]float32, dims)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		centres = append(centres, v)
	}
	shops := []string{"a", "b", "c"}
	for i := range n {
		c := centres[r.IntN(len(centres))]
		v := make([]float32, dims)
		for j := range v {
			v[j] = c[j] + float32(r.NormFloat64()*0.02)
		}
		src.write(Change{ID: testID(i), Shop: shops[i%3], Vector: v})
	}
	c := New(1<<30, t.TempDir())
	defer c.Close()
	key := Key{Tenant: "t", Model: "m"}
	for k := 1; k <= 40; k++ {
		q := Query{Vector: src.current[testID(r.IntN(n))].Vector, K: k}
		if k%2 == 0 {
			q.Shops = []string{shops[k%3]}
		}
		got, ok, err := c.Search(context.Background(), src, key, q)
		if err != nil || !ok {
			t.Fatalf("K=%d: ok %v, err %v", k, ok, err)
		}
		if want := exactTop(src, q); !reflect.DeepEqual(got, want) {
			t.Fatalf("K=%d:\n got %v\nwant %v", k, got, want)
		}
	}
}

// exactTop ranks every row of q's scope by exactScore, the cache's own
// exact score, and returns the best q.K.
func exactTop(src *memSource, q Query) []listinggen.SimilarListing {
	qd := make([]float64, len(q.Vector))
	var qSq float64
	for i, x := range q.Vector {
		qd[i] = float64(x)
		qSq += qd[i] * qd[i]
	}
	return src.rank(q, func(vec []float32) float64 { return exactScore(qd, qSq, vec) })
}

// TestSpillFileFailureFallsBackToSQL: a cache whose file cannot be created
// (its directory does not exist), or whose file fails under a loaded set,
// answers ok=false without an error, so that the store's SQL path
// answers, and counts the failure.
func TestSpillFileFailureFallsBackToSQL(t *testing.T) {
	src := fixedSource{ids: []string{"a", "b"}, shops: []string{"s", "s"}, vecs: [][]float32{{1, 2, 3}, {3, 2, 1}}}
	key := Key{Tenant: "t", Model: "m"}
	q := Query{Vector: []float32{1, 2, 3}, K: 1}

	missing := New(1<<20, filepath.Join(t.TempDir(), "missing"))
	if _, ok, err := missing.Search(context.Background(), src, key, q); ok || err != nil {
		t.Fatalf("no file: ok %v, err %v; want false, nil", ok, err)
	}
	if st := missing.Stats(); st.Failures != 1 {
		t.Errorf("no file: %d failures counted, want 1", st.Failures)
	}

	dir := t.TempDir()
	c := New(1<<20, dir)
	if hits, ok, err := c.Search(context.Background(), src, key, q); !ok || err != nil || hits[0].ListingID != "a" {
		t.Fatalf("hits %v, ok %v, err %v", hits, ok, err)
	}
	if entries, _ := os.ReadDir(dir); runtime.GOOS != "windows" && len(entries) != 0 {
		t.Errorf("the exact vectors' file is still in its directory: %v", entries)
	}
	if st := c.Stats(); st.FileBytes < 2*3*4 {
		t.Errorf("file holds %d bytes, want at least the two vectors", st.FileBytes)
	}
	c.Close() // the file is gone from under the loaded set
	if _, ok, err := c.Search(context.Background(), src, key, q); ok || err != nil {
		t.Fatalf("file closed: ok %v, err %v; want false, nil", ok, err)
	}
	if st := c.Stats(); st.Failures != 1 {
		t.Errorf("file closed: %d failures counted, want 1", st.Failures)
	}
}
