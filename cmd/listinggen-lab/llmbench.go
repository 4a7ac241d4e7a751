package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/listinggen/listinggen/internal/envflag"
	"github.com/listinggen/listinggen/internal/lab/dedupeval"
	"github.com/listinggen/listinggen/internal/lab/openaibench"
	"github.com/listinggen/listinggen/internal/openaitest"
)

// llmBench rewrites a catalogue through the real OpenAI client against the
// fake provider under enforced rate limits (internal/lab/openaibench) and
// prints the achieved rates as fractions of the limits, the share of 429s,
// tokens per listing and the cached rerun's share of the first run's time.
func llmBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := envflag.New("llmbench", getenv, stderr)
	catalogue := f.FlagSet.String("catalogue", evalFiles.catalogue, "products to rewrite, cycled to make --items")
	items := f.FlagSet.Int("items", 2000, "items to rewrite")
	rpm := f.FlagSet.Int("rpm", 600, "the provider's (and the client's) requests per minute")
	tpm := f.FlagSet.Int("tpm", 300_000, "the provider's (and the client's) tokens per minute")
	latency := f.FlagSet.String("latency", "300ms-1500ms", "the provider's answer latency, one duration or min-max")
	workers := f.FlagSet.Int("workers", 64, "items processed at once")
	faults := f.FlagSet.Float64("faults", 0, "probability of each of 429, 500, 503 and invented facts per call")
	if err := f.Parse(args); err != nil {
		return err
	}
	products, err := dedupeval.ReadCatalogueFile(*catalogue)
	if err != nil {
		return err
	}
	cfg := openaibench.Config{Products: products, Items: *items, RPM: *rpm, TPM: *tpm, Workers: *workers}
	if cfg.LatencyMin, cfg.LatencyMax, err = parseLatency(*latency); err != nil {
		return err
	}
	if *faults < 0 || *faults > 1 {
		return fmt.Errorf("llmbench: --faults %s is not a probability", strconv.FormatFloat(*faults, 'g', -1, 64))
	}
	if *faults > 0 {
		cfg.Faults = map[openaitest.Fault]float64{openaitest.Status429: *faults, openaitest.Status500: *faults,
			openaitest.Status503: *faults, openaitest.Invent: *faults}
	}
	rep, err := openaibench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, rep)
	return nil
}
