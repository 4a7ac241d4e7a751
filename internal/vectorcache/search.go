package vectorcache

import (
	"context"
	"math"
	"runtime"
	"sync"

	"github.com/listinggen/listinggen"
)

// hit is a candidate: a row of the set's columns, or an odd vector (row -1)
// named by id.
type hit struct {
	score float64
	row   int32
	shop  int32
	id    string
}

// better orders hits by score, then by id, so that results do not depend
// on the order rows sit in memory.
func better(a, b hit) bool {
	return a.score > b.score || a.score == b.score && a.id < b.id
}

// parallelRows is the scan size from which a query uses every core.
const parallelRows = 16 << 10

// search returns the best k rows (at most; fewer if the scope is smaller)
// of the rows whose shop is allowed, except row exclude, with ids unset.
// Large scans are split across GOMAXPROCS goroutines.
func (v *set) search(ctx context.Context, q []float32, k int, allowed []bool, exclude int32) ([]hit, error) {
	n := len(v.ids)
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
		parts = max(1, min(runtime.GOMAXPROCS(0), n/parallelRows))
	}
	results := make([][]hit, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := n*p/parts, n*(p+1)/parts
		wg.Go(func() { results[p], errs[p] = v.scan(ctx, qd, qSq, k, allowed, exclude, lo, hi) })
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

// scan keeps the best k rows of [lo, hi) in a min-heap whose root is the
// worst kept.
func (v *set) scan(ctx context.Context, q []float64, qSq float64, k int, allowed []bool, exclude int32, lo, hi int) ([]hit, error) {
	top := make([]hit, 0, min(k, hi-lo))
	d := v.dims
	worse := func(a, b hit) bool { // for the heap: a below b
		return a.score < b.score || a.score == b.score && v.ids[a.row] > v.ids[b.row]
	}
	for base := lo; base < hi; base += 4096 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for row := base; row < min(base+4096, hi); row++ {
			if allowed != nil && !allowed[v.shops[row]] || int32(row) == exclude {
				continue
			}
			var score float64
			if nb := v.normSq[row]; qSq != 0 && nb != 0 {
				score = ClampScore(dot(q, v.vecs[row*d:row*d+d]) / math.Sqrt(qSq*nb))
			}
			h := hit{score: score, row: int32(row)}
			if len(top) < k {
				top = append(top, h)
				siftUp(top, len(top)-1, worse)
			} else if worse(top[0], h) {
				top[0] = h
				siftDown(top, 0, worse)
			}
		}
	}
	for i := range top {
		top[i].shop = v.shops[top[i].row]
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
