// Package vectorcache keeps, per (tenant, embedding model), every vector of
// the tenant's listings of that model, shop by shop, in chunks of columns:
// ids, int8 codes of the vectors and two numbers per row that bound the
// codes' error (see quantise.go), with the exact vectors in a file beside
// (spill.go). A similarity query then costs one indexed probe of the store
// for changes, a scan of the codes in memory and a read of the few rows the
// codes cannot rank from the file, instead of reading each row's vector
// through SQL, and answers exactly what a scan of the vectors would.
//
// Layout. Each shop's rows sit together, in chunks that grow from 16 rows
// to 512 (128 KiB of codes at 256 dimensions) and are never copied to
// grow: a shop query reads its shop's chunks and nothing else, front to
// back, which is what the hardware prefetcher needs, and a set's memory is
// its rows plus at most one part-filled chunk per shop, with no doubling
// copies on the way (a slice grown by doubling holds 1.5 times its size
// while it is copied, and leaves up to half of it unused).
//
// Freshness is the store's job, through its Source: before each query the
// set asks the source for every change since the position it reached, and
// the source guarantees that nothing committed before the query started is
// missed (SQLite numbers writes in commit order; PostgreSQL re-reads what
// transactions still running at the last look may have written). Changes
// are applied idempotently, so a source may return a change twice.
//
// Memory. A row costs about 300 bytes of memory at 256 dimensions (the
// codes, a quarter of its vector, 24 bytes of bounds and packed id, and its
// index entry), almost all of it outside the Go heap (rows.go), and its
// vector's size in the file. The sets share one byte cap on the memory;
// the least recently used are dropped when a load or catch-up pushes the
// total over it, and a set that alone exceeds it is marked oversize and
// its queries go to the store's SQL path from then on (its rows only ever
// grow).
package vectorcache

import (
	"context"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/listinggen/listinggen"
)

// Key names one set: a tenant's vectors of one embedding model.
type Key struct{ Tenant, Model string }

// Source reads a store's vectors for the cache.
type Source interface {
	// Load calls l.Add for every vector of key, from one snapshot, and
	// returns the position a catch-up starts from. It stops early when Add
	// returns false (the set outgrew the cap). The vector passed to Add may
	// be reused after Add returns.
	Load(ctx context.Context, key Key, l *Loader) (pos uint64, err error)
	// Changes calls apply for every listing of key's tenant changed at or
	// after pos (as the source numbers changes), with a nil vector when the
	// listing no longer has one of key's model, and returns the next
	// position. It stops when apply returns false. Each vector passed to
	// apply must be a fresh slice: changes are buffered.
	Changes(ctx context.Context, key Key, pos uint64, apply func(Change) bool) (next uint64, err error)
}

// Change is one listing's vector as it now is.
type Change struct {
	ID, Shop string
	// Vector is nil or empty when the listing has no vector of the model.
	Vector []float32
}

// Loader receives a set's rows while it is loaded.
type Loader struct {
	set      *set
	maxBytes int64
	n        int
	err      error
}

// Add stores one row; false means loading should stop: the set is over
// the cap, or its exact vectors could not be written.
func (l *Loader) Add(id, shop string, vec []float32) bool {
	if l.err = l.set.put(id, shop, vec); l.err != nil {
		return false
	}
	l.n++
	return l.n%1024 != 0 || l.set.bytes() <= l.maxBytes
}

// Query is one similarity search of a set.
type Query struct {
	Vector []float32
	K      int
	// Shops limits the search to these shops; nil searches every shop (an
	// empty, non-nil slice searches none).
	Shops     []string
	ExcludeID string
}

// Cache holds the sets within a byte cap. It is safe for concurrent use.
type Cache struct {
	maxBytes int64
	spill    *spill
	// failures counts sets given up on because their exact vectors could
	// not be written or read (a full or failing disk): their queries go to
	// the store's SQL path.
	failures atomic.Int64

	mu   sync.Mutex // guards the fields below and every set's lastUsed, accounted
	sets map[Key]*set
	used int64
	tick uint64
}

// New returns a cache that holds at most maxBytes of memory (estimated),
// with the exact vectors in a file it creates in dir (os.TempDir() when
// empty) on first use. Close removes the file.
func New(maxBytes int64, dir string) *Cache {
	if dir == "" {
		dir = os.TempDir()
	}
	return &Cache{maxBytes: maxBytes, spill: newSpill(dir), sets: map[Key]*set{}}
}

// Close releases the exact vectors' file; searches after it fail over to
// the store's SQL path. A nil cache (the store's cache is off) has nothing
// to close.
func (c *Cache) Close() error {
	if c == nil {
		return nil
	}
	return c.spill.close()
}

// Search answers q over key's set, first bringing it up to date through
// src; ok is false when the set is too large to cache and the caller must
// search through SQL.
func (c *Cache) Search(ctx context.Context, src Source, key Key, q Query) (hits []listinggen.SimilarListing, ok bool, err error) {
	v := c.get(key)
	if ok, err := v.update(ctx, src, c); err != nil || !ok {
		return nil, false, err
	}
	hits, ok, err = v.answer(ctx, q)
	if err != nil && ctx.Err() == nil {
		// The file failed: SQL answers this query and the set's later ones.
		v.mu.Lock()
		v.giveUp(c, true)
		v.mu.Unlock()
		return nil, false, nil
	}
	return hits, ok, err
}

// answer runs q over the set as it is.
func (v *set) answer(ctx context.Context, q Query) (hits []listinggen.SimilarListing, ok bool, err error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.oversize || !v.loaded {
		// Dropped by a catch-up that ran after ours: rare, and SQL answers.
		return nil, false, nil
	}
	// The shops in scope, by number, each once; allowed[number] says the
	// same for the odd vectors. nil: every shop.
	var scope []int32
	var allowed []bool
	if q.Shops != nil {
		allowed = make([]bool, len(v.shopIDs))
		for _, sh := range q.Shops {
			if i, ok := v.shopIndex[sh]; ok && !allowed[i] {
				allowed[i] = true
				scope = append(scope, i)
			}
		}
	} else {
		scope = make([]int32, len(v.shopIDs))
		for i := range scope {
			scope[i] = int32(i)
		}
	}
	var exclude rowRef
	if c, row, ok := v.find(q.ExcludeID); ok {
		exclude = rowRef{c, int32(row)}
	}
	top, err := v.search(ctx, q.Vector, q.K, scope, exclude)
	if err != nil {
		return nil, false, err
	}
	// The odd vectors score like listinggen.Cosine (0 for another length).
	for id, o := range v.odd {
		if id != q.ExcludeID && (allowed == nil || allowed[o.shop]) {
			top = append(top, hit{score: CosineScore(q.Vector, o.vec), id: id, shop: o.shop})
		}
	}
	slices.SortFunc(top, func(a, b hit) int {
		if better(a, b) {
			return -1
		} else if better(b, a) {
			return 1
		}
		return 0
	})
	out := make([]listinggen.SimilarListing, 0, min(q.K, len(top)))
	for _, h := range top[:min(q.K, len(top))] {
		out = append(out, listinggen.SimilarListing{ListingID: h.id, ShopID: v.shopIDs[h.shop], Score: h.score})
	}
	return out, true, nil
}

// Stats describes the cache, for tests and metrics: Used and MaxBytes are
// memory, FileBytes the exact vectors' file, Failures the sets given up on
// because that file failed.
type Stats struct {
	Used, MaxBytes, FileBytes, Failures int64
	Sets                                int
}

// Stats returns the cache's current size; a nil cache (the store's cache
// is off) is empty.
func (c *Cache) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	file := c.spill.size()
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Used: c.used, MaxBytes: c.maxBytes, FileBytes: file, Failures: c.failures.Load(), Sets: len(c.sets)}
}

// State reports whether key's set is loaded and whether it was found too
// large to cache.
func (c *Cache) State(key Key) (loaded, oversize bool) {
	c.mu.Lock()
	v := c.sets[key]
	c.mu.Unlock()
	if v == nil {
		return false, false
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.loaded, v.oversize
}

// get returns the set for key, creating an empty, unloaded one.
func (c *Cache) get(k Key) *set {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.sets[k]
	if v == nil {
		v = &set{key: k, rows: newRows(c.spill)}
		c.sets[k] = v
	}
	c.tick++
	v.lastUsed = c.tick
	return v
}

// account records v's new size and drops the least recently used other
// sets until the total fits. A dropped set is only forgotten: queries that
// hold it finish on it, and the next query of its key loads a new one.
func (c *Cache) account(v *set, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sets[v.key] != v {
		return // dropped while it was being refreshed
	}
	c.used += bytes - v.accounted
	v.accounted = bytes
	for c.used > c.maxBytes {
		var lru *set
		for _, o := range c.sets {
			if o != v && o.accounted > 0 && (lru == nil || o.lastUsed < lru.lastUsed) {
				lru = o
			}
		}
		if lru == nil {
			return
		}
		delete(c.sets, lru.key)
		c.used -= lru.accounted
	}
}

// set is the cached vectors of one tenant and model.
type set struct {
	key Key

	// refresh serialises loading and catching up, which read the store.
	refresh sync.Mutex

	mu       sync.RWMutex // guards the fields below; searches hold it to read
	loaded   bool
	oversize bool   // too large for the cap, or its file failed: SQL answers
	pos      uint64 // the source's position to catch up from
	rows

	accounted int64  // bytes counted in Cache.used; guarded by Cache.mu
	lastUsed  uint64 // guarded by Cache.mu
}

func newSet(key Key, sp *spill) *set {
	return &set{key: key, loaded: true, rows: newRows(sp)}
}

// setOverhead is what an empty set is counted for, so that many sets of
// unknown models cannot grow the cache without bound.
const setOverhead = 1 << 10

// bytes estimates the set's memory: its chunks (blocks and headers), the
// index, the ids that are not UUIDs and the shops. The exact vectors are in
// the spill file, not counted here.
func (v *set) bytes() int64 {
	chunks := int64(len(v.chunkTab) - len(v.freeNums))
	n := int64(setOverhead) + v.capRows*rowBytes(v.dims) + chunks*chunkOverhead + v.index.bytes() +
		v.nameBytes + v.nameSlots*16 + int64(len(v.shopIDs))*(96+24)
	for _, o := range v.odd {
		n += int64(len(o.vec))*4 + 128
	}
	return n
}

func (v *set) reset() {
	v.loaded, v.pos = false, 0
	v.rows = newRows(v.spill)
}

// update brings v up to date with every change committed before it was
// called, loading it on first use. It reports false when the set is too
// large to cache, or its file failed, and the query must go through SQL.
func (v *set) update(ctx context.Context, src Source, c *Cache) (bool, error) {
	v.refresh.Lock()
	defer v.refresh.Unlock()
	v.mu.RLock()
	loaded, oversize, pos := v.loaded, v.oversize, v.pos
	v.mu.RUnlock()
	var err error
	switch {
	case oversize:
		return false, nil
	case !loaded:
		err = v.load(ctx, src, c)
	default:
		err = v.catchUp(ctx, src, pos, c)
	}
	if err != nil {
		return false, err
	}
	v.mu.RLock()
	oversize, bytes := v.oversize, v.bytes()
	v.mu.RUnlock()
	c.account(v, bytes)
	return !oversize, nil
}

// giveUp empties v and marks it for SQL from now on; the caller holds
// v.mu. A failure of the file is counted: it is not the data's size.
func (v *set) giveUp(c *Cache, failed bool) {
	v.reset()
	v.oversize = true
	if failed {
		c.failures.Add(1)
	}
}

// load reads every vector of the set through src. The set is built aside
// and swapped in, so that searches are not held up; only refreshers write
// to a set, and the caller holds refresh.
func (v *set) load(ctx context.Context, src Source, c *Cache) error {
	next := newSet(v.key, c.spill)
	l := &Loader{set: next, maxBytes: c.maxBytes}
	pos, err := src.Load(ctx, v.key, l)
	if err != nil {
		return err
	}
	if l.err != nil || next.bytes() > c.maxBytes {
		v.mu.Lock()
		v.giveUp(c, l.err != nil)
		v.mu.Unlock()
		return nil
	}
	v.mu.Lock()
	v.loaded, v.oversize, v.pos, v.rows = true, false, pos, next.rows
	v.mu.Unlock()
	return nil
}

// catchUpBatch is how many changed rows are applied under one write lock,
// so that a large catch-up (another process loaded a catalogue) does not
// hold searches up for long.
const catchUpBatch = 1024

// catchUp applies the changes src reports since pos.
func (v *set) catchUp(ctx context.Context, src Source, pos uint64, c *Cache) error {
	var batch []Change
	over := false
	flush := func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, ch := range batch {
			if err := v.put(ch.ID, ch.Shop, ch.Vector); err != nil {
				v.giveUp(c, true)
				over = true
				return false
			}
		}
		batch = batch[:0]
		if v.bytes() > c.maxBytes {
			v.giveUp(c, false)
			over = true
			return false
		}
		return true
	}
	next, err := src.Changes(ctx, v.key, pos, func(ch Change) bool {
		batch = append(batch, ch)
		return len(batch) < catchUpBatch || flush()
	})
	if err != nil || over {
		return err
	}
	if len(batch) > 0 && !flush() {
		return nil
	}
	v.mu.Lock()
	v.pos = next
	v.mu.Unlock()
	return nil
}
