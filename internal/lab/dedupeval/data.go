package dedupeval

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

// Benchmark is a product-matching set with its three splits: fit on
// Train, choose thresholds on Valid, report Test.
type Benchmark struct {
	Name               string
	Train, Valid, Test []Pair
}

// Catalogue is a catalogue with its true clusters.
type Catalogue struct {
	Name     string
	Products []listinggen.Product
	Truth    []int
}

// Part returns the products and clusters of one part of the catalogue's
// split (SplitByCluster with SplitSeed).
func (c *Catalogue) Part(p Part) *Catalogue {
	ps, tr := Subset(c.Products, c.Truth, SplitByCluster(c.Products, c.Truth, SplitSeed), p)
	return &Catalogue{Name: c.Name + " " + p.String(), Products: ps, Truth: tr}
}

// Items are the catalogue's products as the verifier sees them.
func (c *Catalogue) Items() []dedup.Item {
	out := make([]dedup.Item, len(c.Products))
	for i := range c.Products {
		out[i] = dedup.ItemFromProduct(&c.Products[i])
	}
	return out
}

// MeanCategorySize is the mean number of products per category.
func MeanCategorySize(ps []listinggen.Product) float64 {
	cats := map[string]bool{}
	for _, p := range ps {
		cats[dedup.Fold(p.Category)] = true
	}
	return float64(len(ps)) / float64(max(1, len(cats)))
}

// Pairs are the catalogue's labelled same-category pairs.
func (c *Catalogue) Pairs() []Pair { return CataloguePairs(c.Products, c.Truth) }

// Data is everything the fit and the evaluation read, from the
// repository's testdata directory.
type Data struct {
	Benchmarks []Benchmark
	// Train is the catalogue split by cluster into fit, tune and held-out
	// parts; Sample is a further catalogue used only to report.
	Train, Sample *Catalogue
}

// Files names the data files under the testdata directory.
var Files = struct {
	Benchmarks                   []string
	TrainCatalogue, TrainTruth   string
	SampleCatalogue, SampleTruth string
}{
	Benchmarks:      []string{"abt-buy", "wdc"},
	TrainCatalogue:  "catalogue/train-2000.jsonl",
	TrainTruth:      "catalogue/train-2000.clusters.jsonl",
	SampleCatalogue: "catalogue/sample-300.jsonl",
	SampleTruth:     "catalogue/sample-300.clusters.jsonl",
}

// LoadData reads the benchmarks and catalogues under dir (testdata). With
// withTest false the test splits are not read at all, as a fit must not.
func LoadData(dir string, withTest bool) (*Data, error) {
	d := &Data{}
	for _, name := range Files.Benchmarks {
		b := Benchmark{Name: name}
		var err error
		if b.Train, err = ReadPairsFile(filepath.Join(dir, "dedup", name+"-train.jsonl")); err != nil {
			return nil, err
		}
		if b.Valid, err = ReadPairsFile(filepath.Join(dir, "dedup", name+"-valid.jsonl")); err != nil {
			return nil, err
		}
		if withTest {
			if b.Test, err = ReadPairsFile(filepath.Join(dir, "dedup", name+"-test.jsonl")); err != nil {
				return nil, err
			}
		}
		d.Benchmarks = append(d.Benchmarks, b)
	}
	var err error
	if d.Train, err = ReadCatalogueFiles("train-2000", filepath.Join(dir, Files.TrainCatalogue), filepath.Join(dir, Files.TrainTruth)); err != nil {
		return nil, err
	}
	if withTest {
		if d.Sample, err = ReadCatalogueFiles("sample-300", filepath.Join(dir, Files.SampleCatalogue), filepath.Join(dir, Files.SampleTruth)); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// ReadPairsFile reads labelled pairs from a file.
func ReadPairsFile(path string) ([]Pair, error) { return readFile(path, ReadPairs) }

// ReadCatalogueFile reads products, one JSON object a line.
func ReadCatalogueFile(path string) ([]listinggen.Product, error) {
	return readFile(path, ReadProducts)
}

// readFile opens path and reads it with read, naming the file in errors.
func readFile[T any](path string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	v, err := read(f)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// ReadCatalogueFiles reads a catalogue and its true clusters.
func ReadCatalogueFiles(name, cataloguePath, truthPath string) (*Catalogue, error) {
	ps, err := ReadCatalogueFile(cataloguePath)
	if err != nil {
		return nil, err
	}
	truth, err := readFile(truthPath, func(r io.Reader) ([]int, error) { return ReadTruth(r, ps) })
	if err != nil {
		return nil, err
	}
	return &Catalogue{Name: name, Products: ps, Truth: truth}, nil
}

// TrainSets are the training pairs of every source: each benchmark's
// train split and the catalogue's fit part.
func (d *Data) TrainSets() []Named {
	var out []Named
	for _, b := range d.Benchmarks {
		out = append(out, Named{Name: b.Name, Pairs: b.Train})
	}
	return append(out, Named{Name: CatalogueSource, Pairs: d.Train.Part(PartFit).Pairs()})
}

// CatalogueSource names the catalogue among the training sources.
const CatalogueSource = "catalogue"

// ValidSets are the threshold-choosing pairs: each benchmark's valid split
// and the catalogue's tune part.
func (d *Data) ValidSets() []Named {
	var out []Named
	for _, b := range d.Benchmarks {
		out = append(out, Named{Name: b.Name, Pairs: b.Valid})
	}
	return append(out, Named{Name: CatalogueSource, Pairs: d.Train.Part(PartTune).Pairs()})
}
