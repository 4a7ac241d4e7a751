package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/listinggen/listinggen/internal/openaitest"
	"github.com/listinggen/listinggen/internal/sample"
)

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
