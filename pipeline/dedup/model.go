package dedup

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// Model is the verifier's fitted model: gradient-boosted regression trees
// over the pair features (features.go), whose summed outputs are the
// log-odds that two items are the same product, plus the evidence no
// training set carries (brands, images), added with hand-set weights.
// It is data: listinggen-lab fit writes it as JSON from the training
// splits, and the default model is that file, embedded.
type Model struct {
	// Features names the inputs in order; a model whose names differ from
	// the code's cannot be read, so a feature change forces a refit.
	Features []string `json:"features"`
	// Base is the log-odds before any tree.
	Base  float64 `json:"base"`
	Trees []Tree  `json:"trees"`
	// Priors are the log-odds the hand-set evidence adds.
	Priors Priors `json:"priors"`
	// IDF is the token rarity learned from the training text.
	IDF IDF `json:"idf"`
	// Policy holds the thresholds chosen on the validation splits.
	Policy Policy `json:"policy"`
	// Fit records how the model was made, for the reader of the file.
	Fit json.RawMessage `json:"fit,omitempty"`
}

// Tree is one regression tree, its nodes in an array, the root first.
type Tree struct {
	Nodes []Node `json:"nodes"`
}

// Node is a split (Left > 0) or a leaf. A split sends x[Feature] <
// Threshold to Left and the rest to Right; a missing value (NaN) goes
// Left when MissingLeft. Value is the node's output had the tree stopped
// there, which apportions the log-odds among the features on the path.
type Node struct {
	Feature     int     `json:"f,omitempty"`
	Threshold   float64 `json:"t,omitempty"`
	Left        int     `json:"l,omitempty"`
	Right       int     `json:"r,omitempty"`
	MissingLeft bool    `json:"m,omitempty"`
	Value       float64 `json:"v"`
}

// Priors are the log-odds of the evidence the training data has none of:
// no training set gives brands or images, and catalogue pairs are only
// ever compared within a category. A different brand or category rules a
// match out about as firmly as a shared model number rules it in;
// near-identical photos are strong evidence, though suppliers share stock
// photos, so not proof.
type Priors struct {
	CategoryConflict float64 `json:"category_conflict"`
	BrandConflict    float64 `json:"brand_conflict"`
	BrandAgree       float64 `json:"brand_agree"`
	ImageNear        float64 `json:"image_near"`
	ImageFar         float64 `json:"image_far"`
}

// Policy is the threshold policy: one set for every catalogue.
type Policy struct {
	// Duplicate is the score at or above which two items are the same
	// product; Similar the score at or above which a borderline pair is
	// shown to a reviewer or a second opinion.
	Duplicate float64 `json:"duplicate"`
	Similar   float64 `json:"similar"`
	// Cluster is the mean score at or above which catalogue clustering
	// merges two clusters, in a category of ClusterBlock products (the
	// mean category size it was chosen at); see BlockThreshold.
	Cluster      float64 `json:"cluster"`
	ClusterBlock float64 `json:"cluster_block"`
}

// IDF is the rarity of tokens, learned from the training text. A token's
// weight is 1 + ln((N+1)/(df+1)) in the training corpus where it is
// commonest (N products, df of them with the token in a title), so that a
// word common in one domain (连衣裙 among dresses, "cable" among
// electronics) weighs little even where the other corpora never use it.
// A token the table does not list and that holds a digit (a model number,
// a part number) weighs Unknown, as a token of a single product of the
// smallest corpus does; one of letters alone weighs UnknownWord, the
// rarity of the middle known word: a word no training text uses is as
// likely an ordinary word of a domain the training text did not cover (a
// brand, a product type) as a rare one.
type IDF struct {
	Unknown     float64            `json:"unknown"`
	UnknownWord float64            `json:"unknown_word"`
	Weights     map[string]float64 `json:"weights"`
}

// Weight returns the rarity of token t.
func (d *IDF) Weight(t string) float64 {
	if w, ok := d.Weights[t]; ok {
		return w
	}
	if strings.ContainsAny(t, "0123456789") || d.UnknownWord == 0 {
		return d.Unknown
	}
	return d.UnknownWord
}

// Check reports a model the code cannot use.
func (m *Model) Check() error {
	var errs []error
	if !slices.Equal(m.Features, featureNames[:]) {
		errs = append(errs, fmt.Errorf("dedup model: features %q, the code computes %q: refit with listinggen-lab fit", m.Features, featureNames[:]))
	}
	for ti, t := range m.Trees {
		if len(t.Nodes) == 0 {
			errs = append(errs, fmt.Errorf("dedup model: tree %d is empty", ti))
		}
		for ni, n := range t.Nodes {
			if n.Left == 0 {
				continue
			}
			if n.Left <= ni || n.Right <= ni || n.Left >= len(t.Nodes) || n.Right >= len(t.Nodes) || n.Feature < 0 || n.Feature >= NumFeatures {
				errs = append(errs, fmt.Errorf("dedup model: tree %d node %d is malformed", ti, ni))
			}
		}
	}
	p := m.Policy
	if !(p.Similar > 0 && p.Similar <= p.Duplicate && p.Duplicate < 1 && p.Cluster > 0 && p.Cluster < 1) {
		errs = append(errs, fmt.Errorf("dedup model: need 0 < similar (%v) <= duplicate (%v) < 1 and cluster (%v) in (0, 1)", p.Similar, p.Duplicate, p.Cluster))
	}
	if m.IDF.Unknown <= 0 {
		errs = append(errs, errors.New("dedup model: no IDF table"))
	}
	return errors.Join(errs...)
}

// logOdds returns the trees' log-odds for x and, per feature, its share
// of them: each split's change in node value is credited to the split's
// feature, so that Base + the root values + the shares is the log-odds.
func (m *Model) logOdds(x *[NumFeatures]float64, share *[NumFeatures]float64) float64 {
	z := m.Base
	for i := range m.Trees {
		nodes := m.Trees[i].Nodes
		n := &nodes[0]
		z += n.Value
		for n.Left > 0 {
			v := x[n.Feature]
			next := n.Right
			if v < n.Threshold || math.IsNaN(v) && n.MissingLeft {
				next = n.Left
			}
			c := &nodes[next]
			if share != nil {
				share[n.Feature] += c.Value - n.Value
			}
			z += c.Value - n.Value
			n = c
		}
	}
	return z
}

// Explain returns the trees' log-odds for features x and each feature's
// share of them, for the lab's reports of what the model leans on.
func (m *Model) Explain(x [NumFeatures]float64) (z float64, share [NumFeatures]float64) {
	z = m.logOdds(&x, &share)
	return z, share
}

// MarshalIndent writes the model as the JSON the fit command produces:
// indented, map keys sorted, so that a refit of the same data is the
// same bytes.
func (m *Model) MarshalIndent() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ReadModel parses and checks a model written by MarshalIndent.
func ReadModel(b []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("dedup model: %w", err)
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// ModelJSON is the default model as listinggen-lab fit writes it.
//
//go:embed model.json
var ModelJSON []byte

var defaultModel = sync.OnceValue(func() *Model {
	m, err := ReadModel(ModelJSON)
	if err != nil {
		panic(err) // the embedded file is checked by the package's tests
	}
	return m
})

// DefaultModel returns the embedded model. It is shared: do not modify.
func DefaultModel() *Model { return defaultModel() }
