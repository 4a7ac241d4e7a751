// Package dedupeval measures the dedup verifier and clustering on labelled
// data and fits the verifier: the data sets and their splits, pair F1
// against a trigram baseline, precision-recall curves, pairwise cluster F1,
// leave-one-dataset-out, a synthetic large catalogue, and the fit of the
// verifier's model (IDF, boosted trees, thresholds). It is lab
// code, linked only into listinggen-lab and tests.
package dedupeval

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/listinggen/listinggen/pipeline/dedup"
)

// Pair is one labelled product pair of a matching benchmark (the Abt-Buy
// files in testdata/dedup): {"a": {name, description, price}, "b": …,
// "label": 1 if the same product}.
type Pair struct {
	A, B  dedup.Item
	Match bool
}

type pairRecord struct {
	A     pairItem `json:"a"`
	B     pairItem `json:"b"`
	Label *int     `json:"label"`
}

type pairItem struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Price       string `json:"price"`
}

func (p pairItem) item() dedup.Item {
	it := dedup.Item{Title: p.Name, Text: strings.ReplaceAll(p.Description, "COL price VAL", "")}
	it.Price, _ = strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(p.Price, "$")), 64)
	return it
}

// ReadPairs reads labelled pairs, one JSON object a line. A bad line is an
// error naming it: a benchmark with silently skipped rows is not the
// benchmark.
func ReadPairs(r io.Reader) ([]Pair, error) {
	var out []Pair
	err := readJSONLines(r, func(n int, rec pairRecord) error {
		if rec.Label == nil || (*rec.Label != 0 && *rec.Label != 1) || rec.A.Name == "" || rec.B.Name == "" {
			return fmt.Errorf("line %d: need a.name, b.name and label 0 or 1", n)
		}
		out = append(out, Pair{A: rec.A.item(), B: rec.B.item(), Match: *rec.Label == 1})
		return nil
	})
	return out, err
}

// readJSONLines decodes each non-blank line of r as a T and hands it to fn
// with its 1-based line number; the first bad line or error from fn stops
// the reading. Lines may be up to 16 MiB.
func readJSONLines[T any](r io.Reader, fn func(n int, rec T) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec T
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if err := fn(n, rec); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Scored is a pair's score and its label.
type Scored struct {
	Score float64
	Match bool
}

// Metrics are precision, recall and F1 at a threshold (score >= it is a
// predicted match).
type Metrics struct {
	Threshold                 float64
	Precision, Recall, F1     float64
	TruePos, FalsePos, FalseN int
}

func (m Metrics) String() string {
	return fmt.Sprintf("P %.3f R %.3f F1 %.3f at %.3f (tp %d fp %d fn %d)", m.Precision, m.Recall, m.F1, m.Threshold, m.TruePos, m.FalsePos, m.FalseN)
}

// At computes the metrics of scores at threshold t.
func At(scores []Scored, t float64) Metrics {
	m := Metrics{Threshold: t}
	for _, s := range scores {
		switch {
		case s.Score >= t && s.Match:
			m.TruePos++
		case s.Score >= t:
			m.FalsePos++
		case s.Match:
			m.FalseN++
		}
	}
	m.Precision, m.Recall, m.F1 = prf(m.TruePos, m.FalsePos, m.FalseN)
	return m
}

func prf(tp, fp, fn int) (p, r, f float64) {
	if tp+fp > 0 {
		p = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		r = float64(tp) / float64(tp+fn)
	}
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return p, r, f
}

// Curve returns the metrics at every distinct score, highest threshold
// first: the precision-recall curve.
func Curve(scores []Scored) []Metrics {
	s := append([]Scored(nil), scores...)
	sort.Slice(s, func(i, j int) bool { return s[i].Score > s[j].Score })
	positives := 0
	for _, x := range s {
		if x.Match {
			positives++
		}
	}
	var out []Metrics
	tp, fp := 0, 0
	for i := 0; i < len(s); {
		t := s[i].Score
		for ; i < len(s) && s[i].Score == t; i++ {
			if s[i].Match {
				tp++
			} else {
				fp++
			}
		}
		m := Metrics{Threshold: t, TruePos: tp, FalsePos: fp, FalseN: positives - tp}
		m.Precision, m.Recall, m.F1 = prf(tp, fp, positives-tp)
		out = append(out, m)
	}
	return out
}

// BestThreshold is the threshold with the highest F1 on scores (ties: the
// higher threshold). Tune it on one split and report another.
func BestThreshold(scores []Scored) Metrics {
	var best Metrics
	for _, m := range Curve(scores) {
		if m.F1 > best.F1 {
			best = m
		}
	}
	return best
}

// ScorePairs scores every pair with score.
func ScorePairs(pairs []Pair, score func(a, b dedup.Item) float64) []Scored {
	out := make([]Scored, len(pairs))
	for i, p := range pairs {
		out[i] = Scored{Score: score(p.A, p.B), Match: p.Match}
	}
	return out
}

// Brier is the mean squared error of scores read as probabilities: how
// well calibrated they are (0 is perfect; always answering the base rate
// scores base·(1−base)).
func Brier(scores []Scored) float64 {
	var sum float64
	for _, s := range scores {
		y := 0.0
		if s.Match {
			y = 1
		}
		sum += (s.Score - y) * (s.Score - y)
	}
	return sum / math.Max(1, float64(len(scores)))
}

// CurveSVG draws precision-recall curves as a small self-contained SVG,
// marking each curve's operating point.
func CurveSVG(w io.Writer, title string, curves map[string][]Metrics, points map[string]Metrics) error {
	const size, pad = 400, 40
	colors := []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", size+2*pad, size+2*pad)
	fmt.Fprintf(&b, `<text x="%d" y="20">%s</text>`+"\n", pad, xmlEscape(title))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", pad, pad, size, size)
	fmt.Fprintf(&b, `<text x="%d" y="%d">recall</text><text x="4" y="%d">precision</text>`+"\n", pad+size/2, 2*pad+size-8, pad-6)
	px := func(r float64) float64 { return pad + r*size }
	py := func(p float64) float64 { return pad + (1-p)*size }
	names := slices.Sorted(maps.Keys(curves))
	for i, name := range names {
		c := colors[i%len(colors)]
		var pts []string
		for _, m := range curves[name] {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(m.Recall), py(m.Precision)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", c, strings.Join(pts, " "))
		if m, ok := points[name]; ok {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`+"\n", px(m.Recall), py(m.Precision), c)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", pad+8, pad+size-10-14*(len(names)-1-i), c, xmlEscape(name))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// TrigramCosine is the baseline the verifier is measured against: the
// cosine of the character-trigram count vectors of the two titles.
func TrigramCosine(a, b dedup.Item) float64 {
	ga, gb := trigrams(dedup.Fold(a.Title)), trigrams(dedup.Fold(b.Title))
	var dot, na, nb float64
	for g, x := range ga {
		dot += x * gb[g]
		na += x * x
	}
	for _, y := range gb {
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

func trigrams(s string) map[string]float64 {
	r := []rune(s)
	out := map[string]float64{}
	for i := 0; i+3 <= len(r); i++ {
		out[string(r[i:i+3])]++
	}
	return out
}

// Asked is the share of scores in the policy's borderline band
// [Similar, Duplicate): the pairs a second opinion is asked about.
func Asked(scores []Scored, p dedup.Policy) float64 {
	n := 0
	for _, s := range scores {
		if s.Score >= p.Similar && s.Score < p.Duplicate {
			n++
		}
	}
	return float64(n) / math.Max(1, float64(len(scores)))
}

// PairReport is the result of EvaluatePairs.
type PairReport struct {
	// Valid is the verifier's best F1 on the tuning split, whose threshold
	// Test is measured at; the baseline is tuned and measured the same way.
	Valid, Test                 Metrics
	BaselineValid, BaselineTest Metrics
	// Shipped is the verifier on test at the model's own duplicate
	// threshold, untuned; Asked the share of test pairs in its borderline
	// band, where a second opinion is asked.
	Shipped Metrics
	Asked   float64
	// Brier is the mean squared error of the test scores as probabilities.
	Brier float64
	// Curves are the precision-recall curves on the test split.
	Curve, BaselineCurve []Metrics
}

// EvaluatePairs tunes the threshold on tune, never on test, and reports
// the verifier and the trigram-cosine baseline on test.
func EvaluatePairs(tune, test []Pair, v *dedup.Verifier) PairReport {
	var r PairReport
	var ts, bs []Scored
	r.Valid, ts, r.Test = tuned(tune, test, verifierScore(v))
	r.Brier, r.Curve = Brier(ts), Curve(ts)
	p := v.Model().Policy
	r.Shipped, r.Asked = At(ts, p.Duplicate), Asked(ts, p)
	r.BaselineValid, bs, r.BaselineTest = tuned(tune, test, TrigramCosine)
	r.BaselineCurve = Curve(bs)
	return r
}

// tuned scores tune and test with score and measures test at the
// threshold best on tune: valid is that best, scores test's scores for
// any further measure of them.
func tuned(tune, test []Pair, score func(a, b dedup.Item) float64) (valid Metrics, scores []Scored, m Metrics) {
	valid = BestThreshold(ScorePairs(tune, score))
	scores = ScorePairs(test, score)
	return valid, scores, At(scores, valid.Threshold)
}

// verifierScore is v's score of a pair, for ScorePairs.
func verifierScore(v *dedup.Verifier) func(a, b dedup.Item) float64 {
	return func(a, b dedup.Item) float64 { return v.Compare(a, b).Score }
}
