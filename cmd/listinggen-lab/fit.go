package main

import (
	"context"
	"fmt"
	"io"

	"github.com/listinggen/listinggen/internal/envflag"
	"github.com/listinggen/listinggen/internal/lab/dedupeval"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

// fit refits the dedup verifier's weights on the training pairs and the
// catalogue's true clusters and prints them next to the shipped ones, so
// that a change to the features or the data shows what the weights become.
func fit(_ context.Context, args []string, stdout, stderr io.Writer) error {
	f := envflag.New("fit", func(string) string { return "" }, stderr)
	train := f.FlagSet.String("pairs", "testdata/dedup/abt-buy-train.jsonl", "labelled training pairs (JSON lines)")
	catalogue := f.FlagSet.String("catalogue", evalFiles.catalogue, "products whose true clusters add training pairs")
	truth := f.FlagSet.String("truth", evalFiles.truth, "the catalogue's true clusters")
	if err := f.Parse(args); err != nil {
		return err
	}
	pairs, err := readPairsFile(*train)
	if err != nil {
		return err
	}
	ps, clusters, err := readClusteredCatalogue(*catalogue, *truth)
	if err != nil {
		return err
	}
	w := dedupeval.Fit(append(pairs, dedupeval.CataloguePairs(ps, clusters)...), dedupeval.DefaultFitConfig())
	shipped := dedup.DefaultWeights()
	fmt.Fprintf(stdout, "%-20s %8s %8s\n", "feature", "fitted", "shipped")
	fmt.Fprintf(stdout, "%-20s %8.1f %8.1f\n", "bias", w.Bias, shipped.Bias)
	for i := range dedup.NumFeatures {
		fmt.Fprintf(stdout, "%-20s %8.1f %8.1f\n", dedup.FeatureName(i), w.W[i], shipped.W[i])
	}
	return nil
}
