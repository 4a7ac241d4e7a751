package dedupeval

import (
	"fmt"
	"hash/fnv"
	"io"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

// PairwiseF1 compares a clustering with the truth over all pairs of
// items: a pair is positive when both are in one cluster. It counts pairs
// by cluster sizes, so a large catalogue costs its length, not its square.
func PairwiseF1(got, truth []int) Metrics {
	pairs := func(n int) int { return n * (n - 1) / 2 }
	both := map[[2]int]int{}
	inGot, inTruth := map[int]int{}, map[int]int{}
	for i := range got {
		both[[2]int{got[i], truth[i]}]++
		inGot[got[i]]++
		inTruth[truth[i]]++
	}
	var tp, predicted, actual int
	for _, n := range both {
		tp += pairs(n)
	}
	for _, n := range inGot {
		predicted += pairs(n)
	}
	for _, n := range inTruth {
		actual += pairs(n)
	}
	m := Metrics{TruePos: tp, FalsePos: predicted - tp, FalseN: actual - tp}
	m.Precision, m.Recall, m.F1 = prf(m.TruePos, m.FalsePos, m.FalseN)
	return m
}

// ReadProducts reads a catalogue, one product as JSON a line.
func ReadProducts(r io.Reader) ([]listinggen.Product, error) {
	var out []listinggen.Product
	err := readJSONLines(r, func(_ int, p listinggen.Product) error {
		out = append(out, p)
		return nil
	})
	return out, err
}

// ReadTruth reads true clusters ({"cluster": n, "ids": [...]} a line) and
// returns one cluster number per product; products it does not name are
// clusters of their own, and an id naming no product is an error.
func ReadTruth(r io.Reader, products []listinggen.Product) ([]int, error) {
	index := map[string]int{}
	for i, p := range products {
		index[p.ID] = i
	}
	truth := make([]int, len(products))
	for i := range truth {
		truth[i] = -1 - i
	}
	type record struct {
		Cluster int      `json:"cluster"`
		IDs     []string `json:"ids"`
	}
	err := readJSONLines(r, func(n int, rec record) error {
		for _, id := range rec.IDs {
			i, ok := index[id]
			if !ok {
				return fmt.Errorf("line %d: product %q is not in the catalogue", n, id)
			}
			truth[i] = rec.Cluster
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return truth, nil
}

// CataloguePairs turns a catalogue and its true clusters into labelled
// pairs of products of the same category (the pairs Cluster compares).
func CataloguePairs(products []listinggen.Product, truth []int) []Pair {
	var out []Pair
	for i := range products {
		for j := i + 1; j < len(products); j++ {
			if products[i].Category == products[j].Category {
				out = append(out, Pair{A: dedup.ItemFromProduct(&products[i]), B: dedup.ItemFromProduct(&products[j]), Match: truth[i] == truth[j]})
			}
		}
	}
	return out
}

// Part is where a catalogue split puts a cluster.
type Part int

// The parts of a catalogue split: fitting, choosing thresholds, and
// reporting. A cluster lies wholly in one part, so that no item is seen
// in fitting under one supplier's offer and reported under another's.
const (
	PartFit Part = iota
	PartTune
	PartHeld
)

func (p Part) String() string { return [...]string{"fit", "tune", "held-out"}[p] }

// SplitSeed seeds the catalogue split behind the shipped model. Changing
// it changes which products the model is fitted on and reported on.
const SplitSeed = "listinggen-dedup-split-1"

// SplitByCluster assigns every product's cluster to a part by a seeded
// hash of the cluster's smallest product id: about 40% to fitting, 20% to
// tuning, 40% held out. The split depends on the ids only, never on the
// order of the file or on the products' content.
func SplitByCluster(products []listinggen.Product, truth []int, seed string) []Part {
	first := map[int]string{}
	for i, p := range products {
		if id, ok := first[truth[i]]; !ok || p.ID < id {
			first[truth[i]] = p.ID
		}
	}
	out := make([]Part, len(products))
	for i := range products {
		h := fnv.New64a()
		h.Write([]byte(seed + "\x00" + first[truth[i]]))
		switch b := h.Sum64() % 100; {
		case b < 40:
			out[i] = PartFit
		case b < 60:
			out[i] = PartTune
		default:
			out[i] = PartHeld
		}
	}
	return out
}

// Subset returns the products of one part and their cluster numbers.
func Subset(products []listinggen.Product, truth []int, parts []Part, part Part) ([]listinggen.Product, []int) {
	var ps []listinggen.Product
	var tr []int
	for i := range products {
		if parts[i] == part {
			ps = append(ps, products[i])
			tr = append(tr, truth[i])
		}
	}
	return ps, tr
}
