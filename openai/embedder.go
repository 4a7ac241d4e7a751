package openai

import (
	"container/list"
	"context"
	"fmt"
	"log/slog"
	"sync"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/listinggen/listinggen"
)

// Embedder embeds texts with an OpenAI-compatible embeddings API, under the
// same limits, retries and breaker as the Rewriter.
type Embedder struct {
	cfg   EmbedderConfig
	core  *core
	cache *vectorCache
}

var _ listinggen.Embedder = (*Embedder)(nil)

// NewEmbedder returns an Embedder for cfg.
func NewEmbedder(cfg EmbedderConfig) (*Embedder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Embedder{cfg: cfg, core: newCore(cfg.Limits, cfg.BaseURL, cfg.APIKey, cfg.Model, cfg.HTTPClient, cfg.Logger, cfg.Now, cfg.OnUsage, 0),
		cache: newVectorCache(cfg.CacheSize)}, nil
}

// Model names the vector space: the model and the vector length.
func (e *Embedder) Model() string { return fmt.Sprintf("%s-d%d", e.cfg.Model, e.cfg.Dimensions) }

// Dimensions is the vector length.
func (e *Embedder) Dimensions() int { return e.cfg.Dimensions }

// Stats returns the running totals.
func (e *Embedder) Stats() Stats { return e.core.stats() }

// Embed returns one vector per text, in order. Texts in the cache cost no
// call; the others (each distinct text once) go in batches of BatchSize.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	var missing []string
	where := map[string][]int{}
	for i, t := range texts {
		if v, ok := e.cache.get(t); ok {
			out[i] = v
			e.core.n.cacheHits.Add(1)
			continue
		}
		if _, ok := where[t]; !ok {
			missing = append(missing, t)
			e.core.n.cacheMisses.Add(1)
		}
		where[t] = append(where[t], i)
	}
	for start := 0; start < len(missing); start += e.cfg.BatchSize {
		batch := missing[start:min(start+e.cfg.BatchSize, len(missing))]
		vecs, err := e.embed(ctx, batch)
		if err != nil {
			return nil, err
		}
		for j, t := range batch {
			e.cache.put(t, vecs[j])
			for _, i := range where[t] {
				out[i] = vecs[j]
			}
		}
	}
	return out, nil
}

func (e *Embedder) embed(ctx context.Context, batch []string) ([][]float32, error) {
	req := goopenai.EmbeddingRequest{Input: batch, Model: goopenai.EmbeddingModel(e.cfg.Model)}
	if e.cfg.SendDimensions {
		req.Dimensions = e.cfg.Dimensions
	}
	estimate := 0
	for _, t := range batch {
		estimate += EstimateTokens(t)
	}
	var resp goopenai.EmbeddingResponse
	err := e.core.call(ctx, "embed", estimate, func(actx context.Context) (used, error) {
		var err error
		resp, err = e.core.oc.CreateEmbeddings(actx, req)
		return used{prompt: resp.Usage.PromptTokens}, err
	})
	if err != nil {
		return nil, err
	}
	e.core.record(ctx, "embed", e.cfg.Model, resp.Usage.PromptTokens, 0, e.cfg.PricePer1K, 0)
	if len(resp.Data) != len(batch) {
		return nil, listinggen.Errorf(listinggen.EUNAVAILABLE, "embedding provider returned %d vectors for %d texts", len(resp.Data), len(batch))
	}
	vecs := make([][]float32, len(batch))
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= len(batch) || vecs[d.Index] != nil {
			return nil, listinggen.Errorf(listinggen.EUNAVAILABLE, "embedding provider returned a bad index %d", d.Index)
		}
		if len(d.Embedding) != e.cfg.Dimensions {
			return nil, listinggen.Errorf(listinggen.EUNAVAILABLE, "embedding provider returned %d dimensions, configured %d", len(d.Embedding), e.cfg.Dimensions)
		}
		vecs[d.Index] = d.Embedding
	}
	return vecs, nil
}

// vectorCache keeps the vectors of the most recently embedded texts, by
// text (one Embedder is one model and dimension, so the text is the key).
// Vectors are shared, never modified: callers must not write to them.
type vectorCache struct {
	mu    sync.Mutex
	size  int
	order *list.List // front: most recent; values are texts
	items map[string]*list.Element
	vecs  map[string][]float32
}

func newVectorCache(size int) *vectorCache {
	return &vectorCache{size: size, order: list.New(), items: map[string]*list.Element{}, vecs: map[string][]float32{}}
}

func (c *vectorCache) get(text string) ([]float32, bool) {
	if c.size <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[text]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return c.vecs[text], true
}

func (c *vectorCache) put(text string, v []float32) {
	if c.size <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[text]; ok {
		c.order.MoveToFront(el)
	} else {
		c.items[text] = c.order.PushFront(text)
	}
	c.vecs[text] = v
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(string))
		delete(c.vecs, last.Value.(string))
	}
}
