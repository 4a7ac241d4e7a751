package openai

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"

	"github.com/listinggen/listinggen"
)

// Cache stores rewrites by a key that covers everything that determines
// them: product content hash, shop style, platform and its text rules,
// prompt version, model, response format, temperature, token cap and seed.
// A hit costs no call. It is best-effort: an implementation backed by a
// database logs its own errors and reports a miss.
type Cache interface {
	Get(ctx context.Context, key string) (listinggen.Rewrite, bool)
	Put(ctx context.Context, key string, rw listinggen.Rewrite)
}

// LRU is an in-memory Cache holding the most recently used entries.
type LRU struct {
	mu    sync.Mutex
	size  int
	order *list.List // front: most recent
	items map[string]*list.Element
}

type lruEntry struct {
	key string
	rw  listinggen.Rewrite
}

var _ Cache = (*LRU)(nil)

// NewLRU returns a cache of at most size entries (at least 1).
func NewLRU(size int) *LRU {
	return &LRU{size: max(size, 1), order: list.New(), items: map[string]*list.Element{}}
}

// Get returns a copy of the entry, so callers may modify it.
func (c *LRU) Get(_ context.Context, key string) (listinggen.Rewrite, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return listinggen.Rewrite{}, false
	}
	c.order.MoveToFront(el)
	return cloneRewrite(el.Value.(*lruEntry).rw), true
}

// Put stores a copy of rw under key, evicting the least recently used.
func (c *LRU) Put(_ context.Context, key string, rw listinggen.Rewrite) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*lruEntry).rw = cloneRewrite(rw)
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&lruEntry{key: key, rw: cloneRewrite(rw)})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry).key)
	}
}

// Len is the number of entries.
func (c *LRU) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func cloneRewrite(rw listinggen.Rewrite) listinggen.Rewrite {
	rw.Copy.SellingPoints = append([]string(nil), rw.Copy.SellingPoints...)
	rw.Copy.Keywords = append([]string(nil), rw.Copy.Keywords...)
	return rw
}

// cacheKey hashes the parts that determine a rewrite.
func cacheKey(parts map[string]any) string {
	b, _ := json.Marshal(parts) // map keys are sorted
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
