package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/listinggen/listinggen/internal/sample"
)

// TestEvalTargets generates the sample catalogue for ten shops of one
// group with the real pipeline and checks the targets: no two
// shops' titles of one product at or above the duplicate threshold (see
// maxDuplicateTitlePairs), and the verified check
// within the store benchmark's SQLite target (30 ms).
func TestEvalTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 3000 listings")
	}
	t.Parallel()
	ctx := context.Background()
	products := sample.Products(t)
	if raceEnabled {
		// Ten times slower under the race detector: a tenth of the
		// catalogue exercises the same code; the full-size figure is
		// asserted without -race (go test -run TestEval ./cmd/listinggen).
		products = products[:20]
	}
	p, store, cleanup, err := offlinePipeline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	r, err := generateForGroup(ctx, p, store, products, 10)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printDiversity(&out, r)
	t.Log(out.String())
	if r.Listings != 10*len(products) || r.Pairs != 45*len(products) {
		t.Fatalf("%d listings, %d pairs", r.Listings, r.Pairs)
	}
	if r.AtOrAbove > maxDuplicateTitlePairs {
		t.Errorf("%d title pairs at or above %.2f (max %.3f), want at most %d", r.AtOrAbove, r.Threshold, r.Max, maxDuplicateTitlePairs)
	}
	queries := 200
	if raceEnabled {
		queries = 30
	}
	l, err := checkLatency(ctx, r, queries)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	printLatency(&out, l)
	t.Log(out.String())
	if l.Duplicates == 0 || l.Duplicates < l.BaselineDupes {
		t.Errorf("the verified check found %d duplicates of listed products, the unverified %d", l.Duplicates, l.BaselineDupes)
	}
	// The p99 figure is make bench's (on a quiet machine); here, sharing
	// the cores with the rest of the suite, the median must be well
	// within the SQLite target.
	if !raceEnabled && l.VerifiedP50 > 30*time.Millisecond {
		t.Errorf("verified check p50 %v > 30ms", l.VerifiedP50)
	}
}

// maxDuplicateTitlePairs is the target: no two shops of the group publish
// titles of one product at or above the duplicate threshold.
const maxDuplicateTitlePairs = 0

func TestEvalCommand(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	args := []string{"eval", "dedup", "--pairs", sample.Path("dedup/abt-buy-test.jsonl"), "--tune-on", sample.Path("dedup/abt-buy-valid.jsonl"),
		"--curve", t.TempDir() + "/pr.svg"}
	if err := run(context.Background(), args, func(string) string { return "" }, nil, &stdout, &stderr); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	for _, want := range []string{"verifier (evidence)", "baseline (trigram cosine)", "precision-recall curves written"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	for _, want := range []string{"at the shipped threshold", "second opinion asked on"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	args = []string{"eval", "clusters", "--catalogue", sample.Path("catalogue/sample-300.jsonl"), "--truth", sample.Path("catalogue/sample-300.clusters.jsonl")}
	stdout.Reset()
	if err := run(context.Background(), args, func(string) string { return "" }, nil, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "pairwise") {
		t.Fatalf("clusters: %v %s", err, stdout.String())
	}
	// The table, without the leave-one-out fits and the large catalogue.
	if !testing.Short() && !raceEnabled {
		stdout.Reset()
		args = []string{"eval", "table", "--data", sample.Path(""), "--lodo=false", "--synthetic", "0"}
		if err := run(context.Background(), args, func(string) string { return "" }, nil, &stdout, &stderr); err != nil {
			t.Fatalf("table: %v", err)
		}
		for _, want := range []string{"| abt-buy test |", "| wdc test |", "| catalogue held-out pairs |", "| sample-300 clusters |", "| train-2000 held-out clusters |"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("table lacks %q:\n%s", want, stdout.String())
			}
		}
	}
	// Tuning on the reported file is refused.
	args = []string{"eval", "dedup", "--pairs", sample.Path("dedup/abt-buy-test.jsonl"), "--tune-on", sample.Path("dedup/abt-buy-test.jsonl")}
	if err := run(context.Background(), args, func(string) string { return "" }, nil, &stdout, &stderr); err == nil {
		t.Error("tuning on the test file was accepted")
	}
}
