package dedupeval

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/listinggen/listinggen/internal/benchinfo"

	"github.com/listinggen/listinggen/pipeline/dedup"
)

// Row is one line of the cross-domain table: a labelled set and how each
// model and the baseline do on it.
type Row struct {
	Name string
	// Size says what the set holds ("1,916 pairs, 206 matches").
	Size string
	// All is the model fitted on every training set; LODO the one fitted
	// without this row's source. Both are measured at the threshold
	// tuned on the source's validation split (pairs) or at the
	// clustering threshold tuned on the catalogue's tune part (clusters).
	All, LODO Metrics
	// Shipped is the all-data model at the shipped policy's threshold,
	// the same for every source.
	Shipped Metrics
	// Baseline is trigram cosine of the titles, tuned like All; nil when
	// not run.
	Baseline *Metrics
	// Asked is the share of pairs whose score lies in the borderline band
	// [Similar, Duplicate) where the second opinion is asked; -1 for
	// clusters.
	Asked float64
	// CPU is the clustering's processor time, on one core (clusters).
	CPU time.Duration
}

// ReportConfig says what CrossDomain runs.
type ReportConfig struct {
	// Synthetic is the size of the synthetic catalogue; 0 runs none.
	Synthetic int
	// LODO fits the leave-one-dataset-out models (three fits).
	LODO bool
}

// CrossDomain measures the shipped model, the leave-one-dataset-out models
// and the trigram baseline on every test split and catalogue: the table
// of docs/benchmarks.md. d must hold the test splits. The LODO models are
// fitted here, with cfg; shipped is the all-data model.
func CrossDomain(d *Data, shipped *dedup.Model, cfg FitConfig, rc ReportConfig) []Row {
	lodo := map[string]*dedup.Model{}
	if rc.LODO {
		for _, b := range d.Benchmarks {
			lodo[b.Name] = FitData(d, cfg, b.Name)
		}
		lodo[CatalogueSource] = FitData(d, cfg, CatalogueSource)
	}
	var rows []Row
	for _, b := range d.Benchmarks {
		rows = append(rows, pairRow(b.Name+" test", b.Valid, b.Test, shipped, lodo[b.Name]))
	}
	tune, held := d.Train.Part(PartTune), d.Train.Part(PartHeld)
	rows = append(rows, pairRow("catalogue held-out pairs", tune.Pairs(), held.Pairs(), shipped, lodo[CatalogueSource]))
	for _, c := range []*Catalogue{d.Sample, held} {
		rows = append(rows, clusterRow(c, tune, shipped, lodo[CatalogueSource], true))
	}
	if rc.Synthetic > 0 {
		// Single linkage over every pair of a category is quadratic: the
		// baseline is left out at this size.
		rows = append(rows, clusterRow(Synthesize(held, rc.Synthetic, 1), tune, shipped, lodo[CatalogueSource], false))
	}
	return rows
}

// pairRow measures one benchmark's test split with thresholds from valid.
func pairRow(name string, valid, test []Pair, shipped, lodo *dedup.Model) Row {
	matches := 0
	for _, p := range test {
		if p.Match {
			matches++
		}
	}
	r := Row{Name: name, Size: fmt.Sprintf("%d pairs, %d matches", len(test), matches)}
	e := EvaluatePairs(valid, test, dedup.NewVerifier(shipped))
	r.All, r.Shipped, r.Asked, r.Baseline = e.Test, e.Shipped, e.Asked, &e.BaselineTest
	if lodo != nil {
		_, _, r.LODO = tuned(valid, test, verifierScore(dedup.NewVerifier(lodo)))
	}
	return r
}

// clusterRow clusters one catalogue with each model at its policy's
// clustering threshold (chosen on tune), timing the shipped model's run on
// one core, and the trigram baseline (single linkage within a category at
// the threshold best on tune) when baseline is set.
func clusterRow(c, tune *Catalogue, shipped, lodo *dedup.Model, baseline bool) Row {
	r := Row{Name: c.Name + " clusters", Asked: -1,
		Size: fmt.Sprintf("%d products, %d clusters", len(c.Products), countClusters(c.Truth))}
	items := c.Items()
	prev := runtime.GOMAXPROCS(1)
	start, wall := benchinfo.CPUTime(), time.Now()
	r.All = PairwiseF1(dedup.ClusterItems(items, dedup.ClusterConfig{Model: shipped}), c.Truth)
	r.CPU = benchinfo.CPUTime() - start
	if r.CPU <= 0 {
		r.CPU = time.Since(wall)
	}
	runtime.GOMAXPROCS(prev)
	r.Shipped = r.All
	if lodo != nil {
		r.LODO = PairwiseF1(dedup.ClusterItems(items, dedup.ClusterConfig{Model: lodo}), c.Truth)
	}
	if baseline {
		t := bestTrigramClusterThreshold(tune)
		b := PairwiseF1(TrigramClusters(items, t), c.Truth)
		b.Threshold = t
		r.Baseline = &b
	}
	return r
}

func countClusters(truth []int) int {
	seen := map[int]bool{}
	for _, t := range truth {
		seen[t] = true
	}
	return len(seen)
}

// TrigramClusters is the baseline clustering: within a category, products
// whose titles' trigram cosine is at or above t are joined, and joins
// chain (single linkage).
func TrigramClusters(items []dedup.Item, t float64) []int {
	parent := make([]int, len(items))
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
	for i := range items {
		for j := i + 1; j < len(items); j++ {
			if items[i].Category == items[j].Category && TrigramCosine(items[i], items[j]) >= t {
				parent[find(i)] = find(j)
			}
		}
	}
	ids := make([]int, len(items))
	for i := range ids {
		ids[i] = find(i)
	}
	return ids
}

func bestTrigramClusterThreshold(tune *Catalogue) float64 {
	items := tune.Items()
	best, bestF := 0.5, -1.0
	for k := 30; k <= 95; k += 5 {
		t := float64(k) / 100
		if f := PairwiseF1(TrigramClusters(items, t), tune.Truth).F1; f > bestF {
			best, bestF = t, f
		}
	}
	return best
}

// PrintTable writes the rows as a Markdown table.
func PrintTable(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| data | size | F1 all data (P / R) | F1 leave-one-out (drop) | F1 at the shipped threshold | trigram baseline F1 | second opinion asked | clustering CPU |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		lodo := "—"
		if r.LODO.TruePos+r.LODO.FalsePos+r.LODO.FalseN > 0 {
			lodo = fmt.Sprintf("%.3f (%+.3f)", r.LODO.F1, r.LODO.F1-r.All.F1)
		}
		base := "—"
		if r.Baseline != nil {
			base = fmt.Sprintf("%.3f", r.Baseline.F1)
		}
		asked, cpu := "—", "—"
		if r.Asked >= 0 {
			asked = fmt.Sprintf("%.1f%%", 100*r.Asked)
		}
		if r.CPU > 0 {
			cpu = r.CPU.Round(10 * time.Millisecond).String()
		}
		fmt.Fprintf(w, "| %s | %s | **%.3f** (%.3f / %.3f) | %s | %.3f | %s | %s | %s |\n", r.Name, r.Size,
			r.All.F1, r.All.Precision, r.All.Recall, lodo, r.Shipped.F1, base, asked, cpu)
	}
}

// RowFor returns the row whose name begins with prefix.
func RowFor(rows []Row, prefix string) (Row, bool) {
	for _, r := range rows {
		if strings.HasPrefix(r.Name, prefix) {
			return r, true
		}
	}
	return Row{}, false
}
