package vectorcache

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strconv"
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
		src.ids = append(src.ids, fmt.Sprintf("l%07d", i))
		src.shops = append(src.shops, fmt.Sprintf("s%d", i%10))
		src.vecs = append(src.vecs, v)
	}
	c := New(1 << 30)
	key := Key{Tenant: "t", Model: "m"}
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
	var hits []hit
	for _, ch := range s.current {
		if len(ch.Vector) == 0 || ch.ID == q.ExcludeID || q.Shops != nil && !slices.Contains(q.Shops, ch.Shop) {
			continue
		}
		hits = append(hits, hit{score: CosineScore(q.Vector, ch.Vector), id: ch.ID})
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
	c := New(1 << 30)
	key := Key{Tenant: "t", Model: "m"}
	for round := range 40 {
		for range r.IntN(1500) {
			ch := Change{ID: fmt.Sprintf("l%d", r.IntN(3000)), Shop: shops[r.IntN(len(shops))]}
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
	fresh := New(1 << 30)
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
	perRow := int64(dims*4 + 8 + 16 + 64 + 4)
	if used, most := fresh.Stats().Used, int64(rows+len(shops)*maxChunkRows)*perRow+int64(setOverhead)+64<<10; used > most {
		t.Fatalf("a set of %d rows is charged %d bytes, more than %d", rows, used, most)
	}
}

// TestChunksStayFullButTheLast removes rows from the middle of a shop
// until it is empty, checking after each that the shop's chunks are full
// but the last and that every row is where rowOf says.
func TestChunksStayFullButTheLast(t *testing.T) {
	v := &set{rowOf: map[string]location{}, odd: map[string]oddVector{}, shopIndex: map[string]int32{}}
	const n = 3000
	for i := range n {
		v.put(fmt.Sprintf("l%d", i), "s", []float32{float32(i), 1})
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, i := range r.Perm(n) {
		v.remove(fmt.Sprintf("l%d", i))
		for id, at := range v.rowOf {
			c := v.shards[at.shop].chunks[at.chunk]
			if c.ids[at.off] != id || c.vecs[int(at.off)*2] != float32(must(strconv.Atoi(id[1:]))) {
				t.Fatalf("rowOf[%s] = %+v holds %s", id, at, c.ids[at.off])
			}
		}
		total := 0
		chunks := v.shards[0].chunks
		for i, c := range chunks {
			if i < len(chunks)-1 && !c.full() || len(c.ids) == 0 {
				t.Fatalf("chunk %d of %d has %d of %d rows", i, len(chunks), len(c.ids), cap(c.ids))
			}
			total += len(c.ids)
		}
		if total != len(v.rowOf) {
			t.Fatalf("%d rows in chunks, %d in rowOf", total, len(v.rowOf))
		}
	}
	if v.capRows != 0 || v.chunks != 0 {
		t.Fatalf("empty set still counts %d rows of room in %d chunks", v.capRows, v.chunks)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
