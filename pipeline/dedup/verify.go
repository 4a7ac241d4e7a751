package dedup

import (
	"fmt"
	"maps"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"

	"github.com/listinggen/listinggen"
)

// The pair features the model weighs. Each is NaN when the pair does not
// have what it measures (no prices, no attributes), which the trees treat
// as its own case rather than as zero.
const (
	fNgram        = iota // character n-gram cosine of the titles
	fTokenCos            // rarity-weighted token cosine of the titles
	fContain             // rarity weight of the shared title tokens over the lighter title's
	fRareShared          // rarity of the rarest token the titles share (0 none)
	fRareOnly            // the lesser over both sides of the rarest title token the other item lacks
	fTopCovered          // the lesser over both sides of the share of its title's three rarest tokens the other item has
	fTextCos             // rarity-weighted cosine of title and text
	fTitleInText         // the lesser over both sides of the share of a title's weight found in the other item
	fTokens              // tokens of the shorter title
	fLengthRatio         // tokens of the shorter title over the longer's
	fHan                 // share of Han letters in the titles
	fCodeShared          // length of the longest identifier of a title that the other item states (NaN: no title has one)
	fCodeRarity          // rarity of that identifier's rarest word (0: none shared)
	fCodeMissMin         // the lesser over both sides of its title identifiers the other item does not state
	fCodeMissMax         // the greater of the same
	fCodeVariant         // length of the longest identifier of one item inside a longer one of the other (dvpfx820, dvpfx820p)
	fCodeFamily          // longest common prefix of two identifiers neither item shares (lmvm2085wh, lmvm2085ww)
	fNumberShared        // plain numbers both titles have
	fNumberMiss          // the lesser over both sides of its plain title numbers the other item lacks
	fPriceRatio          // |log(price a / price b)| (NaN: a price unknown)
	fSpecAgree           // specifications both items state alike: a unit with a common value, an attribute with equal values
	fSpecPartial         // attributes both state with overlapping, unequal values (S/M/L against S/M)
	fSpecConflict        // specifications both state with nothing in common (2.0 against 1.6 cu ft, 棉 against 涤纶)
	fSpecShare           // share of the specifications both state that agree (NaN: none in common)
	fAttrShare           // share of the attributes both state with equal values (NaN: none in common)
	fAttrDiffer          // attributes both state with unequal values
	fAttrOrder           // share of the equal multi-valued attributes listed in the same order (NaN: none)
	NumFeatures
)

var featureNames = [NumFeatures]string{
	"ngram_cos", "token_cos", "contain", "rare_shared", "rare_only", "top_covered", "text_cos", "title_in_text", "tokens",
	"length_ratio", "han", "code_shared", "code_rarity", "code_miss_min", "code_miss_max", "code_variant", "code_family", "number_shared",
	"number_miss", "price_ratio", "spec_agree", "spec_partial", "spec_conflict", "spec_share", "attr_share", "attr_differ", "attr_order",
}

// Evidence kinds: the groups of features a reviewer reads as one fact.
const (
	EvidenceText       = "text"
	EvidenceIdentifier = "identifier"
	EvidenceNumber     = "number"
	EvidencePrice      = "price"
	EvidenceSpecs      = "specs"
	EvidenceCategory   = "category"
	EvidenceBrand      = "brand"
	EvidenceImage      = "image"
)

// EvidenceKinds are every kind of evidence a verdict may list.
var EvidenceKinds = []string{EvidenceText, EvidenceIdentifier, EvidenceNumber, EvidencePrice, EvidenceSpecs,
	EvidenceCategory, EvidenceBrand, EvidenceImage}

// featureKind is the evidence kind each feature's share counts towards.
var featureKind = [NumFeatures]string{
	fNgram: EvidenceText, fTokenCos: EvidenceText, fContain: EvidenceText, fRareShared: EvidenceText,
	fRareOnly: EvidenceText, fTopCovered: EvidenceText, fTextCos: EvidenceText, fTitleInText: EvidenceText, fTokens: EvidenceText,
	fLengthRatio: EvidenceText, fHan: EvidenceText,
	fCodeShared: EvidenceIdentifier, fCodeRarity: EvidenceIdentifier, fCodeMissMin: EvidenceIdentifier, fCodeMissMax: EvidenceIdentifier,
	fCodeVariant: EvidenceIdentifier, fCodeFamily: EvidenceIdentifier,
	fNumberShared: EvidenceNumber, fNumberMiss: EvidenceNumber,
	fPriceRatio: EvidencePrice,
	fSpecAgree:  EvidenceSpecs, fSpecPartial: EvidenceSpecs, fSpecConflict: EvidenceSpecs, fSpecShare: EvidenceSpecs, fAttrShare: EvidenceSpecs, fAttrDiffer: EvidenceSpecs, fAttrOrder: EvidenceSpecs,
}

// Image distance bands, in bits of a 64-bit pHash. Re-encoded and resized
// copies of one photo land within a few bits, different photos near 32.
const (
	NearImageBits = 10
	FarImageBits  = 22
)

// minEvidence is the smallest share of the log-odds reported as evidence.
const minEvidence = 0.05

// Evidence is one thing the verifier found, with its share of the log-odds
// and a sentence a reviewer can check.
type Evidence = listinggen.DedupEvidence

// Assessment is the verifier's judgement of one pair: Score is the
// probability that both are the same item, Evidence what moved it,
// strongest first. Prior is the log-odds before any evidence, so that
// Prior plus the evidence weights is the score's log-odds (up to the
// evidence too small to report).
type Assessment struct {
	Score     float64
	TextScore float64
	Prior     float64
	Evidence  []Evidence
}

// Reasons lists the evidence sentences, strongest first.
func (a Assessment) Reasons() []string {
	out := make([]string, len(a.Evidence))
	for i, e := range a.Evidence {
		out[i] = e.Reason
	}
	return out
}

// FeatureName names feature i.
func FeatureName(i int) string { return featureNames[i] }

// Verifier weighs the evidence that two items are the same product.
type Verifier struct {
	m *Model
}

// NewVerifier returns a verifier with the given model; nil means the
// default model.
func NewVerifier(m *Model) *Verifier {
	if m == nil {
		m = DefaultModel()
	}
	return &Verifier{m: m}
}

// Model returns the verifier's model.
func (v *Verifier) Model() *Model { return v.m }

// Compare assesses a pair of items.
func (v *Verifier) Compare(a, b Item) Assessment {
	return v.compare(v.prepare(a), v.prepare(b))
}

// Prepared is an item ready for many comparisons.
type Prepared struct{ f *features }

// Prepare readies an item for PairFeatures, so that an item in many pairs
// is prepared once.
func (v *Verifier) Prepare(it Item) Prepared { return Prepared{v.prepare(it)} }

// PairFeatures computes a pair's features without scoring it: what a fit
// learns from.
func PairFeatures(a, b Prepared) [NumFeatures]float64 {
	var x [NumFeatures]float64
	pairFeatures(a.f, b.f, &x, &pairFacts{})
	return x
}

// Fold is the text folding every feature sees, for baselines and token
// statistics that must see text the way the verifier does.
func Fold(s string) string { return fold(s) }

func (v *Verifier) prepare(it Item) *features { return prepare(it, &v.m.IDF) }

func (v *Verifier) compare(a, b *features) Assessment {
	var as Assessment
	var x [NumFeatures]float64
	facts := pairFacts{explain: true}
	pairFeatures(a, b, &x, &facts)
	as.TextScore = x[fNgram]
	var share [NumFeatures]float64
	z := v.m.logOdds(&x, &share)
	as.Prior = z
	byKind := map[string]float64{}
	for i, s := range share {
		byKind[featureKind[i]] += s
		as.Prior -= s
	}
	brand, category, image := v.priors(a, b, &facts)
	byKind[EvidenceBrand] += brand
	byKind[EvidenceCategory] += category
	byKind[EvidenceImage] += image
	z += brand + category + image
	for _, kind := range slices.Sorted(maps.Keys(byKind)) {
		if w := byKind[kind]; math.Abs(w) >= minEvidence {
			as.Evidence = append(as.Evidence, Evidence{Kind: kind, Weight: round(w), Reason: facts.reason(kind, a, b)})
		}
	}
	sort.SliceStable(as.Evidence, func(i, j int) bool {
		return math.Abs(as.Evidence[i].Weight) > math.Abs(as.Evidence[j].Weight)
	})
	as.Score = round(sigmoid(z))
	return as
}

// score is compare's score alone, without the evidence: what clustering
// needs for many pairs.
func (v *Verifier) score(a, b *features) float64 {
	var x [NumFeatures]float64
	var facts pairFacts
	pairFeatures(a, b, &x, &facts)
	brand, category, image := v.priors(a, b, &facts)
	return round(sigmoid(v.m.logOdds(&x, nil) + brand + category + image))
}

// priors returns the log-odds of the hand-set evidence: brands,
// categories, images.
func (v *Verifier) priors(a, b *features, facts *pairFacts) (brand, category, image float64) {
	p := &v.m.Priors
	if a.brand != "" && b.brand != "" {
		brand = p.BrandConflict
		if a.brand == b.brand {
			brand = p.BrandAgree
		}
	}
	if a.category != "" && b.category != "" && a.category != b.category {
		category = p.CategoryConflict
	}
	switch {
	case facts.imageDist < 0:
	case facts.imageDist <= NearImageBits:
		image = p.ImageNear
	case facts.imageDist > FarImageBits:
		image = p.ImageFar
	}
	return brand, category, image
}

// pairFacts are the findings behind the features, kept for the evidence
// sentences.
type pairFacts struct {
	// explain asks for what only the sentences need.
	explain            bool
	titles             float64  // the titles' n-gram cosine (fNgram)
	shared, only       []string // rarest shared title tokens; rarest tokens of one title alone
	code, missA, missB string
	variant, family    string
	numbers, numMiss   []string
	agree, partial     []string
	conflict           []string
	ordered            int
	imageDist, ia, ib  int
}

// pairFeatures computes the features of a pair into x, and into facts
// what the evidence sentences cite.
func pairFeatures(a, b *features, x *[NumFeatures]float64, facts *pairFacts) {
	x[fNgram] = cosineGrams(a, b)
	facts.titles = x[fNgram]
	tt := merge(&a.title, &b.title, facts.explain)
	x[fTokenCos] = cosineOf(&a.title, &b.title, tt)
	x[fContain] = 0
	if lighter := math.Min(a.title.sum, b.title.sum); lighter > 0 {
		x[fContain] = tt.sharedA / lighter
	}
	x[fRareShared] = tt.maxShared
	// A title's tokens against the other item's title and text.
	ta, tb := merge(&a.title, &b.all, false), merge(&b.title, &a.all, false)
	x[fRareOnly] = math.Min(ta.maxOnlyA, tb.maxOnlyA)
	x[fTopCovered] = math.Min(covered(a.top, &b.all), covered(b.top, &a.all))
	x[fTitleInText] = math.Min(share(ta.sharedA, a.title.sum), share(tb.sharedA, b.title.sum))
	if facts.explain {
		facts.shared = rarest(&a.title, tt.sharedList, 3)
		if ta.onlyA >= 0 && tb.onlyA >= 0 {
			facts.only = []string{a.title.toks[ta.onlyA], b.title.toks[tb.onlyA]}
		}
	}
	if len(a.all.ids) == len(a.title.ids) && len(b.all.ids) == len(b.title.ids) {
		x[fTextCos] = math.NaN()
	} else {
		x[fTextCos] = cosineOf(&a.all, &b.all, merge(&a.all, &b.all, false))
	}
	na, nb := float64(len(a.title.ids)), float64(len(b.title.ids))
	x[fTokens] = math.Min(na, nb)
	x[fLengthRatio] = 0
	if math.Max(na, nb) > 0 {
		x[fLengthRatio] = math.Min(na, nb) / math.Max(na, nb)
	}
	x[fHan] = (a.cjk + b.cjk) / 2

	// Identifiers.
	if len(a.codes) == 0 && len(b.codes) == 0 {
		x[fCodeShared], x[fCodeRarity], x[fCodeMissMin], x[fCodeMissMax] = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		x[fCodeVariant], x[fCodeFamily] = math.NaN(), math.NaN()
	} else {
		identifierFeatures(a, b, x, facts)
	}

	// Plain numbers.
	for _, n := range a.numbers {
		if slices.Contains(b.numbers, n) {
			facts.numbers = append(facts.numbers, n)
		}
	}
	x[fNumberShared] = float64(len(facts.numbers))
	missA, missB := numbersMissing(a.numbers, b), numbersMissing(b.numbers, a)
	x[fNumberMiss] = float64(min(len(missA), len(missB)))
	if len(missA) > 0 && len(missB) > 0 {
		facts.numMiss = []string{missA[0], missB[0]}
	}

	specFeatures(a, b, x, facts)

	x[fPriceRatio] = math.NaN()
	if pa, pb := a.item.Price, b.item.Price; pa > 0 && pb > 0 {
		x[fPriceRatio] = math.Abs(math.Log(pa / pb))
	}

	facts.imageDist = -1
	if d, ia, ib, ok := closestImages(a.item.PHashes, b.item.PHashes); ok {
		facts.imageDist, facts.ia, facts.ib = d, ia, ib
	}
}

// identifierFeatures compares the items' identifiers: a whole code of
// one title that the other item states (whole or as a part) is shared;
// parts shared while the whole codes differ (554724-110, 554724-040) are
// a family, not the item.
func identifierFeatures(a, b *features, x *[NumFeatures]float64, facts *pairFacts) {
	var shared code
	try := func(codes, other []code) {
		for _, c := range codes {
			if !c.part && len(c.c) > len(shared.c) && states(other, c.c) {
				shared = c
			}
		}
	}
	try(a.codes, b.allCodes)
	try(b.codes, a.allCodes)
	facts.code = shared.c
	x[fCodeShared], x[fCodeRarity] = float64(len(shared.c)), shared.rarity
	missA, missB := missing(a.codes, b.allCodes), missing(b.codes, a.allCodes)
	x[fCodeMissMin], x[fCodeMissMax] = float64(min(len(missA), len(missB))), float64(max(len(missA), len(missB)))
	// A variant: one item's code inside a longer code of the other.
	variant := func(codes, others []code) {
		for _, c := range codes {
			for _, o := range others {
				if !c.part && len(c.c) > len(facts.variant) && len(o.c) > len(c.c) && strings.Contains(o.c, c.c) {
					facts.variant = c.c
				}
			}
		}
	}
	variant(a.codes, b.allCodes)
	variant(b.codes, a.allCodes)
	x[fCodeVariant] = float64(len(facts.variant))
	// A family: two codes missing from the other side that begin alike.
	for _, ca := range missA {
		for _, cb := range missB {
			if n := commonPrefix(ca, cb); n > len(facts.family) {
				facts.family, facts.missA, facts.missB = ca[:n], ca, cb
			}
		}
	}
	if facts.missA == "" && len(missA) > 0 && len(missB) > 0 {
		facts.missA, facts.missB = missA[0], missB[0]
	}
	x[fCodeFamily] = float64(len(facts.family))
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// unitKey marks a unit among the specification keys of pairFacts, which
// are otherwise attribute names.
const unitKey = "\x00"

// specFeatures compares what both items state: measures by unit, and
// attributes by name (those that are measures only through their unit,
// once).
func specFeatures(a, b *features, x *[NumFeatures]float64, facts *pairFacts) {
	for _, u := range a.units {
		bv, ok := b.measures[u]
		if !ok {
			continue
		}
		if commonFloat(a.measures[u], bv) >= 0 {
			facts.agree = append(facts.agree, unitKey+u)
		} else {
			facts.conflict = append(facts.conflict, unitKey+u)
		}
	}
	var multi, ordered, common, equal int
	for _, name := range a.attrNames {
		bs, ok := b.attrs[name]
		if !ok {
			continue
		}
		common++
		if sameSet(a.attrs[name], bs) {
			equal++
		}
		if u := a.attrUnit[name]; u != "" && u == b.attrUnit[name] {
			continue
		}
		switch as := a.attrs[name]; {
		case sameSet(as, bs):
			facts.agree = append(facts.agree, name)
			if len(as) > 1 {
				multi++
				if slices.Equal(a.attrOrder[name], b.attrOrder[name]) {
					ordered++
				}
			}
		case disjoint(as, bs):
			facts.conflict = append(facts.conflict, name)
		default:
			facts.partial = append(facts.partial, name)
		}
	}
	x[fSpecAgree] = math.Min(4, float64(len(facts.agree)))
	x[fSpecPartial] = math.Min(4, float64(len(facts.partial)))
	x[fSpecConflict] = math.Min(4, float64(len(facts.conflict)))
	x[fSpecShare] = math.NaN()
	if n := len(facts.agree) + len(facts.partial) + len(facts.conflict); n > 0 {
		x[fSpecShare] = float64(len(facts.agree)) / float64(n)
	}
	x[fAttrShare], x[fAttrDiffer] = math.NaN(), math.NaN()
	if common > 0 {
		x[fAttrShare], x[fAttrDiffer] = float64(equal)/float64(common), float64(common-equal)
	}
	x[fAttrOrder] = math.NaN()
	facts.ordered = ordered
	if multi > 0 {
		// Offers copied from one source listing keep its value order;
		// independent listings of look-alike items rarely share it.
		x[fAttrOrder] = float64(ordered) / float64(multi)
	}
}

// reason is the sentence for one evidence kind.
func (f *pairFacts) reason(kind string, a, b *features) string {
	switch kind {
	case EvidenceText:
		s := fmt.Sprintf("titles %.0f%% alike", 100*f.titles)
		if len(f.shared) > 0 {
			s += ", sharing " + strings.Join(f.shared, " ")
		}
		if len(f.only) == 2 {
			s += fmt.Sprintf("; %s only in one, %s only in the other", f.only[0], f.only[1])
		}
		return s
	case EvidenceIdentifier:
		switch {
		case f.code != "":
			return "same model number " + strings.ToUpper(f.code)
		case f.variant != "":
			return "model number " + strings.ToUpper(f.variant) + " inside a longer one"
		case f.missA != "" && f.missB != "":
			return fmt.Sprintf("different model numbers %s and %s", strings.ToUpper(f.missA), strings.ToUpper(f.missB))
		case len(a.codes) == 0 && len(b.codes) == 0:
			return "no model numbers"
		}
		return "a model number on one side only"
	case EvidenceNumber:
		var parts []string
		if len(f.numbers) > 0 {
			parts = append(parts, "same numbers "+strings.Join(f.numbers, ", "))
		}
		if len(f.numMiss) > 0 {
			parts = append(parts, fmt.Sprintf("different numbers %s vs %s", f.numMiss[0], f.numMiss[1]))
		}
		if len(parts) == 0 {
			return "no numbers in common"
		}
		return strings.Join(parts, "; ")
	case EvidenceSpecs:
		var parts []string
		if len(f.agree) > 0 {
			parts = append(parts, "same "+specList(f.agree, a, b, false))
		}
		if f.ordered > 0 {
			parts = append(parts, fmt.Sprintf("%d listing the same values in the same order", f.ordered))
		}
		if len(f.partial) > 0 {
			parts = append(parts, "overlapping "+specList(f.partial, a, b, true))
		}
		if len(f.conflict) > 0 {
			parts = append(parts, "different "+specList(f.conflict, a, b, true))
		}
		if len(parts) == 0 {
			return "no specifications in common"
		}
		return strings.Join(parts, "; ")
	case EvidencePrice:
		pa, pb := a.item.Price, b.item.Price
		if pa <= 0 || pb <= 0 {
			return "a price unknown"
		}
		ratio := math.Max(pa, pb) / math.Min(pa, pb)
		if ratio < 1.5 {
			return fmt.Sprintf("prices within %.0f%% (%.2f, %.2f)", 100*(ratio-1), pa, pb)
		}
		return fmt.Sprintf("prices %.2f× apart (%.2f, %.2f)", ratio, pa, pb)
	case EvidenceCategory:
		return fmt.Sprintf("different categories %s and %s", a.item.Category, b.item.Category)
	case EvidenceBrand:
		if a.brand == b.brand {
			return "same brand " + a.item.Brand
		}
		return fmt.Sprintf("different brands %s and %s", a.item.Brand, b.item.Brand)
	case EvidenceImage:
		if f.imageDist <= NearImageBits {
			return fmt.Sprintf("%s %d bits apart", imagePair(f.ia, f.ib), f.imageDist)
		}
		return fmt.Sprintf("no similar images (closest %d bits apart)", f.imageDist)
	}
	return kind
}

// specList describes specification keys: a unit's common value or both
// sides' first values, an attribute's values, or both sides' with versus.
func specList(keys []string, a, b *features, versus bool) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		if u, ok := strings.CutPrefix(k, unitKey); ok {
			if c := commonFloat(a.measures[u], b.measures[u]); c >= 0 && !versus {
				out[i] = formatMeasure(c, u)
			} else {
				out[i] = formatMeasure(a.measures[u][0], u) + " vs " + formatMeasure(b.measures[u][0], u)
			}
			continue
		}
		out[i] = k + " " + joinOrdered(a.attrOrder[k])
		if versus {
			out[i] += " vs " + joinOrdered(b.attrOrder[k])
		}
	}
	return strings.Join(out, "; ")
}

// covered is the share of the token hashes ids found in s (0 for none).
func covered(ids []uint64, s *sparse) float64 {
	if len(ids) == 0 {
		return 0
	}
	n := 0
	for _, id := range ids {
		if s.hasID(id) {
			n++
		}
	}
	return float64(n) / float64(len(ids))
}

// share is part over whole, 0 for an empty whole.
func share(part, whole float64) float64 {
	if whole == 0 {
		return 0
	}
	return part / whole
}

// rarest returns the tokens of s at the given indexes with the highest
// weights (ties by token), at most n, rarest first.
func rarest(s *sparse, idx []int, n int) []string {
	idx = slices.Clone(idx)
	sort.Slice(idx, func(i, j int) bool {
		wi, wj := s.w[idx[i]], s.w[idx[j]]
		if wi != wj {
			return wi > wj
		}
		return s.toks[idx[i]] < s.toks[idx[j]]
	})
	out := make([]string, 0, n)
	for _, i := range idx[:min(n, len(idx))] {
		out = append(out, s.toks[i])
	}
	return out
}

// missing returns the whole codes that others do not state.
func missing(codes, others []code) []string {
	var out []string
	for _, c := range codes {
		if !c.part && !states(others, c.c) {
			out = append(out, c.c)
		}
	}
	return out
}

// numbersMissing returns the plain numbers of nums that the other item
// states nowhere, neither as a plain number nor within its text's tokens.
func numbersMissing(nums []string, other *features) []string {
	var out []string
	for _, n := range nums {
		if !other.all.has(n) && !slices.Contains(other.numbers, n) {
			out = append(out, n)
		}
	}
	return out
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

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

func joinOrdered(vs []string) string { return strings.Join(vs, "/") }

// ItemVerdict turns a verified score into a verdict with the thresholds of
// cfg.
func (c Config) ItemVerdict(score float64) listinggen.Verdict {
	switch {
	case score >= c.DuplicateScore:
		return listinggen.VerdictDuplicate
	case score >= c.SimilarScore:
		return listinggen.VerdictSimilar
	}
	return listinggen.VerdictUnique
}
