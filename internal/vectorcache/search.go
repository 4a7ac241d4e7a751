package vectorcache

import (
	"context"
	"math"
	"runtime"
	"slices"
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
// from there on scanning the rows costs far more than starting goroutines.
const parallelRows = 4 << 10

// candidate is a row whose codes could not rule it out of the top K.
type candidate struct {
	upper float64 // the highest its exact score can be
	chunk *chunk
	off   int32
	shop  int32
}

// partial is one part of a scan: the K highest lower ends of its rows'
// intervals (a min-heap, root the lowest kept) and its candidates.
type partial struct {
	lowers []float64
	cands  []candidate
}

// clampMargin: scores within it of ±1 may clamp to the same value and then
// rank by id, so a threshold that close to 1 is lowered to keep every row
// that could tie, and one that close to -1 keeps every row.
const clampMargin = 1e-6

// cutoff is the threshold that the K-th highest lower end l sets: rows
// whose upper end is below it cannot be in the top K.
func cutoff(l float64) float64 {
	switch {
	case l > 1-clampMargin:
		return 1 - clampMargin
	case l < -1+clampMargin:
		return math.Inf(-1)
	}
	return l
}

// search returns the best k rows (at most; fewer if the scope is smaller)
// of the shops in scope, except row exclude, with their exact scores; it
// may return more than k, which the caller sorts and cuts. Large scans are
// split across GOMAXPROCS goroutines, by whole chunks. An error other than
// the context's means the spill file failed.
func (v *set) search(ctx context.Context, q []float32, k int, scope []int32, exclude rowRef) ([]hit, error) {
	var spans []span
	total := 0
	for _, sh := range scope {
		for _, c := range v.shards[sh].chunks {
			spans = append(spans, span{chunk: c, shop: sh})
			total += c.n
		}
	}
	// Rows of another length than q score 0 (listinggen.Cosine), and so
	// does every row for a zero query: the order is the ids'.
	var qd, unit []float64
	var qSq float64
	if len(q) == v.dims {
		qd = make([]float64, len(q))
		for i, x := range q {
			qd[i] = float64(x)
			qSq += qd[i] * qd[i]
		}
	}
	if qSq == 0 {
		return v.scanZero(ctx, k, spans, exclude)
	}
	norm := math.Sqrt(qSq)
	unit = make([]float64, len(qd))
	for i, x := range qd {
		unit[i] = x / norm
	}
	parts := max(1, min(runtime.GOMAXPROCS(0), total/parallelRows))
	results := make([]partial, parts)
	errs := make([]error, parts)
	if parts == 1 {
		results[0], errs[0] = v.scan(ctx, unit, k, spans, exclude)
	} else {
		// Part p takes the spans that start in its share of the rows.
		var wg sync.WaitGroup
		lo, seen := 0, 0
		for p := range parts {
			hi := lo
			for hi < len(spans) && seen < total*(p+1)/parts {
				seen += spans[hi].chunk.n
				hi++
			}
			part := spans[lo:hi]
			wg.Go(func() { results[p], errs[p] = v.scan(ctx, unit, k, part, exclude) })
			lo = hi
		}
		wg.Wait()
	}
	var lowers []float64
	for p := range parts {
		if errs[p] != nil {
			return nil, errs[p]
		}
		lowers = append(lowers, results[p].lowers...)
	}
	threshold := math.Inf(-1)
	if len(lowers) >= k {
		slices.Sort(lowers)
		threshold = cutoff(lowers[len(lowers)-k])
	}
	// Every row of the true top k has an upper end at or above the
	// threshold: k rows score at least it. Score those exactly.
	var top []hit
	vec := make([]float32, v.dims)
	for p := range parts {
		for _, cd := range results[p].cands {
			if cd.upper < threshold {
				continue
			}
			if err := v.spill.read(vec, cd.chunk.file.off+int64(int(cd.off)*v.dims*4)); err != nil {
				return nil, err
			}
			top = append(top, hit{score: exactScore(qd, qSq, vec), shop: cd.shop, id: cd.chunk.id(int(cd.off))})
		}
		runtime.KeepAlive(results[p].cands) // their chunks own the regions read
	}
	return top, nil
}

// scan bounds every row's score from its codes (unit is the query over its
// norm), keeping the K highest lower ends and every row whose upper end
// reaches the lowest of them.
func (v *set) scan(ctx context.Context, unit []float64, k int, spans []span, exclude rowRef) (partial, error) {
	p := partial{lowers: make([]float64, 0, k)}
	floor := math.Inf(-1) // the K-th highest lower end so far
	d := v.dims
	// Candidates ruled out by a floor that rose since are dropped in
	// passes, once the list outgrows this.
	prune := 4*k + 256
	for _, sp := range spans {
		if err := ctx.Err(); err != nil {
			return partial{}, err
		}
		c := sp.chunk
		for row := range c.n {
			if c == exclude.chunk && int32(row) == exclude.off {
				continue
			}
			approx := float64(c.fac[row]) * dotCodes(unit, c.codes[row*d:row*d+d])
			slack := float64(c.slack[row])
			lo, up := approx-slack, approx+slack
			if len(p.lowers) < k {
				p.lowers = append(p.lowers, lo)
				siftUp(p.lowers, len(p.lowers)-1, lessFloat)
			} else if lo > p.lowers[0] {
				p.lowers[0] = lo
				siftDown(p.lowers, 0, lessFloat)
			}
			if len(p.lowers) == k {
				floor = cutoff(p.lowers[0])
			}
			if up >= floor {
				p.cands = append(p.cands, candidate{upper: up, chunk: c, off: int32(row), shop: sp.shop})
			}
		}
		if len(p.cands) > prune {
			p.cands = slices.DeleteFunc(p.cands, func(cd candidate) bool { return cd.upper < floor })
			prune = max(prune, 2*len(p.cands))
		}
	}
	return p, nil
}

// scanZero answers a query every row scores 0 for: the k rows with the
// smallest ids.
func (v *set) scanZero(ctx context.Context, k int, spans []span, exclude rowRef) ([]hit, error) {
	top := make([]hit, 0, k)
	for _, sp := range spans {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := sp.chunk
		for row := range c.n {
			if c == exclude.chunk && int32(row) == exclude.off {
				continue
			}
			h := hit{shop: sp.shop, id: c.id(row)}
			if len(top) < k {
				top = append(top, h)
				siftUp(top, len(top)-1, worse)
			} else if worse(top[0], h) {
				top[0] = h
				siftDown(top, 0, worse)
			}
		}
	}
	return top, nil
}

func lessFloat(a, b float64) bool { return a < b }

func siftUp[T any](h []T, i int, less func(a, b T) bool) {
	for i > 0 {
		parent := (i - 1) / 2
		if !less(h[i], h[parent]) {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func siftDown[T any](h []T, i int, less func(a, b T) bool) {
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
