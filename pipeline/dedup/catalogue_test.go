package dedup

import (
	"os"
	"testing"

	"github.com/listinggen/listinggen"
)

// loadCatalogue reads the sample catalogue and its true clusters, as one
// cluster number per product.
func loadCatalogue(t testing.TB) ([]listinggen.Product, []int) {
	t.Helper()
	f, err := os.Open("../../testdata/catalogue/sample-300.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps, err := ReadProducts(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.Open("../../testdata/catalogue/sample-300.clusters.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	truth, err := ReadTruth(g, ps)
	if err != nil {
		t.Fatal(err)
	}
	return ps, truth
}
