package openai_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/openaitest"
	"github.com/listinggen/listinggen/openai"
)

func TestParseCopy(t *testing.T) {
	t.Parallel()
	const body = `{"title":"保温杯 500ml","selling_points":["容量：500ml","材质：304不锈钢"],"description":"这款保温杯采用304不锈钢。","keywords":["保温杯","水杯"]}`
	want := listinggen.Copy{Title: "保温杯 500ml", SellingPoints: []string{"容量：500ml", "材质：304不锈钢"}, Description: "这款保温杯采用304不锈钢。", Keywords: []string{"保温杯", "水杯"}}
	for name, in := range map[string]string{
		"bare":             body,
		"fenced":           "```json\n" + body + "\n```",
		"fence no tag":     "```\n" + body + "\n```",
		"prose around":     "好的，以下是改写后的文案：\n```json\n" + body + "\n```\n希望对你有帮助！",
		"prose no fence":   "Here you go: " + body + " Let me know.",
		"trailing commas":  `{"title":"保温杯 500ml","selling_points":["容量：500ml","材质：304不锈钢",],"description":"这款保温杯采用304不锈钢。","keywords":["保温杯","水杯",],}`,
		"string lists":     `{"title":"保温杯 500ml","selling_points":"容量：500ml\n材质：304不锈钢","description":"这款保温杯采用304不锈钢。","keywords":"保温杯，水杯"}`,
		"whitespace, bom":  "\ufeff  \n" + strings.ReplaceAll(body, `"保温杯 500ml"`, `"  保温杯 500ml "`) + "\n",
		"braces in string": strings.Replace(body, "这款保温杯", "这款{保温杯}", 1),
	} {
		got, err := openai.ParseCopy(in)
		w := want
		if name == "braces in string" {
			w.Description = "这款{保温杯}采用304不锈钢。"
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s: got %+v, %v", name, got, err)
		}
	}
	for name, in := range map[string]string{
		"empty":           "",
		"prose only":      "I'm sorry, I can't do that.",
		"truncated":       body[:len(body)/2],
		"truncated fence": "```json\n" + body[:len(body)-10],
		"no title":        `{"selling_points":["a"],"description":"d","keywords":[]}`,
		"empty points":    `{"title":"t","selling_points":[],"description":"d","keywords":[]}`,
		"no description":  `{"title":"t","selling_points":["a"],"keywords":[]}`,
		"wrong type":      `{"title":"t","selling_points":[1,2],"description":"d","keywords":[]}`,
		"not an object":   `["title"]`,
	} {
		_, err := openai.ParseCopy(in)
		var pe *openai.ParseError
		if !errors.Is(err, openai.ErrParse) || !errors.As(err, &pe) || pe.Content != in {
			t.Errorf("%s: want a ParseError, got %v", name, err)
		}
	}
}

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		h    map[string]string
		want time.Duration
	}{
		{map[string]string{"Retry-After": "2"}, 2 * time.Second},
		{map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond},
		{map[string]string{"Retry-After": "3", "retry-after-ms": "250"}, 250 * time.Millisecond},
		{map[string]string{"Retry-After": now.Add(7 * time.Second).Format(http.TimeFormat)}, 7 * time.Second},
		{map[string]string{"Retry-After": now.Add(-time.Second).Format(http.TimeFormat)}, 0},
		{map[string]string{"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"}, 6 * time.Minute},
		{map[string]string{"Retry-After": "soon"}, 0},
		{nil, 0},
	} {
		h := http.Header{}
		for k, v := range tc.h {
			h.Set(k, v)
		}
		if got := openai.RetryAfter(h, now); got != tc.want {
			t.Errorf("%v: got %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestPresetsAndValidate(t *testing.T) {
	t.Parallel()
	if got := strings.Join(openai.Presets(), ","); got != "deepseek,doubao,ollama,openai,qwen,vllm" {
		t.Fatal(got)
	}
	wantFormat := map[string]string{"openai": "json_schema", "deepseek": "json_object", "qwen": "json_object", "doubao": "json_object", "ollama": "json_schema", "vllm": "json_schema"}
	for _, name := range openai.Presets() {
		cfg, err := openai.PresetConfig(name)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.ResponseFormat != wantFormat[name] || cfg.Provider != name {
			t.Errorf("%s: format %s", name, cfg.ResponseFormat)
		}
		if cfg.Model == "" {
			cfg.Model = "my-endpoint" // doubao and vllm name the model per deployment
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		ecfg, err := openai.EmbedderPresetConfig(name)
		if name == "deepseek" {
			if err == nil {
				t.Error("deepseek has no embeddings")
			}
			continue
		}
		if ecfg.Model == "" {
			ecfg.Model, ecfg.Dimensions = "my-embedding", 1024
		}
		if err := ecfg.Validate(); err != nil {
			t.Errorf("%s embedder: %v", name, err)
		}
	}
	for name, base := range map[string]string{
		"deepseek": "https://api.deepseek.com/v1",
		"qwen":     "https://dashscope.aliyuncs.com/compatible-mode/v1",
		"doubao":   "https://ark.cn-beijing.volces.com/api/v3",
		"ollama":   "http://localhost:11434/v1",
	} {
		if p, _ := openai.LookupPreset(name); p.BaseURL != base {
			t.Errorf("%s: %s", name, p.BaseURL)
		}
	}
	if _, err := openai.PresetConfig("gemini"); err == nil {
		t.Error("unknown preset accepted")
	}
	err := openai.Config{ResponseFormat: "xml", Temperature: 3}.Validate()
	for _, want := range []string{"BaseURL", "Model is required", "ResponseFormat", "Temperature", "MaxTokens", "Timeout", "Headroom", "Concurrency", "BreakerFailures"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not report %q: %v", want, err)
		}
	}
	if def := openai.DefaultConfig(); def.Provider != "openai" || def.Validate() != nil {
		t.Errorf("default config %+v: %v", def, def.Validate())
	}
}

func TestLRU(t *testing.T) {
	t.Parallel()
	c := openai.NewLRU(2)
	ctx := context.Background()
	rw := func(title string) listinggen.Rewrite {
		return listinggen.Rewrite{Copy: listinggen.Copy{Title: title, SellingPoints: []string{"p"}}}
	}
	c.Put(ctx, "a", rw("A"))
	c.Put(ctx, "b", rw("B"))
	if _, ok := c.Get(ctx, "a"); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	c.Put(ctx, "c", rw("C")) // evicts b
	if _, ok := c.Get(ctx, "b"); ok || c.Len() != 2 {
		t.Fatal("b not evicted")
	}
	got, _ := c.Get(ctx, "a")
	got.Copy.SellingPoints[0] = "changed"
	again, _ := c.Get(ctx, "a")
	if again.Copy.SellingPoints[0] != "p" {
		t.Fatal("a caller's change reached the cache")
	}
}

func newEmbedder(t *testing.T, srv *openaitest.Server, mod func(*openai.EmbedderConfig)) *openai.Embedder {
	t.Helper()
	cfg, err := openai.EmbedderPresetConfig("openai")
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseURL, cfg.APIKey, cfg.Dimensions, cfg.BatchSize = srv.URL(), "sk", 64, 2
	cfg.BackoffBase, cfg.BackoffMax = 5*time.Millisecond, 20*time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	e, err := openai.NewEmbedder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEmbedder(t *testing.T) {
	t.Parallel()
	srv := openaitest.New(openaitest.Config{EmbeddingScript: []openaitest.Fault{openaitest.Status500}})
	defer srv.Close()
	e := newEmbedder(t, srv, nil)
	var _ listinggen.Embedder = e
	if e.Model() != "text-embedding-3-small-d64" || e.Dimensions() != 64 {
		t.Fatalf("model %q dims %d", e.Model(), e.Dimensions())
	}
	texts := []string{"碎花连衣裙", "保温杯 500ml", "化妆刷套装", "POLO衫", "数据线"}
	vecs, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vecs {
		if fmt.Sprint(v) != fmt.Sprint(openaitest.Vector(texts[i], 64)) {
			t.Fatalf("vector %d out of order or wrong", i)
		}
	}
	if st := srv.Stats(); st.Embeddings != 4 { // 3 batches, the first retried
		t.Fatalf("embedding calls %d", st.Embeddings)
	}
	if s := e.Stats(); s.Retries != 1 || s.PromptTokens == 0 || s.CostUSD <= 0 {
		t.Fatalf("stats %+v", s)
	}
	// Cached texts cost no call; a repeated new text is embedded once.
	again, err := e.Embed(context.Background(), []string{"数据线", "新的文本", "POLO衫", "新的文本"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(again[0]) != fmt.Sprint(vecs[4]) || fmt.Sprint(again[1]) != fmt.Sprint(again[3]) ||
		fmt.Sprint(again[1]) != fmt.Sprint(openaitest.Vector("新的文本", 64)) {
		t.Fatal("cached or deduplicated vectors are wrong")
	}
	if st, s := srv.Stats(), e.Stats(); st.Embeddings != 5 || s.CacheHits != 2 || s.CacheMisses != 6 {
		t.Fatalf("after a cached call: %d embedding calls, stats %+v", st.Embeddings, s)
	}

	// A provider that ignores "dimensions" is caught, not stored.
	wrong := newEmbedder(t, srv, func(c *openai.EmbedderConfig) { c.SendDimensions = false })
	if _, err := wrong.Embed(context.Background(), texts[:1]); err == nil || !strings.Contains(err.Error(), "256 dimensions") {
		t.Fatalf("dimension mismatch: %v", err)
	}
}
