package dedup

import (
	"cmp"
	"container/heap"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/listinggen/listinggen"
)

// Catalogue clustering: the products of one import grouped into clusters of
// the same item offered by different suppliers, so that a job can make one
// listing per cluster per shop instead of one per supplier offer.
//
// Products are compared within their category (a different category is
// already strong evidence against a match), at a threshold that rises with
// the category's size (BlockThreshold). Within a category, each product
// is compared with its nearest neighbours by a cheap similarity (shared rare
// title tokens, attribute values and model numbers), so that the work grows
// with the catalogue rather than with its square. Pairs the verifier scores
// at or above the threshold link products; each linked group is then split
// by average linkage over all its pairs, which merges two clusters only when
// their pairs score at or above the threshold on average, so that a chain of
// borderline links does not join two items. Two offers whose specifications
// conflict (material, capacity, a size set: any attribute other than colour
// with unequal values) are never in one cluster.

// ClusterConfig configures Cluster.
type ClusterConfig struct {
	// Threshold is the mean verifier score at or above which two clusters
	// merge; zero means the model's policy.
	Threshold float64
	// Neighbours is how many nearest products of its category each product
	// is compared with; zero means DefaultNeighbours.
	Neighbours int
	// Model is the verifier's; nil means DefaultModel.
	Model *Model
}

// DefaultNeighbours covers the largest clusters of supplier offers with
// room for their look-alikes.
const DefaultNeighbours = 30

// DefaultClusterConfig uses the default model and its policy.
func DefaultClusterConfig() ClusterConfig {
	return ClusterConfig{}
}

// Cluster assigns a cluster number to every product: products[i] belongs to
// cluster ids[i]. Numbers start at 0 in the order of each cluster's first
// product, so the result does not depend on map order.
func Cluster(products []listinggen.Product, cfg ClusterConfig) []int {
	items := make([]Item, len(products))
	for i := range products {
		items[i] = ItemFromProduct(&products[i])
	}
	return ClusterItems(items, cfg)
}

// ClusterItems is Cluster for items.
func ClusterItems(items []Item, cfg ClusterConfig) []int {
	v := NewVerifier(cfg.Model)
	if cfg.Threshold == 0 {
		cfg.Threshold = v.m.Policy.Cluster
	}
	if cfg.Neighbours == 0 {
		cfg.Neighbours = DefaultNeighbours
	}
	feats := make([]*features, len(items))
	blocks := map[string][]int{}
	for i, it := range items {
		feats[i] = v.prepare(it)
		blocks[feats[i].category] = append(blocks[feats[i].category], i)
	}
	label := make([]int, len(items))
	for i := range label {
		label[i] = i
	}
	for _, name := range slices.Sorted(maps.Keys(blocks)) {
		c := &clusterer{v: v, feats: feats, members: blocks[name], label: label,
			threshold: BlockThreshold(cfg.Threshold, len(blocks[name]), v.m.Policy.ClusterBlock)}
		c.run(cfg.Neighbours)
	}
	// Renumber by first appearance.
	ids := make([]int, len(items))
	next := map[int]int{}
	for i, l := range label {
		n, ok := next[l]
		if !ok {
			n = len(next)
			next[l] = n
		}
		ids[i] = n
	}
	return ids
}

// Comparisons bounds the pairs Cluster scores for products under cfg:
// each product is compared with at most cfg.Neighbours others of its
// category. A caller that must bound clustering's time decides with it
// before clustering.
func Comparisons(products []listinggen.Product, cfg ClusterConfig) int {
	n := cmp.Or(cfg.Neighbours, DefaultNeighbours)
	sizes := map[string]int{}
	for i := range products {
		sizes[categoryKey(products[i].Category)]++
	}
	pairs := 0
	for _, m := range sizes {
		pairs += m * min(m-1, n)
	}
	return pairs
}

// BlockThreshold is the threshold for a category of m products, given the
// threshold chosen on categories of ref products on average. Among m
// products each offer has about m look-alikes and a handful of true
// matches, so the prior odds that a pair is one item fall as 1/m: the
// threshold's log-odds rise by ln(m/ref) in a larger category, so that
// the evidence that sufficed among ref look-alikes is asked to outweigh
// m. It never falls below the chosen threshold.
func BlockThreshold(t float64, m int, ref float64) float64 {
	if ref <= 0 || float64(m) <= ref {
		return t
	}
	return sigmoid(math.Log(t/(1-t)) + math.Log(float64(m)/ref))
}

// clusterer clusters one category.
type clusterer struct {
	v         *Verifier
	feats     []*features
	members   []int // indexes into feats
	threshold float64
	label     []int
	scores    map[[2]int]float64 // by member positions, lower first
}

func (c *clusterer) score(i, j int) float64 {
	if i > j {
		i, j = j, i
	}
	k := [2]int{i, j}
	s, ok := c.scores[k]
	if !ok {
		s = c.v.score(c.feats[c.members[i]], c.feats[c.members[j]])
		c.scores[k] = s
	}
	return s
}

// exactLinkage bounds the cluster pairs whose mean is taken over every
// pair across them, scoring those the neighbour lists left out; larger
// ones count a pair never scored as 0.
const exactLinkage = 64

// run clusters the category by average linkage over the scored pairs: the
// two clusters with the highest mean pair score merge, while that mean is
// at or above the threshold and their specifications agree.
func (c *clusterer) run(neighbours int) {
	m := len(c.members)
	c.scores = map[[2]int]float64{}
	cl := make([]*cluster, m)
	for i := range m {
		cl[i] = &cluster{id: i, members: []int{i}, sums: map[int]float64{}, specs: c.feats[c.members[i]].specMap()}
	}
	h := &linkHeap{}
	for i, near := range c.candidates(neighbours) {
		for _, j := range near {
			if s := c.score(i, j); s > 0 {
				a, b := min(i, j), max(i, j)
				if _, seen := cl[a].sums[b]; !seen {
					cl[a].sums[b], cl[b].sums[a] = s, s
				}
			}
		}
	}
	for i := range m {
		for j, s := range cl[i].sums {
			if i < j && s >= c.threshold {
				heap.Push(h, link{mean: s, a: i, b: j})
			}
		}
	}
	for h.Len() > 0 {
		l := heap.Pop(h).(link)
		a, b := cl[l.a], cl[l.b]
		if a.merged || b.merged || a.version != l.va || b.version != l.vb {
			continue
		}
		mean := c.mean(a, b)
		if mean < c.threshold || specsConflict(a.specs, b.specs) {
			continue
		}
		if mean != l.mean {
			// Queued at the mean over the scored pairs; the exact mean
			// (with the pairs no neighbour list held) takes its turn.
			heap.Push(h, link{mean: mean, a: l.a, b: l.b, va: a.version, vb: b.version})
			continue
		}
		c.merge(a, b, cl, h)
	}
	for _, k := range cl {
		if k.merged {
			continue
		}
		low := c.members[k.members[0]]
		for _, i := range k.members {
			low = min(low, c.members[i])
		}
		for _, i := range k.members {
			c.label[c.members[i]] = low
		}
	}
}

// mean is the mean pair score across a and b: over every pair when there
// are few, scoring those not yet scored; else over the scored ones, the
// others counting 0.
func (c *clusterer) mean(a, b *cluster) float64 {
	n := len(a.members) * len(b.members)
	if n > exactLinkage {
		return a.sums[b.id] / float64(n)
	}
	var sum float64
	for _, i := range a.members {
		for _, j := range b.members {
			sum += c.score(i, j)
		}
	}
	return sum / float64(n)
}

// merge folds b into a and queues a's new means with its neighbours.
func (c *clusterer) merge(a, b *cluster, cl []*cluster, h *linkHeap) {
	b.merged = true
	a.version++
	a.members = append(a.members, b.members...)
	for name, vs := range b.specs {
		if a.specs == nil {
			a.specs = map[string]map[string]bool{}
		}
		a.specs[name] = vs
	}
	delete(a.sums, b.id)
	for n, s := range b.sums {
		if n == a.id {
			continue
		}
		a.sums[n] += s
		other := cl[n]
		delete(other.sums, b.id)
		other.sums[a.id] = a.sums[n]
	}
	for _, n := range slices.Sorted(maps.Keys(a.sums)) {
		other := cl[n]
		if mean := a.sums[n] / float64(len(a.members)*len(other.members)); mean >= c.threshold || len(a.members)*len(other.members) <= exactLinkage {
			x, y := a, other
			if y.id < x.id {
				x, y = y, x
			}
			heap.Push(h, link{mean: mean, a: x.id, b: y.id, va: x.version, vb: y.version})
		}
	}
}

// cluster is a cluster under average linkage: its member positions, the
// summed scores to each neighbouring cluster, and its specifications
// (every member stating an attribute states the same values).
type cluster struct {
	id      int
	members []int
	sums    map[int]float64
	specs   map[string]map[string]bool
	merged  bool
	version int
}

// link is a candidate merge; it is stale when either side has changed
// since (its version moved on).
type link struct {
	mean   float64
	a, b   int
	va, vb int
}

// linkHeap pops the highest mean first, ties by the lower cluster ids, so
// that clustering does not depend on map order.
type linkHeap []link

func (h linkHeap) Len() int { return len(h) }
func (h linkHeap) Less(i, j int) bool {
	if h[i].mean != h[j].mean {
		return h[i].mean > h[j].mean
	}
	if h[i].a != h[j].a {
		return h[i].a < h[j].a
	}
	return h[i].b < h[j].b
}
func (h linkHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *linkHeap) Push(x any)   { *h = append(*h, x.(link)) }
func (h *linkHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// candidates returns, for each member, the positions of its nearest other
// members by the cosine of their blocking vectors (rare title tokens,
// attribute values, model numbers), at most n of them, nearest first and
// ties by position. A category of at most n+1 members compares every pair.
func (c *clusterer) candidates(n int) [][]int {
	m := len(c.members)
	out := make([][]int, m)
	if m <= n+1 {
		for i := range out {
			for j := i + 1; j < m; j++ {
				out[i] = append(out[i], j)
			}
		}
		return out
	}
	vecs := make([][]weighted, m)
	weightOf := make([]map[string]float64, m)
	norms := make([]float64, m)
	postings := map[string][]int{}
	for i, k := range c.members {
		weightOf[i] = blockingVector(c.feats[k])
		for _, t := range slices.Sorted(maps.Keys(weightOf[i])) {
			w := weightOf[i][t]
			vecs[i] = append(vecs[i], weighted{t, w})
			norms[i] += w * w
			postings[t] = append(postings[t], i)
		}
		norms[i] = math.Sqrt(norms[i])
	}
	dot := make([]float64, m)
	var touched []int
	for i := range m {
		touched = touched[:0]
		for _, tw := range vecs[i] {
			for _, j := range postings[tw.t] {
				if j == i {
					continue
				}
				if dot[j] == 0 {
					touched = append(touched, j)
				}
				dot[j] += tw.w * weightOf[j][tw.t]
			}
		}
		sort.Slice(touched, func(a, b int) bool {
			sa, sb := dot[touched[a]]/norms[touched[a]], dot[touched[b]]/norms[touched[b]]
			if sa != sb {
				return sa > sb
			}
			return touched[a] < touched[b]
		})
		out[i] = slices.Clone(touched[:min(n, len(touched))])
		for _, j := range touched {
			dot[j] = 0
		}
	}
	return out
}

type weighted struct {
	t string
	w float64
}

// blockingVector is what candidates compare: title tokens by rarity, each
// attribute value, the whole attribute map, the price band and each model
// number. Offers of one item state the same attributes at about the same
// price, so those weigh most.
func blockingVector(f *features) map[string]float64 {
	v := make(map[string]float64, len(f.title.ids)+len(f.attrs)+len(f.codes)+3)
	for i, t := range f.title.toks {
		v[t] = f.title.w[i]
	}
	if len(f.attrs) > 0 {
		var sig strings.Builder
		for _, name := range f.attrNames {
			sig.WriteString(name + "\x00" + joinOrdered(f.attrOrder[name]) + "\x00")
			for val := range f.attrs[name] {
				v["\x00a"+name+"\x00"+val] = blockAttrWeight
			}
		}
		v["\x00s"+sig.String()] = blockMapWeight
	}
	if p := f.item.Price; p > 0 {
		// Bands a tenth of a natural log wide (about 10%), with the next
		// band up, so that prices either side of a band edge share one.
		b := int(math.Floor(math.Log(p) * 10))
		v["\x00p"+strconv.Itoa(b)] = blockPriceWeight
		v["\x00p"+strconv.Itoa(b+1)] = blockPriceWeight
	}
	for _, c := range f.codes {
		v["\x00c"+c.c] = blockCodeWeight
	}
	return v
}

// Blocking weights, on the scale of title tokens' rarity: an attribute
// value weighs as a fairly rare word, the whole map and a model number as
// the rarest.
const (
	blockAttrWeight  = 3
	blockMapWeight   = 8
	blockPriceWeight = 4
	blockCodeWeight  = 8
)

// specMap is the item's specifications that rule out a match when they
// differ: its attributes other than colours.
func (f *features) specMap() map[string]map[string]bool {
	var out map[string]map[string]bool
	for name, vs := range f.attrs {
		if !isColour(name) {
			if out == nil {
				out = map[string]map[string]bool{}
			}
			out[name] = vs
		}
	}
	return out
}

// specsConflict reports two offers, or clusters of offers, that cannot be
// one item: an attribute both state, other than a colour, with unequal
// values (material 棉 and 涤纶, capacity 500ml and 750ml, sizes S/M/L and
// S/M). Suppliers of one item offer different colour assortments, so
// colours do not count.
func specsConflict(a, b map[string]map[string]bool) bool {
	for name, as := range a {
		if bs, ok := b[name]; ok && !sameSet(as, bs) {
			return true
		}
	}
	return false
}

// isColour reports an attribute name that names a colour (颜色, 主色,
// colour, color).
func isColour(name string) bool {
	return strings.Contains(name, "色") || strings.Contains(name, "colo")
}

// BestOffer picks the offer of a cluster to list: the most complete (most
// attributes, images, description and a brand), then the cheapest, then
// the first. It returns an index into products.
func BestOffer(products []listinggen.Product) int {
	best := -1
	var bestComplete int
	var bestPrice float64
	for i := range products {
		p := &products[i]
		complete := len(p.Attributes)*4 + min(len(p.Images), 5)*2 + min(len([]rune(p.Description))/100, 5)
		if strings.TrimSpace(p.Brand) != "" {
			complete += 2
		}
		price := 0.0
		if p.Price != nil {
			price, _ = strconv.ParseFloat(p.Price.Amount, 64)
		}
		cheaper := price > 0 && (bestPrice == 0 || price < bestPrice)
		if best < 0 || complete > bestComplete || complete == bestComplete && cheaper {
			best, bestComplete, bestPrice = i, complete, price
		}
	}
	return best
}

// Groups turns cluster ids into the lists of member indexes, in cluster
// order.
func Groups(ids []int) [][]int {
	n := 0
	for _, id := range ids {
		n = max(n, id+1)
	}
	out := make([][]int, n)
	for i, id := range ids {
		out[id] = append(out[id], i)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a][0] < out[b][0] })
	return out
}
