package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/listinggen/listinggen/internal/openaitest"
	"github.com/listinggen/listinggen/internal/sample"
)

type llmListing struct {
	listingJSON
	Provenance struct {
		Rewriter         string  `json:"rewriter"`
		Model            string  `json:"model"`
		PromptVersion    string  `json:"prompt_version"`
		PromptTokens     int     `json:"prompt_tokens"`
		CompletionTokens int     `json:"completion_tokens"`
		CostUSD          float64 `json:"cost_usd"`
	} `json:"provenance"`
}

// With the fake OpenAI server as the provider, listings come from the
// model with provenance; each fault ends as the issue asks: retried,
// repaired, or written by the rules rewriter and marked, never stored broken.
func TestLLMRewritingThroughTheFakeProvider(t *testing.T) {
	t.Parallel()
	fake := openaitest.New(openaitest.Config{APIKey: "sk-test", RetryAfter: 50_000_000})
	defer fake.Close()
	s := startServer(t, t.TempDir(), map[string]string{
		"LLM_PROVIDER": "openai", "LLM_BASE_URL": fake.URL(), "LLM_API_KEY": "sk-test", "LLM_MODEL": "fake-4o",
		"LLM_TIMEOUT": "2s", "LLM_MAX_RETRIES": "2", "LLM_CACHE_SIZE": "0",
	})
	lines := sample.RawLines(t)
	// Each product goes to a shop of its own: some sample products are the
	// same item from two suppliers, which dedup would flag in one shop.
	gen := func(i int) llmListing {
		t.Helper()
		shop := createShop(t, s, fmt.Sprint("抖店", i), "douyin")
		var out struct {
			Listings []llmListing `json:"listings"`
		}
		if resp := s.do("POST", "/v1/generate", generateBody(t, lines[i], shop.ID), &out); resp.StatusCode != http.StatusOK || len(out.Listings) != 1 {
			t.Fatalf("generate %d: %d", i, resp.StatusCode)
		}
		return out.Listings[0]
	}

	ok := gen(0)
	if ok.Provenance.Rewriter != "openai" || ok.Provenance.Model == "" || !strings.HasPrefix(ok.Provenance.PromptVersion, "p-") ||
		ok.Provenance.PromptTokens == 0 || ok.Provenance.CompletionTokens == 0 || ok.Provenance.CostUSD <= 0 || ok.Status != "draft" {
		t.Fatalf("model listing = %+v", ok)
	}

	fake.Script(openaitest.Status429, openaitest.Status500) // retried, then answered
	if l := gen(1); l.Provenance.Rewriter != "openai" || l.Status != "draft" {
		t.Errorf("after transient faults: %+v", l)
	}

	fake.Script(openaitest.Invent) // ungrounded facts: one repair round fixes them
	l := gen(2)
	if l.Provenance.Rewriter != "openai" || l.Status != "draft" || !strings.Contains(strings.Join(l.Compliance.Repaired, " "), "repair round") {
		t.Errorf("after invented facts: %+v", l)
	}

	for i, c := range []struct {
		fault  openaitest.Fault
		reason string
	}{{openaitest.Refusal, "refused"}, {openaitest.ContentFilter, "content_filter"}, {openaitest.Length, "length"}, {openaitest.Truncated, "not the copy JSON"}} {
		fault := c.fault
		fake.Script(fault)
		l := gen(3 + i)
		if l.Provenance.Rewriter != "rules" || l.Status != "needs_review" || len(l.ReviewReasons) == 0 ||
			!strings.Contains(l.ReviewReasons[0], "rules rewriter wrote this copy") || !strings.Contains(l.ReviewReasons[0], c.reason) || !l.Compliance.OK {
			t.Errorf("%s: %+v", fault, l)
		}
	}

	fake.Script(openaitest.Invent, openaitest.Invent) // still wrong after the repair round
	if l := gen(7); l.Provenance.Rewriter != "rules" || l.Status != "needs_review" || !strings.Contains(strings.Join(l.ReviewReasons, " "), "after one repair round") {
		t.Errorf("invented twice: %+v", l)
	}
}

// Regenerate draws a new variant; the stream shows the model's output as it
// arrives and ends with the validated, stored listing.
func TestRegenerateAndStream(t *testing.T) {
	t.Parallel()
	fake := openaitest.New(openaitest.Config{StreamChunkRunes: 4})
	defer fake.Close()
	s := startServer(t, t.TempDir(), map[string]string{"LLM_BASE_URL": fake.URL(), "LLM_MODEL": "fake-4o"})
	shop := createShop(t, s, "抖店", "douyin")
	var out struct {
		Listings []llmListing `json:"listings"`
	}
	s.do("POST", "/v1/generate", generateBody(t, sample.RawLines(t)[16], shop.ID), &out)
	first := out.Listings[0]

	var again llmListing
	if resp := s.do("POST", "/v1/listings/"+first.ID+"/regenerate", []byte(`{}`), &again); resp.StatusCode != http.StatusOK ||
		again.ID != first.ID || again.Version != first.Version+1 || again.Provenance.Rewriter != "openai" {
		t.Fatalf("regenerate: %d %+v", resp.StatusCode, again)
	}
	chats := fake.Stats().Chat

	resp, err := http.Get(s.url + "/v1/listings/" + first.ID + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	body, _ := io.ReadAll(resp.Body)
	events := strings.Split(strings.TrimSpace(string(body)), "\n\n")
	deltas := 0
	var text strings.Builder
	for _, e := range events[:len(events)-1] {
		if !strings.HasPrefix(e, "event: delta\ndata: ") {
			t.Fatalf("unexpected event %q", e)
		}
		var d struct{ Text string }
		json.Unmarshal([]byte(strings.TrimPrefix(e, "event: delta\ndata: ")), &d)
		text.WriteString(d.Text)
		deltas++
	}
	last := events[len(events)-1]
	var final llmListing
	if !strings.HasPrefix(last, "event: listing\ndata: ") || json.Unmarshal([]byte(strings.TrimPrefix(last, "event: listing\ndata: ")), &final) != nil {
		t.Fatalf("last event %q", last)
	}
	if deltas < 3 || final.Version != first.Version+2 || !strings.Contains(text.String(), final.Copy.Title) || fake.Stats().Streams != 1 || fake.Stats().Chat != chats+1 {
		t.Errorf("%d deltas (%q), final %+v, stats %+v", deltas, text.String(), final, fake.Stats())
	}
	var stored llmListing
	s.do("GET", "/v1/listings/"+first.ID, nil, &stored)
	if stored.Version != final.Version || stored.Copy.Title != final.Copy.Title {
		t.Errorf("stored %+v, streamed %+v", stored, final)
	}
	if resp := s.do("GET", "/v1/listings/nope/stream", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("stream of a missing listing: %d", resp.StatusCode)
	}
}

type usageTotal struct {
	ShopID           string  `json:"shop_id"`
	Calls            int64   `json:"calls"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// Every model call the provider answered, repair rounds included, is booked
// to its shop and survives a restart; GET /v1/usage totals them.
func TestModelSpendingIsBookedPerShop(t *testing.T) {
	t.Parallel()
	fake := openaitest.New(openaitest.Config{})
	defer fake.Close()
	dir := t.TempDir()
	env := map[string]string{"LLM_PROVIDER": "openai", "LLM_BASE_URL": fake.URL(), "LLM_MODEL": "fake-4o", "LLM_CACHE_SIZE": "0"}
	s := startServer(t, dir, env)
	shopA, shopB := createShop(t, s, "抖店A", "douyin"), createShop(t, s, "淘宝B", "taobao")
	lines := sample.RawLines(t)
	fake.Script(openaitest.Invent) // shop A's first product needs a repair round: two calls
	for i, shop := range []string{shopA.ID, shopA.ID, shopB.ID} {
		if resp := s.do("POST", "/v1/generate", generateBody(t, lines[i], shop), nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("generate %d: %d", i, resp.StatusCode)
		}
	}
	st := fake.Stats()
	if st.Chat != 4 {
		t.Fatalf("the fake answered %d calls, want 4 (one repair round)", st.Chat)
	}
	if err := s.stop(); err != nil { // the ledger's last flush happens on shutdown
		t.Fatal(err)
	}
	s = startServer(t, dir, env)
	var got struct {
		Totals usageTotal   `json:"totals"`
		Shops  []usageTotal `json:"shops"`
	}
	if resp := s.do("GET", "/v1/usage", nil, &got); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/usage: %d", resp.StatusCode)
	}
	if got.Totals.Calls != 4 || got.Totals.PromptTokens != int64(st.PromptTokens) || got.Totals.CompletionTokens != int64(st.CompletionTokens) ||
		got.Totals.CostUSD <= 0 || len(got.Shops) != 2 {
		t.Fatalf("usage %+v, want 4 calls and the fake's %d+%d tokens over 2 shops", got, st.PromptTokens, st.CompletionTokens)
	}
	perShop := map[string]int64{}
	for _, u := range got.Shops {
		perShop[u.ShopID] = u.Calls
	}
	if perShop[shopA.ID] != 3 || perShop[shopB.ID] != 1 {
		t.Fatalf("calls per shop %v, want A 3 and B 1", perShop)
	}
	if resp := s.do("GET", "/v1/usage?shop_id="+shopB.ID+"&from=2000-01-01", nil, &got); resp.StatusCode != http.StatusOK || got.Totals.Calls != 1 {
		t.Fatalf("shop B only: %d %+v", resp.StatusCode, got)
	}
	var problem struct {
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	if resp := s.do("GET", "/v1/usage?from=2026-02-30", nil, &problem); resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad date: %d", resp.StatusCode)
	}
	if resp := s.do("GET", "/v1/usage?from=2026-02-02&to=2026-02-01", nil, &problem); resp.StatusCode != http.StatusUnprocessableEntity ||
		len(problem.Errors) != 1 || problem.Errors[0].Field != "to" {
		t.Fatalf("to before from: %d %+v", resp.StatusCode, problem)
	}
}
