package dedupeval

import (
	"encoding/json"
	"maps"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/listinggen/listinggen/pipeline/dedup"
)

// Named is a set of labelled pairs from one source (a benchmark split, a
// part of a catalogue).
type Named struct {
	Name  string
	Pairs []Pair
}

// FitConfig controls Fit.
type FitConfig struct {
	GBT    GBTConfig
	Priors dedup.Priors
	// BandLogOdds is the widest borderline band below the duplicate
	// threshold, in log-odds: pairs scoring in it are worth a second
	// opinion. MaxAsked narrows it until no validation set has more than
	// that share of its pairs in the band, so that the second opinion
	// stays an exception.
	BandLogOdds float64
	MaxAsked    float64
}

// DefaultFitConfig is the fit behind the shipped model.
func DefaultFitConfig() FitConfig {
	gbt := DefaultGBTConfig()
	for name, d := range monotone {
		for i := range dedup.NumFeatures {
			if dedup.FeatureName(i) == name {
				gbt.Monotone[i] = d
			}
		}
	}
	return FitConfig{
		GBT:         gbt,
		Priors:      dedup.Priors{CategoryConflict: -4, BrandConflict: -4, BrandAgree: 0.5, ImageNear: 4, ImageFar: -0.5},
		BandLogOdds: 1.5,
		MaxAsked:    0.05,
	}
}

// Fit fits the verifier's model on the training sets: the IDF table from
// their titles, then the trees on their pairs, each set weighing the same
// in total so that the largest does not decide alone. The policy is left
// for ChoosePolicy, on other data.
func Fit(train []Named, cfg FitConfig) *dedup.Model {
	m := &dedup.Model{Priors: cfg.Priors, IDF: BuildIDF(train)}
	for i := range dedup.NumFeatures {
		m.Features = append(m.Features, dedup.FeatureName(i))
	}
	v := dedup.NewVerifier(m)
	var xs [][dedup.NumFeatures]float64
	var ys, ws []float64
	total := 0
	for _, set := range train {
		total += len(set.Pairs)
	}
	for _, set := range train {
		w := float64(total) / float64(len(train)*len(set.Pairs))
		xs = append(xs, PairMatrix(v, set.Pairs)...)
		for _, p := range set.Pairs {
			ys = append(ys, b2f(p.Match))
			ws = append(ws, w)
		}
	}
	m.Base, m.Trees = TrainGBT(xs, ys, ws, cfg.GBT)
	m.Base = roundTo(m.Base, 1e-6)
	return m
}

// monotone says which way each feature may move the log-odds: evidence
// of sameness never counts against a match, evidence of difference never
// for it. Features without an entry (lengths, the share of Han text) are
// context and free.
var monotone = map[string]int8{
	"ngram_cos": 1, "token_cos": 1, "contain": 1, "rare_shared": 1, "rare_only": -1, "top_covered": 1, "text_cos": 1,
	"title_in_text": 1, "code_shared": 1, "code_rarity": 1, "code_miss_min": -1, "code_miss_max": -1,
	"number_shared": 1, "number_miss": -1, "price_ratio": -1, "spec_agree": 1, "spec_partial": -1,
	"spec_conflict": -1, "spec_share": 1, "attr_share": 1, "attr_differ": -1, "attr_order": 1,
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// PairMatrix computes the features of every pair, on all cores; an item
// in many pairs is prepared once.
func PairMatrix(v *dedup.Verifier, pairs []Pair) [][dedup.NumFeatures]float64 {
	prepared := prepareAll(v, pairs)
	out := make([][dedup.NumFeatures]float64, len(pairs))
	parallel(len(pairs), func(i int) {
		out[i] = dedup.PairFeatures(prepared[2*i], prepared[2*i+1])
	})
	return out
}

// prepareAll prepares both items of every pair: items 2i and 2i+1 are
// pair i's.
func prepareAll(v *dedup.Verifier, pairs []Pair) []dedup.Prepared {
	index := map[string]int{}
	var distinct []dedup.Item
	slot := make([]int, 2*len(pairs))
	for i, p := range pairs {
		for j, it := range [2]dedup.Item{p.A, p.B} {
			b, _ := json.Marshal(it)
			k, ok := index[string(b)]
			if !ok {
				k = len(distinct)
				index[string(b)] = k
				distinct = append(distinct, it)
			}
			slot[2*i+j] = k
		}
	}
	prepared := make([]dedup.Prepared, len(distinct))
	parallel(len(distinct), func(i int) { prepared[i] = v.Prepare(distinct[i]) })
	out := make([]dedup.Prepared, len(slot))
	for i, k := range slot {
		out[i] = prepared[k]
	}
	return out
}

// parallel calls fn(i) for i in [0, n) on all cores.
func parallel(n int, fn func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// BuildIDF learns token rarity from each training set (see dedup.IDF).
// A document is a product, not a title: the titles the set's matching
// pairs join into one item count once, so that a model number is as rare
// in training as it is on a product no training pair has seen (its few
// offers would otherwise make it look common). Tokens of a single product
// in every set are left out: they weigh as unseen ones do.
func BuildIDF(train []Named) dedup.IDF {
	idf := dedup.IDF{Weights: map[string]float64{}}
	weight := func(docs, df int) float64 { return 1 + math.Log(float64(docs+1)/float64(df+1)) }
	for _, set := range train {
		products := productsOf(set.Pairs)
		df := map[string]int{}
		for _, titles := range products {
			toks := map[string]bool{}
			for _, title := range titles {
				for _, t := range dedup.Tokens(dedup.Fold(title)) {
					toks[t] = true
				}
			}
			for t := range toks {
				df[t]++
			}
		}
		docs := len(products)
		if u := weight(docs, 1); idf.Unknown == 0 || u < idf.Unknown {
			idf.Unknown = roundTo(u, 1e-3)
		}
		for t, n := range df {
			if n < 2 {
				continue
			}
			w := roundTo(weight(docs, n), 1e-3)
			if old, ok := idf.Weights[t]; !ok || w < old {
				idf.Weights[t] = w
			}
		}
	}
	// A word no training text uses weighs as the middling known word.
	var words []float64
	for t, w := range idf.Weights {
		if !strings.ContainsAny(t, "0123456789") {
			words = append(words, w)
		}
	}
	if len(words) > 0 {
		sort.Float64s(words)
		idf.UnknownWord = words[len(words)/2]
	}
	return idf
}

// productsOf groups the distinct titles of pairs into products: titles
// joined by a matching pair are one product's.
func productsOf(pairs []Pair) [][]string {
	index := map[string]int{}
	var parent []int
	id := func(title string) int {
		i, ok := index[title]
		if !ok {
			i = len(parent)
			index[title] = i
			parent = append(parent, i)
		}
		return i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for _, p := range pairs {
		a, b := id(p.A.Title), id(p.B.Title)
		if p.Match {
			parent[find(a)] = find(b)
		}
	}
	groups := map[int][]string{}
	for title, i := range index {
		groups[find(i)] = append(groups[find(i)], title)
	}
	out := make([][]string, 0, len(groups))
	for _, r := range slices.Sorted(maps.Keys(groups)) {
		out = append(out, groups[r])
	}
	return out
}

// ChoosePolicy picks the thresholds on the validation sets: the duplicate
// threshold where the mean F1 over the sets is highest (one threshold for
// every domain), the borderline band below it (see FitConfig), and the
// clustering threshold where clustering tune scores best.
func ChoosePolicy(v *dedup.Verifier, valid []Named, cfg FitConfig, tune *Catalogue) dedup.Policy {
	scored := make([][]Scored, len(valid))
	for i, set := range valid {
		scored[i] = ScorePairs(set.Pairs, verifierScore(v))
	}
	ts := make([]float64, 0, 91)
	for k := 5; k <= 95; k++ {
		ts = append(ts, float64(k)/100)
	}
	best, bestF := 0.5, -1.0
	for _, t := range ts {
		var f float64
		for _, s := range scored {
			f += At(s, t).F1
		}
		if f > bestF+1e-12 {
			best, bestF = t, f
		}
	}
	p := dedup.Policy{Duplicate: best}
	for band := cfg.BandLogOdds; band > 0; band -= 0.25 {
		p.Similar = roundTo(sigmoid(logit(best)-band), 0.001)
		worst := 0.0
		for _, s := range scored {
			worst = math.Max(worst, Asked(s, p))
		}
		if worst <= cfg.MaxAsked {
			break
		}
	}
	p.Cluster = best
	if tune != nil {
		p.ClusterBlock = roundTo(MeanCategorySize(tune.Products), 0.01)
		v.Model().Policy.ClusterBlock = p.ClusterBlock
		items := tune.Items()
		bestC := -1.0
		for _, t := range ts {
			got := dedup.ClusterItems(items, dedup.ClusterConfig{Threshold: t, Model: v.Model()})
			if f := PairwiseF1(got, tune.Truth).F1; f > bestC+1e-12 {
				p.Cluster, bestC = t, f
			}
		}
	}
	return p
}

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// FitRecord is what the model file says about its making.
type FitRecord struct {
	Command string `json:"command"`
	// Train and Valid count the pairs of each source fitted on and
	// chosen on; Tune the catalogue products clustering was tuned on.
	Train    map[string]int  `json:"train_pairs"`
	Valid    map[string]int  `json:"valid_pairs"`
	Tune     int             `json:"tune_products"`
	Split    string          `json:"catalogue_split"`
	GBT      GBTConfig       `json:"gbt"`
	Monotone map[string]int8 `json:"monotone"`
}

// FitCommand is the command that writes the shipped model.
const FitCommand = "go run ./cmd/listinggen-lab fit"

// FitData fits a model on d's training sets, except the sources named in
// leave (a leave-one-dataset-out fit), and chooses its policy on the
// validation sets of the sources it was fitted on and, unless the
// catalogue is left out, the catalogue's tune part. It reads no test
// split. The shipped model is FitData(d, cfg).
func FitData(d *Data, cfg FitConfig, leave ...string) *dedup.Model {
	keep := func(sets []Named) []Named {
		var out []Named
		for _, s := range sets {
			if !slices.Contains(leave, s.Name) {
				out = append(out, s)
			}
		}
		return out
	}
	train, valid := keep(d.TrainSets()), keep(d.ValidSets())
	m := Fit(train, cfg)
	var tune *Catalogue
	if !slices.Contains(leave, CatalogueSource) {
		tune = d.Train.Part(PartTune)
	}
	m.Policy = ChoosePolicy(dedup.NewVerifier(m), valid, cfg, tune)
	rec := FitRecord{Command: FitCommand, Train: map[string]int{}, Valid: map[string]int{}, Split: SplitSeed,
		GBT: cfg.GBT, Monotone: map[string]int8{}}
	for _, s := range train {
		rec.Train[s.Name] = len(s.Pairs)
	}
	for _, s := range valid {
		rec.Valid[s.Name] = len(s.Pairs)
	}
	if tune != nil {
		rec.Tune = len(tune.Products)
	}
	for i, dir := range cfg.GBT.Monotone {
		if dir != 0 {
			rec.Monotone[dedup.FeatureName(i)] = dir
		}
	}
	m.Fit, _ = json.Marshal(rec)
	return m
}
