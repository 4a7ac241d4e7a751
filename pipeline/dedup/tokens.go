package dedup

import (
	"math"
	"sort"
)

// sparse is a bag of distinct tokens with weights, as token hashes in
// increasing order, so that two bags compare in one merge rather than in
// map lookups: the verifier compares many pairs of the same items.
type sparse struct {
	ids  []uint64
	w    []float64
	toks []string // the tokens, for the evidence sentences
	norm float64  // Euclidean norm of the weights
	sum  float64
}

// hashToken is FNV-1a of the token's bytes: the same in every process, so
// that a clustering does not depend on the run. Two of a title's few
// dozen tokens colliding in 64 bits is not a practical concern.
func hashToken(t string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(t); i++ {
		h ^= uint64(t[i])
		h *= 1099511628211
	}
	return h
}

// newSparse builds a bag from tokens and their weights; a token given
// twice adds its weights.
func newSparse(toks []string, weight func(string) float64, keepTokens bool) sparse {
	type entry struct {
		id  uint64
		w   float64
		tok string
	}
	es := make([]entry, 0, len(toks))
	for _, t := range toks {
		es = append(es, entry{hashToken(t), weight(t), t})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].id < es[j].id })
	var s sparse
	for _, e := range es {
		if n := len(s.ids); n > 0 && s.ids[n-1] == e.id {
			s.w[n-1] += e.w
			continue
		}
		s.ids = append(s.ids, e.id)
		s.w = append(s.w, e.w)
		if keepTokens {
			s.toks = append(s.toks, e.tok)
		}
	}
	for _, w := range s.w {
		s.norm += w * w
		s.sum += w
	}
	s.norm = math.Sqrt(s.norm)
	return s
}

// has reports whether the bag holds the token.
func (s *sparse) has(t string) bool { return s.hasID(hashToken(t)) }

func (s *sparse) hasID(id uint64) bool {
	i := sort.Search(len(s.ids), func(i int) bool { return s.ids[i] >= id })
	return i < len(s.ids) && s.ids[i] == id
}

// topRarest returns the hashes of the n rarest tokens of s: highest
// weight first, then the longer (a longer token is the more specific when
// the table knows neither), then the smaller token.
func (s *sparse) topRarest(n int) []uint64 {
	idx := make([]int, len(s.ids))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		i, j := idx[a], idx[b]
		if s.w[i] != s.w[j] {
			return s.w[i] > s.w[j]
		}
		if len(s.toks[i]) != len(s.toks[j]) {
			return len(s.toks[i]) > len(s.toks[j])
		}
		return s.toks[i] < s.toks[j]
	})
	out := make([]uint64, 0, n)
	for _, i := range idx[:min(n, len(idx))] {
		out = append(out, s.ids[i])
	}
	return out
}

// overlap is what one merge of two bags finds.
type overlap struct {
	dot        float64 // Σ wa·wb over shared tokens
	sharedA    float64 // Σ wa over shared tokens
	maxShared  float64 // the greatest wa of a shared token
	maxOnlyA   float64 // the greatest wa of a token b lacks
	onlyA      int     // its index in a, or -1
	maxOnlyB   float64
	onlyB      int
	sharedList []int // indexes in a of the shared tokens, when asked
}

func merge(a, b *sparse, list bool) overlap {
	o := overlap{onlyA: -1, onlyB: -1}
	i, j := 0, 0
	for i < len(a.ids) || j < len(b.ids) {
		switch {
		case j == len(b.ids) || i < len(a.ids) && a.ids[i] < b.ids[j]:
			if a.w[i] > o.maxOnlyA {
				o.maxOnlyA, o.onlyA = a.w[i], i
			}
			i++
		case i == len(a.ids) || b.ids[j] < a.ids[i]:
			if b.w[j] > o.maxOnlyB {
				o.maxOnlyB, o.onlyB = b.w[j], j
			}
			j++
		default:
			o.dot += a.w[i] * b.w[j]
			o.sharedA += a.w[i]
			o.maxShared = math.Max(o.maxShared, a.w[i])
			if list {
				o.sharedList = append(o.sharedList, i)
			}
			i++
			j++
		}
	}
	return o
}

// cosineOf is the cosine of two bags given their merge.
func cosineOf(a, b *sparse, o overlap) float64 {
	if a.norm == 0 || b.norm == 0 {
		return 0
	}
	return o.dot / (a.norm * b.norm)
}
