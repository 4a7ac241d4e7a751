package dedupeval

import (
	"math"

	"github.com/listinggen/listinggen/pipeline/dedup"
)

// FitConfig controls Fit.
type FitConfig struct {
	// L2 is the ridge penalty; Epochs and Rate drive gradient descent.
	L2     float64
	Epochs int
	Rate   float64
	// Fixed features keep their weight from Start (those the training data
	// cannot inform, such as attributes in a benchmark without them).
	Fixed map[int]bool
	Start dedup.Weights
}

// Fit fits the verifier's logistic model to labelled pairs by full-batch
// gradient descent on the mean log loss, so that its score is a
// probability. DefaultWeights are its result under DefaultFitConfig
// (TestDefaultWeightsAreTheFit checks that they match).
func Fit(pairs []Pair, cfg FitConfig) dedup.Weights {
	xs := make([][dedup.NumFeatures]float64, len(pairs))
	ys := make([]float64, len(pairs))
	v := dedup.NewVerifier(cfg.Start)
	for i, p := range pairs {
		xs[i] = v.Compare(p.A, p.B).Features()
		if p.Match {
			ys[i] = 1
		}
	}
	w := cfg.Start
	n := float64(len(pairs))
	for range cfg.Epochs {
		var gb float64
		var g [dedup.NumFeatures]float64
		for i, x := range xs {
			z := w.Bias
			for j, xj := range x {
				z += w.W[j] * xj
			}
			d := sigmoid(z) - ys[i]
			gb += d
			for j, xj := range x {
				g[j] += d * xj
			}
		}
		w.Bias -= cfg.Rate * gb / n
		for j := range g {
			if !cfg.Fixed[j] {
				w.W[j] -= cfg.Rate * (g[j]/n + cfg.L2*w.W[j])
			}
		}
	}
	for j := range w.W {
		w.W[j] = math.Round(w.W[j]*10) / 10
	}
	w.Bias = math.Round(w.Bias*10) / 10
	return w
}

// DefaultFitConfig is the fit behind DefaultWeights: the weights the
// training data cannot inform (brand, category, images) are held at their
// hand-set values.
func DefaultFitConfig() FitConfig {
	return FitConfig{L2: 1e-3, Epochs: 5000, Rate: 2, Start: dedup.DefaultWeights(),
		Fixed: fixedFeatures("brand_conflict", "category_conflict", "image_near", "image_far")}
}

// fixedFeatures returns the indexes of the named features.
func fixedFeatures(names ...string) map[int]bool {
	out := map[int]bool{}
	for i := range dedup.NumFeatures {
		for _, n := range names {
			if dedup.FeatureName(i) == n {
				out[i] = true
			}
		}
	}
	return out
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
