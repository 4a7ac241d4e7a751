package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/listinggen/listinggen/internal/envflag"
	"github.com/listinggen/listinggen/internal/lab/dedupeval"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

// modelPath is where the shipped model lives, relative to the repository
// root; the dedup package embeds it.
const modelPath = "pipeline/dedup/model.json"

// fit refits the dedup verifier on the training splits, chooses its
// thresholds on the validation splits and writes the model file the
// server embeds; with --check it only says whether the file is what the
// fit gives. The fit is deterministic: the same data give the same bytes.
func fit(_ context.Context, args []string, stdout, stderr io.Writer) error {
	f := envflag.New("fit", func(string) string { return "" }, stderr)
	data := f.FlagSet.String("data", "testdata", "the testdata directory: dedup/*-{train,valid}.jsonl and catalogue/train-2000*.jsonl")
	out := f.FlagSet.String("out", modelPath, "the model file to write (or to check)")
	check := f.FlagSet.Bool("check", false, "do not write: fail when the file differs from the fit")
	if err := f.Parse(args); err != nil {
		return err
	}
	m, err := fitModel(*data)
	if err != nil {
		return err
	}
	b, err := m.MarshalIndent()
	if err != nil {
		return err
	}
	if *check {
		old, err := os.ReadFile(*out)
		if err != nil {
			return err
		}
		if !bytes.Equal(old, b) {
			return fmt.Errorf("%s is not the fit of %s: run listinggen-lab fit", *out, *data)
		}
		printFit(stdout, m)
		fmt.Fprintf(stdout, "%s is the fit (%d bytes)\n", *out, len(b))
		return nil
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	printFit(stdout, m)
	fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", *out, len(b))
	return nil
}

// fitModel is the shipped model's fit on the data under dir.
func fitModel(dir string) (*dedup.Model, error) {
	d, err := dedupeval.LoadData(dir, false)
	if err != nil {
		return nil, err
	}
	m := dedupeval.FitData(d, dedupeval.DefaultFitConfig())
	if err := m.Check(); err != nil {
		return nil, errors.Join(errors.New("the fit gives a model the code cannot use"), err)
	}
	return m, nil
}

// printFit summarises a model: its policy and what its trees lean on (the
// summed size of each feature's splits).
func printFit(w io.Writer, m *dedup.Model) {
	p := m.Policy
	fmt.Fprintf(w, "%d trees, %d IDF tokens; duplicate at %.2f, similar at %.3f, clustering at %.2f (categories of %.1f)\n",
		len(m.Trees), len(m.IDF.Weights), p.Duplicate, p.Similar, p.Cluster, p.ClusterBlock)
	var use [dedup.NumFeatures]float64
	for _, t := range m.Trees {
		for _, n := range t.Nodes {
			if n.Left > 0 {
				use[n.Feature] += math.Abs(t.Nodes[n.Left].Value-n.Value) + math.Abs(t.Nodes[n.Right].Value-n.Value)
			}
		}
	}
	idx := make([]int, dedup.NumFeatures)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return use[idx[a]] > use[idx[b]] })
	fmt.Fprintf(w, "%-16s %s\n", "feature", "use")
	for _, i := range idx {
		fmt.Fprintf(w, "%-16s %.1f\n", dedup.FeatureName(i), use[i])
	}
}
