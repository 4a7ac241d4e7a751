package dedup

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"

	"github.com/listinggen/listinggen"
)

// The evidence the verifier weighs, one input each of its logistic model.
const (
	fText             = iota // character n-gram cosine of the titles, in [0, 1]
	fSameIdentifier          // an identifier of one title appears in the other item
	fSameStem                // no identifier in common, but one without its letter suffix is (a colour variant)
	fOtherIdentifier         // both titles carry identifiers and none appears in the other
	fMeasureAgree            // units both sides state with a common value (count, at most 2)
	fMeasureConflict         // units both sides state with no common value (count, at most 2)
	fPriceClose              // both prices known and within priceBand: 1 when equal, 0 at the band's edge
	fPriceFar                // 2·log2 of the price ratio beyond priceBand, at most 2
	fAttrAgree               // share of the common attributes with equal value sets
	fAttrOrder               // share of the equal multi-valued attributes listed in the same order
	fAttrConflict            // common attributes with disjoint value sets (count, at most 3)
	fBrandConflict           // both brands given and different
	fCategoryConflict        // both categories given and different
	fImageNear               // the closest pair of images is within NearImageBits
	fImageFar                // both have images and none are within FarImageBits
	NumFeatures
)

var featureNames = [NumFeatures]string{
	"text", "same_identifier", "same_model_family", "other_identifier", "measure_agree", "measure_conflict",
	"price_close", "price_far", "attr_agree", "attr_order", "attr_conflict", "brand_conflict",
	"category_conflict", "image_near", "image_far",
}

// Image distance bands, in bits of a 64-bit pHash. Re-encoded and resized
// copies of one photo land within a few bits, different photos near 32.
const (
	NearImageBits = 10
	FarImageBits  = 22
)

// priceBand is the widest price ratio counted in favour of a match.
const priceBand = 1.25

// Weights are the logistic model's coefficients: the log-odds that two
// items are the same product is Bias + Σ W[i]·x[i].
type Weights struct {
	Bias float64
	W    [NumFeatures]float64
}

// DefaultWeights are fitted (listinggen-lab fit, L2 1e-3; a test refits
// them and fails when they drift) on the Abt-Buy training split together with the sample
// catalogue's same-category pairs: Abt-Buy informs text, identifiers,
// measurements and prices, the catalogue attributes and prices. Brand,
// category and image weights are set by hand, by the size of the evidence:
// a different brand or category rules a match out about as firmly as a
// shared model number rules it in, and near-identical photos are strong
// evidence (though suppliers share stock photos, so not proof).
func DefaultWeights() Weights {
	return Weights{Bias: -3.9, W: [NumFeatures]float64{
		fText: 2.9, fSameIdentifier: 3.4, fSameStem: 0.5, fOtherIdentifier: -2.2,
		fMeasureAgree: 0, fMeasureConflict: -1,
		fPriceClose: 1, fPriceFar: -1.2,
		fAttrAgree: 1.7, fAttrOrder: 1.6, fAttrConflict: -1.9,
		fBrandConflict: -4, fCategoryConflict: -5, fImageNear: 4, fImageFar: -0.5,
	}}
}

// Evidence is one thing the verifier found, with its share of the log-odds
// and a sentence a reviewer can check.
type Evidence = listinggen.DedupEvidence

// Assessment is the verifier's judgement of one pair: Score is the
// probability that both are the same item, Reasons the evidence as
// sentences, strongest first.
type Assessment struct {
	Score     float64
	TextScore float64
	Evidence  []Evidence
	x         [NumFeatures]float64
}

// Reasons lists the evidence sentences, strongest first.
func (a Assessment) Reasons() []string {
	out := make([]string, len(a.Evidence))
	for i, e := range a.Evidence {
		out[i] = e.Reason
	}
	return out
}

// Verifier weighs the evidence that two items are the same product.
type Verifier struct {
	w Weights
}

// NewVerifier returns a verifier with the given weights.
func NewVerifier(w Weights) *Verifier { return &Verifier{w: w} }

// Compare assesses a pair of items.
func (v *Verifier) Compare(a, b Item) Assessment {
	return v.compare(prepare(a), prepare(b))
}

func (v *Verifier) compare(a, b *features) Assessment {
	var as Assessment
	var reasons [NumFeatures]string
	x := &as.x
	x[fText] = cosineGrams(a, b)
	as.TextScore = x[fText]
	reasons[fText] = fmt.Sprintf("titles %.0f%% alike", 100*x[fText])

	if c := sharedIdentifier(a, b); c != "" {
		x[fSameIdentifier] = 1
		reasons[fSameIdentifier] = "same model number " + strings.ToUpper(c)
	} else if c := sharedStem(a, b); c != "" {
		x[fSameStem] = 1
		reasons[fSameStem] = "same model family " + strings.ToUpper(c)
	} else if len(a.codes) > 0 && len(b.codes) > 0 {
		x[fOtherIdentifier] = 1
		reasons[fOtherIdentifier] = fmt.Sprintf("different model numbers %s and %s", strings.ToUpper(a.codes[0]), strings.ToUpper(b.codes[0]))
	}

	var agree, conflict []string
	for _, u := range sortedKeys(a.measures) {
		bv, ok := b.measures[u]
		if !ok {
			continue
		}
		if common := commonFloat(a.measures[u], bv); common >= 0 {
			agree = append(agree, formatMeasure(common, u))
		} else {
			conflict = append(conflict, fmt.Sprintf("%s vs %s", formatMeasure(a.measures[u][0], u), formatMeasure(bv[0], u)))
		}
	}
	if len(agree) > 0 {
		x[fMeasureAgree] = math.Min(2, float64(len(agree)))
		reasons[fMeasureAgree] = "same " + strings.Join(agree, ", ")
	}
	if len(conflict) > 0 {
		x[fMeasureConflict] = math.Min(2, float64(len(conflict)))
		reasons[fMeasureConflict] = "different " + strings.Join(conflict, ", ")
	}

	if pa, pb := a.item.Price, b.item.Price; pa > 0 && pb > 0 {
		ratio := math.Max(pa, pb) / math.Min(pa, pb)
		// Offers of one item from different suppliers sit within about
		// a quarter of each other; the evidence fades out towards that
		// band's edge and turns against a match beyond it.
		switch {
		case ratio <= priceBand:
			x[fPriceClose] = 1 - math.Log(ratio)/math.Log(priceBand)
			reasons[fPriceClose] = fmt.Sprintf("prices within %.0f%% (%.2f, %.2f)", 100*(ratio-1), pa, pb)
		default:
			x[fPriceFar] = math.Min(2, 2*math.Log2(ratio/priceBand))
			reasons[fPriceFar] = fmt.Sprintf("prices %.2f× apart (%.2f, %.2f)", ratio, pa, pb)
		}
	}

	if a.attrs != nil && b.attrs != nil {
		var common, equal, multi, ordered int
		var differ []string
		for _, name := range sortedKeys(a.attrs) {
			bs, ok := b.attrs[name]
			if !ok {
				continue
			}
			common++
			switch as := a.attrs[name]; {
			case sameSet(as, bs):
				equal++
				if len(as) > 1 {
					multi++
					if slices.Equal(a.attrOrder[name], b.attrOrder[name]) {
						ordered++
					}
				}
			case disjoint(as, bs):
				differ = append(differ, fmt.Sprintf("%s %s vs %s", name, joinSet(as), joinSet(bs)))
			}
		}
		if common > 0 && equal > 0 {
			x[fAttrAgree] = float64(equal) / float64(common)
			reasons[fAttrAgree] = fmt.Sprintf("%d of %d common attributes equal", equal, common)
		}
		if multi > 0 {
			// Offers copied from one source listing keep its value order;
			// independent listings of look-alike items rarely share it.
			x[fAttrOrder] = float64(ordered) / float64(multi)
			if ordered > 0 {
				reasons[fAttrOrder] = fmt.Sprintf("%d of %d multi-valued attributes listed in the same order", ordered, multi)
			}
		}
		if len(differ) > 0 {
			x[fAttrConflict] = math.Min(3, float64(len(differ)))
			reasons[fAttrConflict] = "different " + strings.Join(differ, "; ")
		}
	}
	if a.brand != "" && b.brand != "" && a.brand != b.brand {
		x[fBrandConflict] = 1
		reasons[fBrandConflict] = fmt.Sprintf("different brands %s and %s", a.item.Brand, b.item.Brand)
	}
	if ca, cb := a.item.Category, b.item.Category; ca != "" && cb != "" && ca != cb {
		x[fCategoryConflict] = 1
		reasons[fCategoryConflict] = fmt.Sprintf("different categories %s and %s", ca, cb)
	}
	if d, ia, ib, ok := closestImages(a.item.PHashes, b.item.PHashes); ok {
		switch {
		case d <= NearImageBits:
			x[fImageNear] = 1
			reasons[fImageNear] = fmt.Sprintf("%s %d bits apart", imagePair(ia, ib), d)
		case d > FarImageBits:
			x[fImageFar] = 1
			reasons[fImageFar] = fmt.Sprintf("no similar images (closest %d bits apart)", d)
		}
	}

	z := v.w.Bias
	for i, xi := range x {
		if xi == 0 {
			continue
		}
		c := v.w.W[i] * xi
		if c == 0 {
			continue
		}
		z += c
		as.Evidence = append(as.Evidence, Evidence{Kind: featureNames[i], Weight: round(c), Reason: reasons[i]})
	}
	as.Score = round(sigmoid(z))
	sort.SliceStable(as.Evidence, func(i, j int) bool {
		return math.Abs(as.Evidence[i].Weight) > math.Abs(as.Evidence[j].Weight)
	})
	return as
}

// Features are the pair's feature values in the order of Weights.W: what a
// fit of the weights learns from.
func (a Assessment) Features() [NumFeatures]float64 { return a.x }

// FeatureName names feature i as its evidence does ("brand_conflict").
func FeatureName(i int) string { return featureNames[i] }

// Fold is the text folding every feature sees, for baselines that must
// compare text the way the verifier does.
func Fold(s string) string { return fold(s) }

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// sharedIdentifier returns an identifier of one title found in the other
// item's title or text (separators ignored), preferring the longest.
func sharedIdentifier(a, b *features) string {
	best := ""
	try := func(codes []string, other string) {
		for _, c := range codes {
			if len(c) > len(best) && strings.Contains(other, c) {
				best = c
			}
		}
	}
	try(a.codes, b.squashed)
	try(b.codes, a.squashed)
	return best
}

// sharedStem is sharedIdentifier for the codes' stems.
func sharedStem(a, b *features) string {
	best := ""
	try := func(codes []string, other string) {
		for _, c := range codes {
			if st := stem(c); len(st) > len(best) && strings.Contains(other, st) {
				best = st
			}
		}
	}
	try(a.codes, b.squashed)
	try(b.codes, a.squashed)
	return best
}

// closestImages returns the smallest Hamming distance between any image
// of a and any of b, and which images those are.
func closestImages(a, b []uint64) (d, ia, ib int, ok bool) {
	d = 65
	for i, x := range a {
		for j, y := range b {
			if n := bits.OnesCount64(x ^ y); n < d {
				d, ia, ib = n, i, j
			}
		}
	}
	return d, ia, ib, d <= 64
}

func imagePair(i, j int) string {
	name := func(k int) string {
		if k == 0 {
			return "main image"
		}
		return fmt.Sprintf("image %d", k+1)
	}
	if i == 0 && j == 0 {
		return "main images"
	}
	return name(i) + " and " + name(j)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func commonFloat(a, b []float64) float64 {
	for _, x := range a {
		if containsFloat(b, x) {
			return x
		}
	}
	return -1
}

func formatMeasure(v float64, unit string) string {
	return strings.TrimSpace(fmt.Sprintf("%g %s", v, unit))
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func disjoint(a, b map[string]bool) bool {
	for k := range a {
		if b[k] {
			return false
		}
	}
	return true
}

func joinSet(s map[string]bool) string { return strings.Join(sortedKeys(s), "/") }

// Verdict turns a verified score into a verdict with the thresholds of cfg.
func (c Config) ItemVerdict(score float64) listinggen.Verdict {
	switch {
	case score >= c.DuplicateScore:
		return listinggen.VerdictDuplicate
	case score >= c.SimilarScore:
		return listinggen.VerdictSimilar
	}
	return listinggen.VerdictUnique
}
