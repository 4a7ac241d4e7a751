package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/listinggen/listinggen/internal/sample"
	"github.com/listinggen/listinggen/openai/openaitest"
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
	s := startServer(t, t.TempDir(), map[string]string{"LLM_PROVIDER": "openai", "LLM_BASE_URL": "http://" + addr + "/v1", "LLM_MODEL": "fake-4o"})
	shop := createShop(t, s, "抖店", "douyin")
	var out struct {
		Listings []llmListing `json:"listings"`
	}
	if resp := s.do("POST", "/v1/generate", generateBody(t, sample.RawLines(t)[0], shop.ID), &out); resp.StatusCode != http.StatusOK ||
		len(out.Listings) != 1 || out.Listings[0].Provenance.Rewriter != "openai" || out.Listings[0].Provenance.PromptTokens == 0 {
		t.Fatalf("generate through fake-llm: %d %+v", resp.StatusCode, out.Listings)
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

// Re-running an unchanged catalogue after a restart, with the rewriter's
// in-memory cache gone, makes no model calls: the pipeline finds the stored
// listings by their idempotency keys first.
func TestRerunAfterRestartMakesNoModelCalls(t *testing.T) {
	t.Parallel()
	fake := openaitest.New(openaitest.Config{})
	defer fake.Close()
	dir := t.TempDir()
	env := map[string]string{"LLM_PROVIDER": "openai", "LLM_BASE_URL": fake.URL(), "LLM_MODEL": "fake-4o", "LLM_CACHE_SIZE": "0"}
	lines := sample.RawLines(t)[:20]
	generateAll := func(s *server, shopID string) []string {
		var ids []string
		for i, line := range lines {
			var out struct {
				Listings []llmListing `json:"listings"`
			}
			if resp := s.do("POST", "/v1/generate", generateBody(t, line, shopID), &out); resp.StatusCode != http.StatusOK || len(out.Listings) != 1 {
				t.Fatalf("generate %d: %d", i, resp.StatusCode)
			}
			ids = append(ids, out.Listings[0].ID)
		}
		return ids
	}
	s := startServer(t, dir, env)
	shop := createShop(t, s, "抖店", "douyin")
	first := generateAll(s, shop.ID)
	calls := fake.Stats().Chat
	if calls < len(lines) {
		t.Fatalf("first run made %d calls for %d products", calls, len(lines))
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	again := generateAll(startServer(t, dir, env), shop.ID)
	if got := fake.Stats().Chat; got != calls {
		t.Fatalf("rerun after restart made %d model calls, want 0", got-calls)
	}
	if strings.Join(again, ",") != strings.Join(first, ",") {
		t.Fatal("rerun returned other listings than the first run")
	}
}
