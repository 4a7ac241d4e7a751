package dedup

import (
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
// already strong evidence against a match). Within a category, pairs the
// verifier scores at or above the threshold link products; each connected
// group is then split by average linkage, which merges two clusters only
// when their pairs score at or above the threshold on average, so that one
// spurious link does not chain two items together. Work is quadratic in the
// size of a category, since every pair within it is scored.

// ClusterConfig configures Cluster.
type ClusterConfig struct {
	// Threshold is the verifier score at which two products are the same
	// item; zero means the dedup Config's DuplicateScore.
	Threshold float64
	Weights   Weights
}

// DefaultClusterConfig uses the default weights and duplicate threshold.
func DefaultClusterConfig() ClusterConfig {
	return ClusterConfig{Threshold: DefaultConfig().DuplicateScore, Weights: DefaultWeights()}
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

// ClusterItems is Cluster for prepared items.
func ClusterItems(items []Item, cfg ClusterConfig) []int {
	v := NewVerifier(cfg.Weights)
	feats := make([]*features, len(items))
	blocks := map[string][]int{}
	for i, it := range items {
		feats[i] = prepare(it)
		blocks[it.Category] = append(blocks[it.Category], i)
	}
	label := make([]int, len(items))
	for i := range label {
		label[i] = i
	}
	for _, members := range blocks {
		clusterBlock(v, feats, members, cfg.Threshold, label)
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

// clusterBlock clusters one category; label[i] becomes the smallest index
// of i's cluster.
func clusterBlock(v *Verifier, feats []*features, members []int, threshold float64, label []int) {
	m := len(members)
	score := make([][]float64, m)
	for i := range score {
		score[i] = make([]float64, m)
	}
	parent := make([]int, m)
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i := 0; i < m; i++ {
		for j := i + 1; j < m; j++ {
			s := v.compare(feats[members[i]], feats[members[j]]).Score
			score[i][j], score[j][i] = s, s
			if s >= threshold {
				parent[find(i)] = find(j)
			}
		}
	}
	components := map[int][]int{}
	for i := 0; i < m; i++ {
		components[find(i)] = append(components[find(i)], i)
	}
	for _, comp := range components {
		for _, group := range averageLinkage(comp, score, threshold) {
			low := members[group[0]]
			for _, k := range group {
				low = min(low, members[k])
			}
			for _, k := range group {
				label[members[k]] = low
			}
		}
	}
}

// averageLinkage merges the closest pair of clusters (by mean pair score)
// while that mean is at or above threshold. Components are small (a few
// offers of one item and their look-alikes), so the cubic loop is cheap.
func averageLinkage(comp []int, score [][]float64, threshold float64) [][]int {
	clusters := make([][]int, len(comp))
	for i, k := range comp {
		clusters[i] = []int{k}
	}
	for len(clusters) > 1 {
		bi, bj, best := -1, -1, threshold
		for i := range clusters {
			for j := i + 1; j < len(clusters); j++ {
				var sum float64
				for _, a := range clusters[i] {
					for _, b := range clusters[j] {
						sum += score[a][b]
					}
				}
				if avg := sum / float64(len(clusters[i])*len(clusters[j])); avg >= best {
					bi, bj, best = i, j, avg
				}
			}
		}
		if bi < 0 {
			break
		}
		clusters[bi] = append(clusters[bi], clusters[bj]...)
		clusters = append(clusters[:bj], clusters[bj+1:]...)
	}
	return clusters
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
