package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/sample"
	"github.com/listinggen/listinggen/openai"
	"github.com/listinggen/listinggen/pipeline/compliance"
)

// The fake-llm command serves a provider that a real server can use, and
// refuses bad flags and non-loopback addresses.
func TestFakeLLMCommand(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	env := map[string]string{"FAKE_LLM_ADDR": addr, "FAKE_LLM_LATENCY": "1ms-5ms", "FAKE_LLM_RPM": "6000"}
	go func() {
		errc <- run(ctx, []string{"fake-llm"}, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, io.Discard)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("fake-llm did not start listening")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The real client, as a server started with LLM_BASE_URL would use it.
	cfg, err := openai.PresetConfig("openai")
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseURL, cfg.APIKey, cfg.Model = "http://"+addr+"/v1", "sk-test", "fake-4o"
	rw, err := openai.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	checker, err := compliance.New()
	if err != nil {
		t.Fatal(err)
	}
	var p listinggen.Product
	if err := json.Unmarshal(sample.RawLines(t)[0], &p); err != nil {
		t.Fatal(err)
	}
	out, err := rw.Rewrite(ctx, listinggen.RewriteRequest{
		Product: &p, Shop: &listinggen.Shop{ID: "shop-1", Platform: listinggen.PlatformDouyin},
		Rules: checker.Rules(listinggen.PlatformDouyin), Seed: 1,
	})
	if err != nil || out.Copy.Title == "" || out.Provenance.PromptTokens == 0 {
		t.Fatalf("rewrite through fake-llm: %+v, %v", out, err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("fake-llm after cancel: %v", err)
	}

	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"FAKE_LLM_ADDR": "0.0.0.0:0"}, "not a loopback address"},
		{map[string]string{"FAKE_LLM_RPM": "-1"}, "rpm"},
		{map[string]string{"FAKE_LLM_LATENCY": "2s-1s"}, "latency"},
		{map[string]string{"FAKE_LLM_FAULTS": "teapot=0.5"}, "faults"},
		{map[string]string{"FAKE_LLM_FAULTS": "429=2"}, "faults"},
	} {
		err := run(context.Background(), []string{"fake-llm"}, func(k string) string { return c.env[k] }, strings.NewReader(""), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to mention %q", c.env, err, c.want)
		}
	}
}

// The fit command refits the verifier on the repository's training data
// and gives, byte for byte, the model the server embeds; a model file that
// is not the fit is refused. Under -race the refit is ten times slower:
// scripts/test.sh runs this test again without it.
func TestFitCommand(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("refits the verifier")
	}
	t.Parallel()
	var out strings.Builder
	err := run(context.Background(), []string{"fit", "--check", "--data", "../../testdata", "--out", "../../" + modelPath},
		func(string) string { return "" }, nil, &out, io.Discard)
	if err != nil {
		t.Fatalf("%v: the embedded model is not the fit; run go run ./cmd/listinggen-lab fit\n%s", err, out.String())
	}
	for _, want := range []string{"150 trees", "spec_share", "code_shared", "is the fit"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("fit output lacks %s:\n%s", want, out.String())
		}
	}
	b, err := os.ReadFile("../../" + modelPath)
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(t.TempDir(), "model.json")
	if err := os.WriteFile(stale, bytes.Replace(b, []byte(`"duplicate": `), []byte(`"duplicate": 1`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"fit", "--check", "--data", "../../testdata", "--out", stale}, func(string) string { return "" }, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "is not the fit") {
		t.Errorf("a stale model passes the check: %v", err)
	}
}

// The benchmark commands run end to end on a small workload and refuse
// settings they cannot use.
func TestBenchCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two small benchmarks")
	}
	t.Parallel()
	none := func(string) string { return "" }
	var out strings.Builder
	if err := run(context.Background(), []string{"llmbench", "--catalogue", "../../testdata/catalogue/sample-300.jsonl",
		"--items", "40", "--rpm", "60000", "--tpm", "30000000", "--latency", "1ms-5ms"}, none, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "items 40, failed 0") || !strings.Contains(out.String(), "rerun: 0 calls") {
		t.Errorf("llmbench report:\n%s", out.String())
	}
	out.Reset()
	env := map[string]string{"DEDUP_BENCH_N": "1200", "DEDUP_BENCH_QUERIES": "5", "DEDUP_BENCH_PG_URL": "off"}
	if err := run(context.Background(), []string{"storebench"}, func(k string) string { return env[k] }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "baseline=go-exact-scan") || !strings.Contains(out.String(), "sqlite") {
		t.Errorf("storebench report:\n%s", out.String())
	}
	for _, args := range [][]string{{"storebench", "--n", "many"}, {"llmbench", "--faults", "2"}, {"llmbench", "--latency", "2s-1s"}} {
		if err := run(context.Background(), args, none, nil, io.Discard, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
