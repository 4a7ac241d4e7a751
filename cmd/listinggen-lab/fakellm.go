package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/listinggen/listinggen/internal/envflag"
	"github.com/listinggen/listinggen/internal/openaitest"
)

// fakeLLM runs openaitest's fake OpenAI-compatible provider on a loopback
// address, so that a benchmark or a load test can point a real server
// (LLM_PROVIDER=openai LLM_BASE_URL=http://127.0.0.1:8081/v1) at a provider
// with known limits, latency and faults, without a network or a bill.
func fakeLLM(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := envflag.New("fake-llm", getenv, stderr)
	addr := f.String("addr", "FAKE_LLM_ADDR", "127.0.0.1:8081", "loopback address to listen on")
	rpm := f.String("rpm", "FAKE_LLM_RPM", "0", "requests per minute before it answers 429 (0: no limit)")
	tpm := f.String("tpm", "FAKE_LLM_TPM", "0", "tokens per minute before it answers 429 (0: no limit)")
	latency := f.String("latency", "FAKE_LLM_LATENCY", "0s", "answer latency, one duration or a range min-max such as 300ms-1500ms")
	faults := f.String("faults", "FAKE_LLM_FAULTS", "", "fault rates such as 429=0.01,500=0.01,invent=0.02 (faults: "+faultNames()+")")
	seed := f.String("seed", "FAKE_LLM_SEED", "1", "seed of the fault draws, for reproducible runs")
	if err := f.Parse(args); err != nil {
		return err
	}
	var cfg openaitest.Config
	var err error
	if cfg.RPM, err = nonNegative("rpm", *rpm); err != nil {
		return err
	}
	if cfg.TPM, err = nonNegative("tpm", *tpm); err != nil {
		return err
	}
	if cfg.LatencyMin, cfg.LatencyMax, err = parseLatency(*latency); err != nil {
		return err
	}
	if cfg.Rates, err = parseFaultRates(*faults); err != nil {
		return err
	}
	s, err := strconv.ParseUint(*seed, 10, 64)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	cfg.Seed = s
	fmt.Fprintf(stdout, "fake OpenAI-compatible provider on http://%s/v1 (rpm %d, tpm %d, latency %s-%s)\n", *addr, cfg.RPM, cfg.TPM, cfg.LatencyMin, cfg.LatencyMax)
	return openaitest.ListenAndServe(ctx, *addr, cfg)
}

func nonNegative(name, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: want a whole number >= 0, got %q", name, s)
	}
	return n, nil
}

// parseLatency reads "300ms" or "300ms-1500ms".
func parseLatency(s string) (lo, hi time.Duration, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = time.ParseDuration(a); err != nil {
		return 0, 0, fmt.Errorf("latency: %w", err)
	}
	hi = lo
	if isRange {
		if hi, err = time.ParseDuration(b); err != nil {
			return 0, 0, fmt.Errorf("latency: %w", err)
		}
	}
	if lo < 0 || hi < lo {
		return 0, 0, fmt.Errorf("latency: want 0 <= min <= max, got %q", s)
	}
	return lo, hi, nil
}

// parseFaultRates reads "429=0.01,invent=0.02": each fault's probability.
func parseFaultRates(s string) (map[openaitest.Fault]float64, error) {
	if s == "" {
		return nil, nil
	}
	known := map[string]openaitest.Fault{}
	for _, f := range openaitest.Faults {
		known[string(f)] = f
	}
	rates := map[openaitest.Fault]float64{}
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		fault, isFault := known[name]
		p, err := strconv.ParseFloat(val, 64)
		if !ok || !isFault || err != nil || p < 0 || p > 1 {
			return nil, fmt.Errorf("faults: want fault=probability (0..1) with a fault among %s, got %q", faultNames(), part)
		}
		rates[fault] = p
	}
	return rates, nil
}

func faultNames() string {
	names := make([]string, len(openaitest.Faults))
	for i, f := range openaitest.Faults {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}
