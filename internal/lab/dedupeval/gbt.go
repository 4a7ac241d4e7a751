package dedupeval

import (
	"math"
	"slices"
	"sort"

	"github.com/listinggen/listinggen/pipeline/dedup"
)

// GBTConfig sets the gradient boosting of the verifier's trees.
type GBTConfig struct {
	Trees int
	// Depth bounds each tree; Rate shrinks each tree's output.
	Depth int
	Rate  float64
	// Lambda is the L2 penalty on leaf values; MinHessian the least
	// hessian (about the weighted count of uncertain pairs) in a leaf.
	Lambda     float64
	MinHessian float64
	// Bins bounds the thresholds tried per feature (quantiles).
	Bins int
	// Monotone holds, per feature, +1 when the log-odds may only rise with
	// it, -1 when they may only fall, 0 when free: more shared rare words
	// may never count against a match, in any domain, which keeps a tree
	// from learning one data set's quirks as a rule.
	Monotone [dedup.NumFeatures]int8 `json:"-"`
}

// DefaultGBTConfig is the boosting behind the shipped model.
func DefaultGBTConfig() GBTConfig {
	return GBTConfig{Trees: 150, Depth: 4, Rate: 0.2, Lambda: 1, MinHessian: 2, Bins: 64}
}

// missingBin is the bin of a NaN feature value.
const missingBin = 255

// binned is the training matrix as bin numbers per feature.
type binned struct {
	cuts [dedup.NumFeatures][]float64 // thresholds; bin b holds cuts[b-1] <= x < cuts[b]
	bins [][dedup.NumFeatures]uint8
}

func binMatrix(xs [][dedup.NumFeatures]float64, nbins int) *binned {
	b := &binned{bins: make([][dedup.NumFeatures]uint8, len(xs))}
	vals := make([]float64, 0, len(xs))
	for f := range dedup.NumFeatures {
		vals = vals[:0]
		for _, x := range xs {
			if !math.IsNaN(x[f]) {
				vals = append(vals, x[f])
			}
		}
		sort.Float64s(vals)
		distinct := slices.Compact(slices.Clone(vals))
		var cuts []float64
		if len(distinct) <= nbins {
			for i := 1; i < len(distinct); i++ {
				cuts = append(cuts, (distinct[i-1]+distinct[i])/2)
			}
		} else {
			for q := 1; q < nbins; q++ {
				v := vals[q*len(vals)/nbins]
				// The cut lies between v and the next distinct value, so
				// that equal values share a bin.
				i := sort.SearchFloat64s(distinct, v)
				if i+1 < len(distinct) {
					c := (distinct[i] + distinct[i+1]) / 2
					if len(cuts) == 0 || c > cuts[len(cuts)-1] {
						cuts = append(cuts, c)
					}
				}
			}
		}
		b.cuts[f] = cuts
		for i, x := range xs {
			if math.IsNaN(x[f]) {
				b.bins[i][f] = missingBin
			} else {
				b.bins[i][f] = uint8(sort.Search(len(cuts), func(k int) bool { return cuts[k] > x[f] }))
			}
		}
	}
	return b
}

// split is the best split of a node.
type split struct {
	gain        float64
	feature     int
	bin         int // left: bins <= bin (-1: no value goes left)
	missingLeft bool
	wl, wr      float64 // the children's leaf weights, within the node's bounds
}

type histogram [dedup.NumFeatures][256][2]float64 // per bin: gradient, hessian sums

// TrainGBT fits boosted trees to labelled rows by Newton steps on the
// weighted log loss. It is deterministic: the same rows give the same
// trees, bit for bit.
func TrainGBT(xs [][dedup.NumFeatures]float64, ys, ws []float64, cfg GBTConfig) (float64, []dedup.Tree) {
	b := binMatrix(xs, cfg.Bins)
	var pos, neg float64
	for i, y := range ys {
		pos += ws[i] * y
		neg += ws[i] * (1 - y)
	}
	base := math.Log(pos / neg)
	pred := make([]float64, len(xs))
	for i := range pred {
		pred[i] = base
	}
	g := make([]float64, len(xs))
	h := make([]float64, len(xs))
	trees := make([]dedup.Tree, 0, cfg.Trees)
	rows := make([]int, len(xs))
	for range cfg.Trees {
		for i := range xs {
			p := 1 / (1 + math.Exp(-pred[i]))
			g[i] = ws[i] * (p - ys[i])
			h[i] = ws[i] * p * (1 - p)
		}
		for i := range rows {
			rows[i] = i
		}
		t := growTree(b, g, h, rows, cfg)
		for i := range xs {
			pred[i] += leafValue(t, b.bins[i])
		}
		trees = append(trees, toDedupTree(t, b))
	}
	return base, trees
}

// gtree is a tree under construction, over bins.
type gtree struct {
	nodes []gnode
}

type gnode struct {
	split       split
	left, right int
	value       float64
}

func growTree(b *binned, g, h []float64, rows []int, cfg GBTConfig) *gtree {
	t := &gtree{}
	var grow func(rows []int, hist *histogram, depth int, lo, hi float64) int
	grow = func(rows []int, hist *histogram, depth int, lo, hi float64) int {
		var G, H float64
		for _, i := range rows {
			G += g[i]
			H += h[i]
		}
		id := len(t.nodes)
		t.nodes = append(t.nodes, gnode{value: clamp(-G/(H+cfg.Lambda), lo, hi) * cfg.Rate})
		if depth == cfg.Depth || H < 2*cfg.MinHessian {
			return id
		}
		if hist == nil {
			hist = buildHistogram(b, g, h, rows)
		}
		s, ok := bestSplit(b, hist, G, H, lo, hi, cfg)
		if !ok {
			return id
		}
		var left, right []int
		for _, i := range rows {
			if goesLeft(b.bins[i][s.feature], s) {
				left = append(left, i)
			} else {
				right = append(right, i)
			}
		}
		// The smaller child's histogram is built, the larger's is the
		// parent's minus it.
		var lh, rh *histogram
		if depth+1 < cfg.Depth {
			small, other := left, &rh
			if len(right) < len(left) {
				small, other = right, &lh
			}
			sh := buildHistogram(b, g, h, small)
			for f := range hist {
				for k := range hist[f] {
					hist[f][k][0] -= sh[f][k][0]
					hist[f][k][1] -= sh[f][k][1]
				}
			}
			*other = hist
			if lh == nil {
				lh = sh
			} else {
				rh = sh
			}
		}
		// Under a monotone split, everything below the left child stays
		// under everything below the right (or over, for -1).
		llo, lhi, rlo, rhi := lo, hi, lo, hi
		if d := cfg.Monotone[s.feature]; d != 0 {
			mid := (s.wl + s.wr) / 2
			if d > 0 {
				lhi, rlo = mid, mid
			} else {
				llo, rhi = mid, mid
			}
		}
		t.nodes[id].split = s
		l := grow(left, lh, depth+1, llo, lhi)
		r := grow(right, rh, depth+1, rlo, rhi)
		t.nodes[id].left, t.nodes[id].right = l, r
		return id
	}
	grow(rows, nil, 0, math.Inf(-1), math.Inf(1))
	return t
}

func clamp(v, lo, hi float64) float64 { return math.Min(hi, math.Max(lo, v)) }

func buildHistogram(b *binned, g, h []float64, rows []int) *histogram {
	hist := new(histogram)
	for _, i := range rows {
		gi, hi := g[i], h[i]
		for f, bin := range b.bins[i] {
			hist[f][bin][0] += gi
			hist[f][bin][1] += hi
		}
	}
	return hist
}

func goesLeft(bin uint8, s split) bool {
	if bin == missingBin {
		return s.missingLeft
	}
	return int(bin) <= s.bin
}

func bestSplit(b *binned, hist *histogram, G, H, lo, hi float64, cfg GBTConfig) (split, bool) {
	score := func(g, h float64) float64 { return g * g / (h + cfg.Lambda) }
	parent := score(G, H)
	best := split{gain: 1e-9}
	found := false
	consider := func(f, bin int, ml bool, lg, lh float64) {
		rg, rh := G-lg, H-lh
		if lh < cfg.MinHessian || rh < cfg.MinHessian {
			return
		}
		wl, wr := clamp(-lg/(lh+cfg.Lambda), lo, hi), clamp(-rg/(rh+cfg.Lambda), lo, hi)
		if d := cfg.Monotone[f]; d > 0 && wl > wr || d < 0 && wl < wr {
			return
		}
		if gain := score(lg, lh) + score(rg, rh) - parent; gain > best.gain {
			best, found = split{gain: gain, feature: f, bin: bin, missingLeft: ml, wl: wl, wr: wr}, true
		}
	}
	for f := range dedup.NumFeatures {
		nb := len(b.cuts[f]) + 1
		mg, mh := hist[f][missingBin][0], hist[f][missingBin][1]
		var gl, hl float64
		for k := 0; k < nb-1; k++ {
			gl += hist[f][k][0]
			hl += hist[f][k][1]
			consider(f, k, false, gl, hl)
			if mh > 0 {
				consider(f, k, true, gl+mg, hl+mh)
			}
		}
		// Missing against everything else: no order, so no constraint.
		if mh > 0 {
			d := cfg.Monotone[f]
			cfg.Monotone[f] = 0
			consider(f, -1, true, mg, mh)
			cfg.Monotone[f] = d
		}
	}
	return best, found
}

func leafValue(t *gtree, bins [dedup.NumFeatures]uint8) float64 {
	n := &t.nodes[0]
	for n.left > 0 {
		if goesLeft(bins[n.split.feature], n.split) {
			n = &t.nodes[n.left]
		} else {
			n = &t.nodes[n.right]
		}
	}
	return n.value
}

// toDedupTree turns bins into thresholds. A split of the missing values
// from all others gets a threshold below every value.
func toDedupTree(t *gtree, b *binned) dedup.Tree {
	out := dedup.Tree{Nodes: make([]dedup.Node, len(t.nodes))}
	for i, n := range t.nodes {
		out.Nodes[i] = dedup.Node{Value: roundTo(n.value, 1e-6)}
		if n.left == 0 {
			continue
		}
		cuts := b.cuts[n.split.feature]
		thr := -math.MaxFloat64
		if n.split.bin >= 0 {
			thr = roundTo(cuts[n.split.bin], 1e-6)
		}
		out.Nodes[i].Feature, out.Nodes[i].Threshold = n.split.feature, thr
		out.Nodes[i].Left, out.Nodes[i].Right, out.Nodes[i].MissingLeft = n.left, n.right, n.split.missingLeft
	}
	return out
}

// roundTo rounds v to a multiple of unit, a power of ten (1e-6, 0.01),
// landing on the double nearest the decimal so that JSON shows it short.
func roundTo(v, unit float64) float64 {
	if unit < 1 {
		p := math.Round(1 / unit)
		return math.Round(v*p) / p
	}
	return math.Round(v/unit) * unit
}
