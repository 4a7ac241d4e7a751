package vectorcache

import (
	"context"
	"math"
	"runtime"
	"sync"

	"github.com/listinggen/listinggen"
)

// hit is a candidate row.
type hit struct {
	score float64
	shop  int32
	id    string
}

// better orders hits by score, then by id, so that results do not depend
// on the order rows sit in memory.
func better(a, b hit) bool {
	return a.score > b.score || a.score == b.score && a.id < b.id
}

// worse is better's converse, the order of scan's min-heap.
func worse(a, b hit) bool { return better(b, a) }

// rowRef names one row, to leave out of a search.
type rowRef struct {
	chunk *chunk
	off   int32
}

// span is a run of one chunk's rows in a shop.
type span struct {
	chunk *chunk
	shop  int32
}

// parallelRows is the scan size from which a query is split across cores:
// a goroutine costs microseconds, 4096 rows of 256 dimensions about 0.7 ms.
const parallelRows = 4 << 10

// search returns the best k rows (at most; fewer if the scope is smaller)
// of the shops in scope, except row exclude. Large scans are split across
// GOMAXPROCS goroutines, by whole chunks.
func (v *set) search(ctx context.Context, q []float32, k int, scope []int32, exclude rowRef) ([]hit, error) {
	var spans []span
	total := 0
	for _, sh := range scope {
		for _, c := range v.shards[sh].chunks {
			spans = append(spans, span{chunk: c, shop: sh})
			total += len(c.ids)
		}
	}
	// Rows of another length than q score 0 (listinggen.Cosine), and so
	// does every row for a zero query.
	var qd []float64
	var qSq float64
	if len(q) == v.dims {
		qd = make([]float64, len(q))
		for i, x := range q {
			qd[i] = float64(x)
			qSq += qd[i] * qd[i]
		}
	}
	parts := 1
	if qSq != 0 {
		parts = max(1, min(runtime.GOMAXPROCS(0), total/parallelRows))
	}
	if parts == 1 {
		return v.scan(ctx, qd, qSq, k, spans, exclude)
	}
	// Part p takes the spans that start in its share of the rows.
	results := make([][]hit, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	lo, seen := 0, 0
	for p := range parts {
		hi := lo
		for hi < len(spans) && seen < total*(p+1)/parts {
			seen += len(spans[hi].chunk.ids)
			hi++
		}
		part := spans[lo:hi]
		wg.Go(func() { results[p], errs[p] = v.scan(ctx, qd, qSq, k, part, exclude) })
		lo = hi
	}
	wg.Wait()
	var all []hit
	for p := range parts {
		if errs[p] != nil {
			return nil, errs[p]
		}
		all = append(all, results[p]...)
	}
	return all, nil
}

// scan keeps the best k rows of spans in a min-heap whose root is the
// worst kept.
func (v *set) scan(ctx context.Context, q []float64, qSq float64, k int, spans []span, exclude rowRef) ([]hit, error) {
	top := make([]hit, 0, k)
	d := v.dims
	for _, sp := range spans {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := sp.chunk
		for row, id := range c.ids {
			if c == exclude.chunk && int32(row) == exclude.off {
				continue
			}
			var score float64
			if nb := c.normSq[row]; qSq != 0 && nb != 0 {
				score = ClampScore(dot(q, c.vecs[row*d:row*d+d]) / math.Sqrt(qSq*nb))
			}
			h := hit{score: score, shop: sp.shop, id: id}
			if len(top) < k {
				top = append(top, h)
				siftUp(top, len(top)-1, worse)
			} else if worse(top[0], h) {
				top[0] = h
				siftDown(top, 0, worse)
			}
		}
		runtime.KeepAlive(c) // its vectors may be a mapping it owns
	}
	return top, nil
}

func siftUp(h []hit, i int, less func(a, b hit) bool) {
	for i > 0 {
		parent := (i - 1) / 2
		if !less(h[i], h[parent]) {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func siftDown(h []hit, i int, less func(a, b hit) bool) {
	for {
		smallest, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && less(h[l], h[smallest]) {
			smallest = l
		}
		if r < len(h) && less(h[r], h[smallest]) {
			smallest = r
		}
		if smallest == i {
			return
		}
		h[i], h[smallest] = h[smallest], h[i]
		i = smallest
	}
}

// dot is the inner product in float64, as listinggen.Cosine computes it,
// with four accumulators so that the additions overlap.
func dot(a []float64, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * float64(b[i])
		s1 += a[i+1] * float64(b[i+1])
		s2 += a[i+2] * float64(b[i+2])
		s3 += a[i+3] * float64(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += a[i] * float64(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// CosineScore is listinggen.Cosine as a score, clamped like ClampScore.
func CosineScore(a, b []float32) float64 { return ClampScore(listinggen.Cosine(a, b)) }

// ClampScore keeps a score in [-1, 1], which rounding can leave by an ulp
// or two, and makes NaN (a vector holding NaN or infinity) 0, as
// PostgreSQL's store does.
func ClampScore(s float64) float64 {
	switch {
	case s > 1:
		return 1
	case s < -1:
		return -1
	case s == s:
		return s
	}
	return 0
}
