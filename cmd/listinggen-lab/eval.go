package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/listinggen/listinggen/internal/envflag"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/hashembed"
	"github.com/listinggen/listinggen/internal/lab/dedupeval"
	"github.com/listinggen/listinggen/pipeline"
	"github.com/listinggen/listinggen/pipeline/compliance"
	"github.com/listinggen/listinggen/pipeline/dedup"
	"github.com/listinggen/listinggen/rules"
	"github.com/listinggen/listinggen/sqlite"
)

const evalUsage = `Usage:
  listinggen-lab eval [all]        the table, diversity and latency, on the repository's test data
  listinggen-lab eval table        [--data DIR] [--synthetic 20000] [--lodo=true]
                                   every test split and catalogue: the shipped model, the
                                   leave-one-dataset-out models, the trigram baseline, the
                                   second-opinion share and the clustering time, in one table
  listinggen-lab eval dedup        --pairs FILE --tune-on FILE [--curve FILE.svg]
  listinggen-lab eval clusters     --catalogue FILE --truth FILE
  listinggen-lab eval diversity    --catalogue FILE [--shops 10]
  listinggen-lab eval latency      --catalogue FILE [--shops 10] [--queries 300]

Run from the repository root, or point the flags at the files.
`

// evalFiles are the default inputs, relative to the repository root.
var evalFiles = struct{ pairs, tune, catalogue, truth string }{
	"testdata/dedup/abt-buy-test.jsonl", "testdata/dedup/abt-buy-valid.jsonl",
	"testdata/catalogue/sample-300.jsonl", "testdata/catalogue/sample-300.clusters.jsonl",
}

// eval prints the dedup evaluation: Abt-Buy matching F1 against the trigram
// baseline, catalogue clustering F1, per-shop title diversity and the
// verified check's latency against the unverified one.
func eval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	what := "all"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		what, args = args[0], args[1:]
	}
	fs := envflag.New("eval "+what, func(string) string { return "" }, stderr)
	pairs := fs.FlagSet.String("pairs", evalFiles.pairs, "labelled pairs to report (JSON lines)")
	tune := fs.FlagSet.String("tune-on", evalFiles.tune, "labelled pairs the threshold is tuned on, never the reported file")
	curve := fs.FlagSet.String("curve", "", "write the precision-recall curves to this SVG file")
	catalogue := fs.FlagSet.String("catalogue", evalFiles.catalogue, "products, one JSON object a line")
	truth := fs.FlagSet.String("truth", evalFiles.truth, "true clusters: {\"cluster\": n, \"ids\": [...]} a line")
	shops := fs.FlagSet.Int("shops", 10, "shops of one group the catalogue is generated for (diversity, latency)")
	queries := fs.FlagSet.Int("queries", 300, "dedup checks timed (latency)")
	data := fs.FlagSet.String("data", "testdata", "the testdata directory (table)")
	synthetic := fs.FlagSet.Int("synthetic", 20000, "products of the synthetic catalogue, 0 for none (table)")
	lodo := fs.FlagSet.Bool("lodo", true, "fit and measure the leave-one-dataset-out models (table)")
	fs.FlagSet.Usage = func() { fmt.Fprint(stderr, evalUsage); fs.FlagSet.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return err
	}
	run := map[string]func() error{
		"table":     func() error { return evalTable(stdout, *data, *synthetic, *lodo) },
		"dedup":     func() error { return evalPairs(stdout, *pairs, *tune, *curve) },
		"clusters":  func() error { return evalClusters(stdout, *catalogue, *truth) },
		"diversity": func() error { return evalDiversity(ctx, stdout, *catalogue, *shops) },
		"latency":   func() error { return evalLatency(ctx, stdout, *catalogue, *shops, *queries) },
	}
	if what == "all" {
		for _, name := range []string{"table", "diversity", "latency"} {
			if err := run[name](); err != nil {
				return fmt.Errorf("eval %s: %w", name, err)
			}
		}
		return nil
	}
	f, ok := run[what]
	if !ok {
		fmt.Fprint(stderr, evalUsage)
		return fmt.Errorf("unknown eval %q", what)
	}
	return f()
}

func evalPairs(w io.Writer, pairsPath, tunePath, curvePath string) error {
	if filepath.Clean(pairsPath) == filepath.Clean(tunePath) {
		return errors.New("--tune-on must not be the reported file: a threshold tuned on the test split overstates F1")
	}
	test, err := dedupeval.ReadPairsFile(pairsPath)
	if err != nil {
		return err
	}
	tune, err := dedupeval.ReadPairsFile(tunePath)
	if err != nil {
		return err
	}
	r := dedupeval.EvaluatePairs(tune, test, dedup.NewVerifier(nil))
	fmt.Fprintf(w, "== dedup pairs: %s (%d pairs), threshold tuned on %s (%d pairs)\n", pairsPath, len(test), tunePath, len(tune))
	fmt.Fprintf(w, "%-26s %s\n", "verifier (evidence)", r.Test)
	fmt.Fprintf(w, "%-26s %s; second opinion asked on %.1f%% of pairs\n", "at the shipped threshold", r.Shipped, 100*r.Asked)
	fmt.Fprintf(w, "%-26s %s\n", "baseline (trigram cosine)", r.BaselineTest)
	fmt.Fprintf(w, "%-26s %.3f (mean squared error of the scores as probabilities)\n", "verifier Brier score", r.Brier)
	if curvePath != "" {
		f, err := os.Create(curvePath)
		if err != nil {
			return err
		}
		err = dedupeval.CurveSVG(f, "precision-recall on "+filepath.Base(pairsPath),
			map[string][]dedupeval.Metrics{"verifier": r.Curve, "trigram cosine": r.BaselineCurve},
			map[string]dedupeval.Metrics{"verifier": r.Test, "trigram cosine": r.BaselineTest})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "precision-recall curves written to %s\n", curvePath)
	}
	return nil
}

func evalClusters(w io.Writer, cataloguePath, truthPath string) error {
	c, err := dedupeval.ReadCatalogueFiles(filepath.Base(cataloguePath), cataloguePath, truthPath)
	if err != nil {
		return err
	}
	ps, truth := c.Products, c.Truth
	start := time.Now()
	got := dedup.Cluster(ps, dedup.DefaultClusterConfig())
	took := time.Since(start)
	m := dedupeval.PairwiseF1(got, truth)
	m.Threshold = dedup.DefaultModel().Policy.Cluster
	fmt.Fprintf(w, "== catalogue clusters: %s (%d products), truth %s\n", cataloguePath, len(ps), truthPath)
	fmt.Fprintf(w, "%-26s %s; %d clusters in %v\n", "pairwise", m, len(dedup.Groups(got)), took.Round(time.Millisecond))
	return nil
}

// evalTable prints the cross-domain table: every test split and catalogue,
// measured with the shipped model, the leave-one-dataset-out models and
// the trigram baseline.
func evalTable(w io.Writer, dir string, synthetic int, lodo bool) error {
	d, err := dedupeval.LoadData(dir, true)
	if err != nil {
		return err
	}
	start := time.Now()
	rows := dedupeval.CrossDomain(d, dedup.DefaultModel(), dedupeval.DefaultFitConfig(), dedupeval.ReportConfig{Synthetic: synthetic, LODO: lodo})
	p := dedup.DefaultModel().Policy
	fmt.Fprintf(w, "== dedup across domains (%s; %v)\n", dir, time.Since(start).Round(time.Second))
	fmt.Fprintf(w, "pairs: threshold tuned on each source's valid split (catalogue: the tune part of train-2000); shipped threshold %.2f, second opinion on [%.3f, %.2f)\n",
		p.Duplicate, p.Similar, p.Duplicate)
	fmt.Fprintf(w, "clusters: pairwise, at the clustering threshold chosen on the tune part (%.2f in categories of %.1f products, higher in larger ones); CPU on one core\n\n",
		p.Cluster, p.ClusterBlock)
	dedupeval.PrintTable(w, rows)
	return nil
}

// offlinePipeline is the service's offline pipeline (rules rewriter,
// hashing embedder, no images) over a fresh SQLite store in a temporary
// directory, which cleanup removes.
func offlinePipeline(ctx context.Context) (*pipeline.Pipeline, *sqlite.Store, func(), error) {
	dir, err := os.MkdirTemp("", "listinggen-eval-")
	if err != nil {
		return nil, nil, nil, err
	}
	cfg := sqlite.DefaultConfig()
	cfg.Path = filepath.Join(dir, "eval.db")
	store, err := sqlite.Open(ctx, cfg, time.Now, func() string { return uuid.Must(uuid.NewV7()).String() })
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	cleanup := func() { store.Close(); os.RemoveAll(dir) }
	checker, err := compliance.New()
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	rw, err := rules.New(checker)
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	emb, err := hashembed.New(hashembed.DefaultConfig())
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	p, err := pipeline.New(pipeline.Config{Store: store, Rewriter: rw, Embedder: emb, Checker: checker,
		Dedup: dedup.DefaultConfig(), Logger: slog.New(slog.DiscardHandler), Now: time.Now})
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	return p, store, cleanup, nil
}

// DiversityResult is the per-shop title diversity of one catalogue
// generated for several shops of one group.
type DiversityResult struct {
	Products, Shops, Listings int
	// Pairs are the title pairs compared (one product's titles across
	// shops); AtOrAbove those scoring at or above the duplicate threshold.
	Pairs, AtOrAbove int
	Max              float64
	// Offending lists the title pairs at or above the threshold, so that
	// a failing run says which products ran out of words.
	Offending []TitlePair
	// CopyAtOrAbove counts the same over title and selling points, the
	// text the group check compares.
	CopyAtOrAbove int
	CopyMax       float64
	// Rewrites counts the extra rewrites the pipeline made to get copy
	// away from another shop's.
	Rewrites  int
	Threshold float64
	Took      time.Duration
	// The pipeline and store that made the listings, for the latency
	// evaluation.
	pipeline *pipeline.Pipeline
	store    listinggen.Store
	shops    []*listinggen.Shop
	products []listinggen.Product
}

// TitlePair is two shops' titles of one product and their similarity.
type TitlePair struct {
	ProductID string
	A, B      string
	Score     float64
}

// generateForGroup runs the real pipeline for every product and shop of a
// new group and measures how far apart each product's titles are, with the
// embedder and threshold the dedup check uses.
func generateForGroup(ctx context.Context, p *pipeline.Pipeline, store listinggen.Store, products []listinggen.Product, nShops int) (*DiversityResult, error) {
	emb, err := hashembed.New(hashembed.DefaultConfig())
	if err != nil {
		return nil, err
	}
	cfg := dedup.DefaultConfig()
	r := &DiversityResult{Products: len(products), Shops: nShops, Threshold: cfg.DuplicateThreshold, pipeline: p, store: store, products: products}
	platforms := []listinggen.Platform{listinggen.PlatformDouyin, listinggen.PlatformTaobao, listinggen.PlatformPinduoduo}
	for i := range nShops {
		sh := &listinggen.Shop{TenantID: listinggen.DefaultTenant, Name: fmt.Sprintf("店群%02d", i+1), Platform: platforms[i%len(platforms)], Group: "eval-group"}
		if err := store.CreateShop(ctx, sh); err != nil {
			return nil, err
		}
		r.shops = append(r.shops, sh)
	}
	start := time.Now()
	for _, prod := range products {
		titles := make([]string, 0, nShops)
		copies := make([][]float32, 0, nShops)
		for _, sh := range r.shops {
			st, err := p.Generate(ctx, listinggen.DefaultTenant, prod, sh)
			if err != nil {
				return nil, fmt.Errorf("product %s, shop %s: %w", prod.ID, sh.Name, err)
			}
			r.Listings++
			r.Rewrites += st.Rewrites
			titles = append(titles, st.Listing.Copy.Title)
			copies = append(copies, emb.Vector(pipeline.EmbeddingText(st.Listing.Copy)))
		}
		for i := range titles {
			for j := i + 1; j < len(titles); j++ {
				r.Pairs++
				t, c := dedup.TitleSimilarity(titles[i], titles[j]), listinggen.Cosine(copies[i], copies[j])
				r.Max, r.CopyMax = max(r.Max, t), max(r.CopyMax, c)
				if t >= r.Threshold {
					r.AtOrAbove++
					r.Offending = append(r.Offending, TitlePair{ProductID: prod.ID, A: titles[i], B: titles[j], Score: t})
				}
				if c >= r.Threshold {
					r.CopyAtOrAbove++
				}
			}
		}
	}
	r.Took = time.Since(start)
	return r, nil
}

func evalDiversity(ctx context.Context, w io.Writer, cataloguePath string, nShops int) error {
	r, cleanup, err := diversity(ctx, cataloguePath, nShops)
	if err != nil {
		return err
	}
	defer cleanup()
	printDiversity(w, r)
	return nil
}

func diversity(ctx context.Context, cataloguePath string, nShops int) (*DiversityResult, func(), error) {
	if nShops < 2 || nShops > 100 {
		return nil, nil, errors.New("--shops must be in [2, 100]")
	}
	ps, err := dedupeval.ReadCatalogueFile(cataloguePath)
	if err != nil {
		return nil, nil, err
	}
	p, store, cleanup, err := offlinePipeline(ctx)
	if err != nil {
		return nil, nil, err
	}
	r, err := generateForGroup(ctx, p, store, ps, nShops)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return r, cleanup, nil
}

func printDiversity(w io.Writer, r *DiversityResult) {
	fmt.Fprintf(w, "== per-shop diversity: %d products × %d shops of one group, %d listings in %v\n",
		r.Products, r.Shops, r.Listings, r.Took.Round(time.Millisecond))
	fmt.Fprintf(w, "%-26s %d of %d pairs at or above %.2f (max %.3f)\n", "titles", r.AtOrAbove, r.Pairs, r.Threshold, r.Max)
	fmt.Fprintf(w, "%-26s %d of %d pairs at or above %.2f (max %.3f); %d extra rewrites\n", "title + selling points",
		r.CopyAtOrAbove, r.Pairs, r.Threshold, r.CopyMax, r.Rewrites)
	for _, p := range r.Offending {
		fmt.Fprintf(w, "  %s  %.3f  %q / %q\n", p.ProductID, p.Score, p.A, p.B)
	}
}

// LatencyResult compares the verified dedup check with the unverified one
// (vector candidates and thresholds only) on the same store and queries.
type LatencyResult struct {
	Listings, Queries          int
	VerifiedP50, VerifiedP99   time.Duration
	BaselineP50, BaselineP99   time.Duration
	Duplicates, BaselineDupes  int
	VerifiedMean, BaselineMean time.Duration
}

// Ratio is the verified p99 over the unverified p99.
func (r LatencyResult) Ratio() float64 {
	return float64(r.VerifiedP99) / float64(max(r.BaselineP99, 1))
}

// checkLatency times dedup checks of the catalogue's products against the
// first shop and its group, verified and not, alternating so that both see
// the same machine load.
func checkLatency(ctx context.Context, r *DiversityResult, queries int) (LatencyResult, error) {
	emb, err := hashembed.New(hashembed.DefaultConfig())
	if err != nil {
		return LatencyResult{}, err
	}
	cfg := dedup.DefaultConfig()
	shop := r.shops[0]
	var ver, base []time.Duration
	out := LatencyResult{Listings: r.Listings}
	for i := range queries {
		prod := r.products[i%len(r.products)]
		item := dedup.ItemFromProduct(&prod)
		text := prod.Title
		start := time.Now()
		rep, err := r.pipeline.CheckDuplicates(ctx, listinggen.DefaultTenant, shop, text, item)
		if err != nil {
			return out, err
		}
		ver = append(ver, time.Since(start))
		if rep.Verdict == listinggen.VerdictDuplicate {
			out.Duplicates++
		}
		start = time.Now()
		vec, err := emb.Embed(ctx, []string{text})
		if err != nil {
			return out, err
		}
		brep, err := dedupeval.CosineCheck(ctx, r.store, cfg, dedup.Query{TenantID: listinggen.DefaultTenant, Shop: shop, Vector: vec[0], Model: emb.Model()})
		if err != nil {
			return out, err
		}
		base = append(base, time.Since(start))
		if brep.Verdict == listinggen.VerdictDuplicate {
			out.BaselineDupes++
		}
	}
	out.Queries = queries
	out.VerifiedP50, out.VerifiedP99, out.VerifiedMean = percentiles(ver)
	out.BaselineP50, out.BaselineP99, out.BaselineMean = percentiles(base)
	return out, nil
}

func percentiles(ds []time.Duration) (p50, p99, mean time.Duration) {
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p/100*float64(len(s))))] }
	return at(50), at(99), sum / time.Duration(max(1, len(s)))
}

func evalLatency(ctx context.Context, w io.Writer, cataloguePath string, nShops, queries int) error {
	if queries < 1 {
		return errors.New("--queries must be positive")
	}
	r, cleanup, err := diversity(ctx, cataloguePath, nShops)
	if err != nil {
		return err
	}
	defer cleanup()
	l, err := checkLatency(ctx, r, queries)
	if err != nil {
		return err
	}
	printLatency(w, l)
	return nil
}

func printLatency(w io.Writer, l LatencyResult) {
	fmt.Fprintf(w, "== dedup check latency: %d checks against a shop and its group, %d listings (SQLite)\n", l.Queries, l.Listings)
	fmt.Fprintf(w, "%-26s p50 %v p99 %v (%d duplicates)\n", "verified", l.VerifiedP50, l.VerifiedP99, l.Duplicates)
	fmt.Fprintf(w, "%-26s p50 %v p99 %v (%d duplicates)\n", "baseline (unverified)", l.BaselineP50, l.BaselineP99, l.BaselineDupes)
	fmt.Fprintf(w, "%-26s %.1fx the unverified p99\n", "verified p99", l.Ratio())
}
