package dedupeval

import (
	"fmt"
	"io"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

// PairwiseF1 compares a clustering with the truth over all pairs of
// items: a pair is positive when both are in one cluster.
func PairwiseF1(got, truth []int) Metrics {
	var m Metrics
	for i := range got {
		for j := i + 1; j < len(got); j++ {
			g, t := got[i] == got[j], truth[i] == truth[j]
			switch {
			case g && t:
				m.TruePos++
			case g:
				m.FalsePos++
			case t:
				m.FalseN++
			}
		}
	}
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
