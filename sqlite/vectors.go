package sqlite

import (
	"context"
	"database/sql"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/listinggen/listinggen"
)

// The vector cache keeps, per (tenant, embedding model), every vector of
// the tenant's listings of that model in memory, column by column: ids,
// shop numbers, squared norms and one flat []float32. A similarity query
// then costs one indexed SQL probe plus a scan of memory (about 0.1 ms per
// 1000 rows of 256 dimensions, on every core) instead of reading each row's
// blob through SQL, which walks the JSON body's overflow pages to reach the
// embedding (about 7 µs a row).
//
// Freshness. Results are never stale, whoever wrote: every write to a
// listing sets its change_seq to one more than its tenant's highest, in the
// writing transaction (migrations/0003_change_seq.sql; triggers number
// writes from anything that does not). Before each query the set asks
//
//	SELECT ... FROM listings WHERE tenant_id = ? AND change_seq > <seq>
//
// through the listings_by_change index, applies the rows it gets and
// remembers their highest change_seq. SQLite has one writer at a time, so
// change numbers follow commit order and a snapshot that holds change N
// holds every change below N: nothing committed before the query started
// can be missed, and the store's own writes and those of another process
// sharing the file (a `listinggen batch` run) take the same path. When
// nothing changed the probe is one index seek (tens of µs).
//
// PRAGMA data_version was the alternative: it is per connection and cheap,
// but it only says that some other connection (this process's writer
// included) committed something, somewhere, so every write of any tenant
// would cost a full reload, and it would need a dedicated connection.
//
// Listings are never deleted (DeleteShop refuses a shop with listings), so
// change_seq covers inserts and updates; a future delete must leave a
// tombstone row for the cache to see.
//
// Memory. The sets share Config.VectorCacheBytes; the least recently used
// are dropped when a load or catch-up pushes the total over it, and a set
// that alone exceeds it is marked oversize and searched through SQL from
// then on (its rows only ever grow).
type vectorCache struct {
	maxBytes int64

	mu   sync.Mutex // guards the fields below and every set's lastUsed, accounted
	sets map[setKey]*vectorSet
	used int64
	tick uint64
}

type setKey struct{ tenant, model string }

func newVectorCache(maxBytes int64) *vectorCache {
	return &vectorCache{maxBytes: maxBytes, sets: map[setKey]*vectorSet{}}
}

// get returns the set for (tenant, model), creating an empty, unloaded one.
func (c *vectorCache) get(tenant, model string) *vectorSet {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := setKey{tenant, model}
	v := c.sets[k]
	if v == nil {
		v = &vectorSet{key: k}
		c.sets[k] = v
	}
	c.tick++
	v.lastUsed = c.tick
	return v
}

// account records v's new size and drops the least recently used other
// sets until the total fits. A dropped set is only forgotten: queries that
// hold it finish on it, and the next query of its key loads a new one.
func (c *vectorCache) account(v *vectorSet, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sets[v.key] != v {
		return // dropped while it was being refreshed
	}
	c.used += bytes - v.accounted
	v.accounted = bytes
	for c.used > c.maxBytes {
		var lru *vectorSet
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

// vectorSet is the cached vectors of one tenant and model.
type vectorSet struct {
	key setKey

	// refresh serialises loading and catching up, which read the database.
	refresh sync.Mutex

	mu       sync.RWMutex // guards the fields below; searches hold it to read
	loaded   bool
	oversize bool
	seq      int64 // the tenant's highest change_seq applied
	dims     int   // the length of the first vector seen; see odd
	ids      []string
	shops    []int32   // index into shopIDs
	normSq   []float64 // squared Euclidean norm of each vector
	vecs     []float32 // row i is vecs[i*dims : (i+1)*dims]
	pos      map[string]int32
	// odd holds the rare vectors whose length is not dims (the store does
	// not enforce one length per model); they score like listinggen.Cosine.
	odd       map[string]oddVector
	shopIDs   []string
	shopIndex map[string]int32
	idBytes   int64

	accounted int64  // bytes counted in vectorCache.used; guarded by vectorCache.mu
	lastUsed  uint64 // guarded by vectorCache.mu
}

type oddVector struct {
	shop int32
	vec  []float32
}

// setOverhead is what an empty set is counted for, so that many sets of
// unknown models cannot grow the cache without bound.
const setOverhead = 1 << 10

// bytes estimates the set's memory: its columns, the id strings and the
// maps (about 64 bytes an entry).
func (v *vectorSet) bytes() int64 {
	n := int64(setOverhead) + int64(cap(v.vecs))*4 + int64(cap(v.normSq))*8 + int64(cap(v.shops))*4 +
		int64(cap(v.ids))*16 + v.idBytes + int64(len(v.pos))*64 + int64(len(v.shopIDs))*96
	for _, o := range v.odd {
		n += int64(len(o.vec))*4 + 128
	}
	return n
}

func (v *vectorSet) reset() {
	v.loaded, v.seq, v.dims = false, 0, 0
	v.ids, v.shops, v.normSq, v.vecs, v.pos, v.odd = nil, nil, nil, nil, nil, nil
	v.shopIDs, v.shopIndex, v.idBytes = nil, nil, 0
}

func (v *vectorSet) shopNumber(shop string) int32 {
	if i, ok := v.shopIndex[shop]; ok {
		return i
	}
	i := int32(len(v.shopIDs))
	v.shopIDs = append(v.shopIDs, shop)
	v.shopIndex[shop] = i
	return i
}

// put stores listing id's vector, replacing any it had; an empty vector
// removes it. blob is the stored encoding (encodeVector).
func (v *vectorSet) put(id, shop string, blob []byte) {
	v.remove(id)
	if len(blob) < 4 {
		return
	}
	n := len(blob) / 4
	if v.dims == 0 {
		v.dims = n
	}
	if n != v.dims {
		v.odd[id] = oddVector{shop: v.shopNumber(shop), vec: decodeVector(blob)}
		return
	}
	row := len(v.ids)
	v.vecs = decodeVectorInto(v.vecs, blob[:4*n])
	var sq float64
	for _, x := range v.vecs[row*n:] {
		sq += float64(x) * float64(x)
	}
	v.ids = append(v.ids, id)
	v.shops = append(v.shops, v.shopNumber(shop))
	v.normSq = append(v.normSq, sq)
	v.pos[id] = int32(row)
	v.idBytes += int64(len(id))
}

// remove drops id's vector, if cached, moving the last row into its place.
func (v *vectorSet) remove(id string) {
	if _, ok := v.odd[id]; ok {
		delete(v.odd, id)
		return
	}
	row, ok := v.pos[id]
	if !ok {
		return
	}
	last := int32(len(v.ids) - 1)
	if row != last {
		d := v.dims
		copy(v.vecs[int(row)*d:int(row+1)*d], v.vecs[int(last)*d:])
		v.ids[row], v.shops[row], v.normSq[row] = v.ids[last], v.shops[last], v.normSq[last]
		v.pos[v.ids[row]] = row
	}
	delete(v.pos, id)
	v.idBytes -= int64(len(id))
	v.ids, v.shops, v.normSq = v.ids[:last], v.shops[:last], v.normSq[:last]
	v.vecs = v.vecs[:int(last)*v.dims]
}

// update brings v up to date with every change committed before it was
// called, loading it on first use. It reports false when the set is too
// large to cache, and the query must go through SQL.
func (v *vectorSet) update(ctx context.Context, db *sql.DB, c *vectorCache) (bool, error) {
	v.refresh.Lock()
	defer v.refresh.Unlock()
	v.mu.RLock()
	loaded, oversize, seq := v.loaded, v.oversize, v.seq
	v.mu.RUnlock()
	switch {
	case oversize:
		return false, nil
	case !loaded:
		if err := v.load(ctx, db, c.maxBytes); err != nil {
			return false, err
		}
	default:
		if err := v.catchUp(ctx, db, seq, c.maxBytes); err != nil {
			return false, err
		}
	}
	v.mu.RLock()
	oversize, bytes := v.oversize, v.bytes()
	v.mu.RUnlock()
	c.account(v, bytes)
	return !oversize, nil
}

// load reads every vector of the set's tenant and model, and the tenant's
// highest change_seq, from one snapshot (a read transaction).
func (v *vectorSet) load(ctx context.Context, db *sql.DB, maxBytes int64) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	// The tenant's row count (from an index) sizes the columns: growing
	// them by appending copies and faults in several times their size.
	var seq, rows int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(change_seq), 0), count(*) FROM listings WHERE tenant_id = ?`, v.key.tenant).Scan(&seq, &rows); err != nil {
		return translate(err)
	}
	res, err := tx.QueryContext(ctx, `SELECT id, shop_id, embedding FROM listings
		WHERE tenant_id = ? AND embedding_model = ? AND embedding IS NOT NULL`, v.key.tenant, v.key.model)
	if err != nil {
		return translate(err)
	}
	defer res.Close()
	// Built aside and swapped in, so that searches are not held up; only
	// refreshers write to a set, and the caller holds refresh.
	next := &vectorSet{key: v.key, loaded: true, seq: seq, pos: make(map[string]int32, rows), odd: map[string]oddVector{}, shopIndex: map[string]int32{}}
	var blob sql.RawBytes // decoded at once, so not copied
	for n := 0; res.Next(); n++ {
		var id, shop string
		if err := res.Scan(&id, &shop, &blob); err != nil {
			return translate(err)
		}
		if n == 0 && len(blob) >= 4 {
			// Never more than the cap allows: a set too large is found
			// out while loading, not by allocating it.
			dims := int64(len(blob) / 4)
			hint := min(rows, maxBytes/(4*dims+32))
			next.vecs = make([]float32, 0, hint*dims)
			next.normSq, next.shops, next.ids = make([]float64, 0, hint), make([]int32, 0, hint), make([]string, 0, hint)
		}
		next.put(id, shop, blob)
		if n%1024 == 0 && next.bytes() > maxBytes {
			break
		}
	}
	if err := res.Err(); err != nil {
		return translate(err)
	}
	if next.bytes() > maxBytes {
		v.mu.Lock()
		v.reset()
		v.oversize = true
		v.mu.Unlock()
		return nil
	}
	// Appending may have left a quarter of the columns unused.
	if len(next.ids) < cap(next.ids)*7/8 {
		next.vecs, next.normSq = slices.Clone(next.vecs), slices.Clone(next.normSq)
		next.shops, next.ids = slices.Clone(next.shops), slices.Clone(next.ids)
	}
	v.mu.Lock()
	v.loaded, v.oversize, v.seq, v.dims = true, false, next.seq, next.dims
	v.ids, v.shops, v.normSq, v.vecs, v.pos, v.odd = next.ids, next.shops, next.normSq, next.vecs, next.pos, next.odd
	v.shopIDs, v.shopIndex, v.idBytes = next.shopIDs, next.shopIndex, next.idBytes
	v.mu.Unlock()
	return nil
}

// catchUpBatch is how many changed rows are applied under one write lock,
// so that a large catch-up (another process loaded a catalogue) does not
// hold searches up for long.
const catchUpBatch = 1024

// catchUp applies the tenant's changes numbered above seq. One statement
// is one snapshot, so the highest change_seq it returns covers every change
// below it.
func (v *vectorSet) catchUp(ctx context.Context, db *sql.DB, seq int64, maxBytes int64) error {
	rows, err := db.QueryContext(ctx, `SELECT id, shop_id, CASE WHEN embedding_model = ? THEN embedding END, change_seq
		FROM listings WHERE tenant_id = ? AND change_seq > ? ORDER BY change_seq`, v.key.model, v.key.tenant, seq)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	type change struct {
		id, shop string
		blob     []byte
		seq      int64
	}
	var batch []change
	apply := func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, ch := range batch {
			v.put(ch.id, ch.shop, ch.blob)
			v.seq = max(v.seq, ch.seq)
		}
		batch = batch[:0]
		if v.bytes() > maxBytes {
			v.reset()
			v.oversize = true
			return false
		}
		return true
	}
	for rows.Next() {
		var ch change
		if err := rows.Scan(&ch.id, &ch.shop, &ch.blob, &ch.seq); err != nil {
			return translate(err)
		}
		if batch = append(batch, ch); len(batch) == catchUpBatch && !apply() {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return translate(err)
	}
	if len(batch) > 0 {
		apply()
	}
	return nil
}

// similarCached answers q from the cache; ok is false when the tenant's
// vectors of q.Model are too many to cache.
func (s *Store) similarCached(ctx context.Context, tenantID string, q listinggen.SimilarQuery) (hits []listinggen.SimilarListing, ok bool, err error) {
	v := s.vectors.get(tenantID, q.Model)
	if ok, err := v.update(ctx, s.reader, s.vectors); err != nil || !ok {
		return nil, false, err
	}
	var group []string
	if q.ShopID == "" && q.Group != "" {
		if group, err = s.groupShops(ctx, tenantID, q.Group); err != nil {
			return nil, false, err
		}
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.oversize || !v.loaded {
		// Dropped by a catch-up that ran after ours: rare, and SQL answers.
		return nil, false, nil
	}
	// allowed[shop number] says whether the shop is in scope; nil: all are.
	var allowed []bool
	switch {
	case q.ShopID != "":
		allowed = make([]bool, len(v.shopIDs))
		if i, ok := v.shopIndex[q.ShopID]; ok {
			allowed[i] = true
		}
	case q.Group != "":
		allowed = make([]bool, len(v.shopIDs))
		for _, sh := range group {
			if i, ok := v.shopIndex[sh]; ok {
				allowed[i] = true
			}
		}
	}
	exclude := int32(-1)
	if row, ok := v.pos[q.ExcludeID]; ok {
		exclude = row
	}
	top, err := v.search(ctx, q.Vector, q.K, allowed, exclude)
	if err != nil {
		return nil, false, err
	}
	// The odd vectors (another length) score like listinggen.Cosine: 0.
	for id, o := range v.odd {
		if id != q.ExcludeID && (allowed == nil || allowed[o.shop]) {
			top = append(top, hit{score: cosineScore(q.Vector, o.vec), row: -1, id: id, shop: o.shop})
		}
	}
	for i := range top {
		if top[i].row >= 0 {
			top[i].id = v.ids[top[i].row]
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

// groupShops returns the ids of the tenant's shops in group.
func (s *Store) groupShops(ctx context.Context, tenantID, group string) ([]string, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id FROM shops WHERE tenant_id = ? AND grp = ?`, tenantID, group)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, translate(err)
		}
		ids = append(ids, id)
	}
	return ids, translate(rows.Err())
}

// hit is a candidate: a row of the set's columns, or an odd vector (row -1)
// named by id.
type hit struct {
	score float64
	row   int32
	shop  int32
	id    string
}

// better orders hits by score, then by id, so that results do not depend
// on the order rows sit in memory.
func better(a, b hit) bool {
	return a.score > b.score || a.score == b.score && a.id < b.id
}

// parallelRows is the scan size from which a query uses every core.
const parallelRows = 16 << 10

// search returns the best k rows (at most; fewer if the scope is smaller)
// of the rows whose shop is allowed, except row exclude, with ids unset.
// Large scans are split across GOMAXPROCS goroutines.
func (v *vectorSet) search(ctx context.Context, q []float32, k int, allowed []bool, exclude int32) ([]hit, error) {
	n := len(v.ids)
	// Rows of another length than q score 0 (listinggen.Cosine), and so
	// does every row for a zero query.
	var qd []float64
	var qSq float64
	if len(q) == v.dims {
		qd = make([]float64, len(q))
		for i, x := range q {
			qd[i] = float64(x)
			qSq += qd[i] * qd[i]
		}
	}
	parts := 1
	if qSq != 0 {
		parts = max(1, min(runtime.GOMAXPROCS(0), n/parallelRows))
	}
	results := make([][]hit, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := n*p/parts, n*(p+1)/parts
		wg.Go(func() { results[p], errs[p] = v.scan(ctx, qd, qSq, k, allowed, exclude, lo, hi) })
	}
	wg.Wait()
	var all []hit
	for p := range parts {
		if errs[p] != nil {
			return nil, errs[p]
		}
		all = append(all, results[p]...)
	}
	return all, nil
}

// scan keeps the best k rows of [lo, hi) in a min-heap whose root is the
// worst kept.
func (v *vectorSet) scan(ctx context.Context, q []float64, qSq float64, k int, allowed []bool, exclude int32, lo, hi int) ([]hit, error) {
	top := make([]hit, 0, min(k, hi-lo))
	d := v.dims
	worse := func(a, b hit) bool { // for the heap: a below b
		return a.score < b.score || a.score == b.score && v.ids[a.row] > v.ids[b.row]
	}
	for base := lo; base < hi; base += 4096 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for row := base; row < min(base+4096, hi); row++ {
			if allowed != nil && !allowed[v.shops[row]] || int32(row) == exclude {
				continue
			}
			var score float64
			if nb := v.normSq[row]; qSq != 0 && nb != 0 {
				score = clampScore(dot(q, v.vecs[row*d:row*d+d]) / math.Sqrt(qSq*nb))
			}
			h := hit{score: score, row: int32(row)}
			if len(top) < k {
				top = append(top, h)
				siftUp(top, len(top)-1, worse)
			} else if worse(top[0], h) {
				top[0] = h
				siftDown(top, 0, worse)
			}
		}
	}
	for i := range top {
		top[i].shop = v.shops[top[i].row]
	}
	return top, nil
}

func siftUp(h []hit, i int, less func(a, b hit) bool) {
	for i > 0 {
		parent := (i - 1) / 2
		if !less(h[i], h[parent]) {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func siftDown(h []hit, i int, less func(a, b hit) bool) {
	for {
		smallest, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && less(h[l], h[smallest]) {
			smallest = l
		}
		if r < len(h) && less(h[r], h[smallest]) {
			smallest = r
		}
		if smallest == i {
			return
		}
		h[i], h[smallest] = h[smallest], h[i]
		i = smallest
	}
}

// dot is the inner product in float64, as listinggen.Cosine computes it,
// with four accumulators so that the additions overlap.
func dot(a []float64, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * float64(b[i])
		s1 += a[i+1] * float64(b[i+1])
		s2 += a[i+2] * float64(b[i+2])
		s3 += a[i+3] * float64(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += a[i] * float64(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// cosineScore is listinggen.Cosine as a score.
func cosineScore(a, b []float32) float64 { return clampScore(listinggen.Cosine(a, b)) }

// clampScore keeps a score in [-1, 1], which rounding can leave by an ulp
// or two, and makes NaN (a vector holding NaN or infinity) 0, as
// PostgreSQL's store does.
func clampScore(s float64) float64 {
	switch {
	case s > 1:
		return 1
	case s < -1:
		return -1
	case s == s:
		return s
	}
	return 0
}
