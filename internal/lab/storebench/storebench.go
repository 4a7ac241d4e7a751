// Package storebench measures the dedup step's similarity query on both
// stores at catalogue scale, through the listinggen.Store interface: N
// listings of one tenant whose vectors embed realistic titles
// (storetest.Titles through the hashing embedder), queried within one big
// shop and across the tenant. Every figure comes with a baseline measured in
// the same run, and the ratio to it, because absolute times on shared
// machines are noise:
//
//   - query latency (p50, p99) against an exact top-K scan in Go over the
//     same vectors in memory (listinggen.Cosine, one goroutine), run just
//     before each store query on the same query;
//   - recall@K against that exact scan, counted by distance: a returned
//     listing whose exact score is at least the K-th best exact score
//     (minus 1e-6, as storetest.Recall) is a hit, so exact ties are hits;
//   - insert throughput against the same rows inserted into a plain table
//     (id, JSON body, vector; primary key only) on the same engine, with the
//     same transactions and concurrency; on PostgreSQL over the first
//     PostgresRowSample listings, the rest being bulk loaded (see bulkLoad);
//   - PostgreSQL's HNSW build time (REINDEX of the model's index over the N
//     rows, or after a bulk load its creation) against a REINDEX of a btree
//     index of the same table.
//
// scripts/bench.sh runs it (make bench at 100k listings, make bench-large
// at 1M) through TestDedupBench.
package storebench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/hashembed"
	"github.com/listinggen/listinggen/internal/storetest"
	"github.com/listinggen/listinggen/postgres"
	"github.com/listinggen/listinggen/sqlite"
)

// Config sizes a run.
type Config struct {
	// N is the number of listings, all in one tenant.
	N int
	// ShopRows is the size of the shop the shop-scoped queries search; the
	// other listings are spread over shops of OtherShopRows.
	ShopRows      int
	OtherShopRows int
	// Queries is the number of timed queries per scope and store; half are
	// fresh titles, half an existing listing's vector excluding itself (the
	// dedup step's own question). Warmup more run untimed first.
	Queries, Warmup int
	// K is the number of neighbours asked for.
	K int
	// Seed makes titles, shops and queries reproducible.
	Seed uint64
	// Workers is the number of concurrent CreateListing calls on
	// PostgreSQL (and its baseline).
	Workers int
	// PostgresRowSample is how many listings go into PostgreSQL through
	// CreateListing with the model's HNSW index kept up, timed against the
	// plain-table baseline; the rest are loaded with the index dropped and
	// rebuilt afterwards (see bulkLoad), because keeping the index up makes
	// every insert slow, too slow for a load of 1M listings. At least 1:
	// the first listing records the model and creates its index.
	PostgresRowSample int
	// SQLiteRowSample is how many listings go into SQLite one
	// CreateListing (one transaction, one fsync) at a time, to time that;
	// the rest go in batches of SQLiteBatch through CreateListings when the
	// store has it.
	SQLiteRowSample, SQLiteBatch int
	// SQLiteCacheBytes is the SQLite store's Config.VectorCacheBytes; 0
	// means the default or, if larger, enough for N vectors.
	SQLiteCacheBytes int64
	// SQLiteSQLScanQueries is how many queries per scope also go to a
	// second SQLite store on the same file with the vector cache off (the
	// SQL scan it replaces), for comparison; 0 skips it.
	SQLiteSQLScanQueries int
	// Dir holds the SQLite files.
	Dir string
	// PostgresURL is a server to create a scratch database on (dropped at
	// the end); empty skips PostgreSQL. Only loopback hosts are accepted.
	PostgresURL string
	// BuildMemory lists the maintenance_work_mem settings to time the HNSW
	// REINDEX with ("server": the server's setting); empty means
	// DefaultBuildMemory. pgvector builds much faster when the graph fits
	// (the 64 MB PostgreSQL ships with is too small for it at 100k x 256).
	// The first is also what the bulk load rebuilds the index with.
	BuildMemory []string
	// KeepDatabase leaves the PostgreSQL database in place (its name is
	// logged), to look at plans afterwards; drop it by hand.
	KeepDatabase bool
	// Postgres lists the store configurations to query the same database
	// with; nil means DefaultVariants.
	Postgres []Variant
	// SkipSQLite leaves SQLite out.
	SkipSQLite bool
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Variant is a PostgreSQL store configuration to measure.
type Variant struct {
	Name string
	// Tune changes postgres.DefaultConfig, whose VectorCacheBytes the run
	// has raised to hold all N vectors if the default would not (see
	// data.cacheBytes); a variant without a cache sets it to 0.
	Tune func(*postgres.Config)
}

// DefaultVariants: the shipped configuration (shop and group queries from
// the in-process vector cache, the tenant through HNSW); the SQL paths it
// replaces for a shop (HNSW with the shop filter, and an exact scan with
// ExactScanMaxRows above the shop's size); pgvector's default ef_search
// (40, faster, lower recall), 50 (close to the least that meets the
// tenant recall target, 0.98, at 100k) and a larger one (400, slower,
// higher), to put numbers on what each costs and buys.
func DefaultVariants() []Variant {
	return []Variant{
		{Name: "postgres", Tune: func(*postgres.Config) {}},
		{Name: "postgres, no vector cache", Tune: func(c *postgres.Config) { c.VectorCacheBytes = 0 }},
		{Name: "postgres exact≤20k, no vector cache", Tune: func(c *postgres.Config) { c.ExactScanMaxRows, c.VectorCacheBytes = 20_000, 0 }},
		{Name: "postgres ef_search=40", Tune: func(c *postgres.Config) { c.HNSW.EfSearch = 40 }},
		{Name: "postgres ef_search=50", Tune: func(c *postgres.Config) { c.HNSW.EfSearch = 50 }},
		{Name: "postgres ef_search=400", Tune: func(c *postgres.Config) { c.HNSW.EfSearch = 400 }},
	}
}

// queryBlock is how many queries the baseline and then each store answer
// in turn (see Run).
const queryBlock = 20

// DefaultBuildMemory is one REINDEX with room for the graph of
// bench-large's 1M x 256; "server" would use the server's setting.
func DefaultBuildMemory() []string { return []string{"2GB"} }

// DefaultConfig is make bench's run: 100k listings, a 10k-row shop.
func DefaultConfig() Config {
	return Config{
		N: 100_000, ShopRows: 10_000, OtherShopRows: 1_000, Queries: 500, Warmup: 20, K: 10, Seed: 20240601,
		Workers: 4, PostgresRowSample: 100_000, SQLiteRowSample: 1_000, SQLiteBatch: 1_000, SQLiteSQLScanQueries: 20,
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.N < 2 || c.ShopRows < 1 || c.ShopRows > c.N || c.OtherShopRows < 1 {
		errs = append(errs, fmt.Errorf("storebench: need 1 <= ShopRows (%d) <= N (%d) and OtherShopRows >= 1", c.ShopRows, c.N))
	}
	if c.Queries < 2 || c.Warmup < 0 || c.K < 1 {
		errs = append(errs, errors.New("storebench: Queries must be at least 2, Warmup not negative, K at least 1"))
	}
	if c.Workers < 1 || c.SQLiteRowSample < 0 || c.SQLiteSQLScanQueries < 0 || c.SQLiteBatch < 1 || c.SQLiteBatch > sqlite.MaxCreateBatch || c.SQLiteCacheBytes < 0 {
		errs = append(errs, errors.New("storebench: Workers and SQLiteBatch must be positive (batch at most sqlite.MaxCreateBatch), SQLiteRowSample and SQLiteCacheBytes not negative"))
	}
	if c.PostgresRowSample < 1 {
		errs = append(errs, errors.New("storebench: PostgresRowSample must be at least 1"))
	}
	if c.Dir == "" && !c.SkipSQLite {
		errs = append(errs, errors.New("storebench: Dir is required for SQLite"))
	}
	if c.PostgresURL != "" {
		if err := checkLoopback(c.PostgresURL); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

const tenant = "bench"

// data is the generated catalogue and queries, shared by every store.
type data struct {
	model     string
	dims      int
	titles    []string
	vecs      [][]float32
	ids       []string
	shopOf    []int32 // item → shop number; shop 0 is the big one
	shopIDs   []string
	shopNames []string
	byID      map[string]int32
	bigShop   []int32 // items in shop 0
	all       []int32
	queries   []*query
}

type query struct {
	scope     string // "shop" or "tenant"
	rows      []int32
	q         listinggen.SimilarQuery
	exclude   int32
	kth       float64 // the K-th best exact score in scope
	want      int     // min(K, rows in scope)
	baseline  time.Duration
	baseCount int
}

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, "storebench: "+format+"\n", args...)
	}
}

func generate(c Config) (*data, error) {
	emb, err := hashembed.New(hashembed.DefaultConfig())
	if err != nil {
		return nil, err
	}
	d := &data{model: emb.Model(), dims: emb.Dimensions(), titles: storetest.Titles(c.Seed, c.N)}
	d.vecs = make([][]float32, c.N)
	parallel(c.N, func(i int) { d.vecs[i] = emb.Vector(d.titles[i]) })
	d.ids = make([]string, c.N)
	d.byID = make(map[string]int32, c.N)
	for i := range d.ids {
		d.ids[i] = uuid.Must(uuid.NewV7()).String()
		d.byID[d.ids[i]] = int32(i)
	}
	// Shop 0 holds ShopRows listings, the others OtherShopRows each (the
	// last the remainder), in shuffled order, so that no shop's rows sit
	// together on disk or in the index build order.
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x5bd1e995))
	d.shopOf = make([]int32, 0, c.N)
	for range c.ShopRows {
		d.shopOf = append(d.shopOf, 0)
	}
	for shop := int32(1); len(d.shopOf) < c.N; shop++ {
		for j := 0; j < c.OtherShopRows && len(d.shopOf) < c.N; j++ {
			d.shopOf = append(d.shopOf, shop)
		}
	}
	rng.Shuffle(len(d.shopOf), func(i, j int) { d.shopOf[i], d.shopOf[j] = d.shopOf[j], d.shopOf[i] })
	shops := int(slices.Max(d.shopOf)) + 1
	for i := range shops {
		d.shopIDs = append(d.shopIDs, uuid.Must(uuid.NewV7()).String())
		d.shopNames = append(d.shopNames, fmt.Sprintf("店铺%04d", i))
	}
	d.all = make([]int32, c.N)
	for i := range d.all {
		d.all[i] = int32(i)
		if d.shopOf[i] == 0 {
			d.bigShop = append(d.bigShop, int32(i))
		}
	}

	fresh := storetest.Titles(c.Seed+1, c.Queries+c.Warmup)
	for _, scope := range []string{"shop", "tenant"} {
		rows := d.all
		if scope == "shop" {
			rows = d.bigShop
		}
		for i := range c.Queries + c.Warmup {
			qq := &query{scope: scope, rows: rows, exclude: -1,
				q: listinggen.SimilarQuery{Model: d.model, K: c.K}}
			if scope == "shop" {
				qq.q.ShopID = d.shopIDs[0]
			}
			if i%2 == 0 {
				qq.q.Vector = emb.Vector(fresh[i])
			} else {
				pick := rows[rng.IntN(len(rows))]
				qq.q.Vector, qq.q.ExcludeID, qq.exclude = d.vecs[pick], d.ids[pick], pick
			}
			d.queries = append(d.queries, qq)
		}
	}
	return d, nil
}

// parallel runs fn(0..n-1) on every core.
func parallel(n int, fn func(int)) {
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// exact is the baseline: the K best scores of the scope by a plain scan of
// the in-memory vectors with listinggen.Cosine. It returns the K-th best
// score and how many rows were in scope.
func (d *data) exact(qq *query, k int) (kth float64, count int) {
	top := make([]float64, 0, k) // min-heap of the best k scores
	for _, r := range qq.rows {
		if r == qq.exclude {
			continue
		}
		count++
		s := listinggen.Cosine(qq.q.Vector, d.vecs[r])
		if len(top) < k {
			top = append(top, s)
			for i := len(top) - 1; i > 0 && top[i] < top[(i-1)/2]; i = (i - 1) / 2 {
				top[i], top[(i-1)/2] = top[(i-1)/2], top[i]
			}
		} else if s > top[0] {
			top[0] = s
			for i := 0; ; {
				m, l, r := i, 2*i+1, 2*i+2
				if l < k && top[l] < top[m] {
					m = l
				}
				if r < k && top[r] < top[m] {
					m = r
				}
				if m == i {
					break
				}
				top[i], top[m] = top[m], top[i]
				i = m
			}
		}
	}
	if len(top) == 0 {
		return math.Inf(-1), 0
	}
	return top[0], count
}

// cacheBytes is the vector cache a store whose default is def gets in this
// run: def, or enough for all N vectors if that is more. A row costs its
// dimensions in bytes plus about 45 (bounds, id, index entry); with a
// quarter to spare, bench-large's 1M rows at 256 dimensions fit the 512 MiB
// default, a larger N would not, and a store left at the default would
// then answer shop queries in SQL, so the figures would not be its cache's.
func (d *data) cacheBytes(def int64) int64 {
	need := int64(len(d.vecs)) * int64(d.dims+64) * 5 / 4
	return max(def, need)
}

// listing builds item i's listing, much as the pipeline stores it.
func (d *data) listing(i int) *listinggen.Listing {
	title := d.titles[i]
	shop := d.shopIDs[d.shopOf[i]]
	product := fmt.Sprintf("1688-%07d", i)
	return &listinggen.Listing{
		ID: d.ids[i], TenantID: tenant, ShopID: shop, ProductID: product, ProductHash: fmt.Sprintf("h%07d", i),
		Platform: listinggen.PlatformDouyin, Status: listinggen.StatusDraft,
		Copy: listinggen.Copy{Title: title, SellingPoints: []string{"材质：见详情", "尺码：S/M/L", "发货：48小时内"},
			Description: title + "。商品详情以实物为准，支持七天无理由退换。", Keywords: []string{}},
		Source:       listinggen.Product{ID: product, Source: "1688", Title: title},
		Images:       []listinggen.ListingImage{{SourceURL: "https://img.example/" + product + ".jpg", Status: listinggen.ImagesPending}},
		ImagesStatus: listinggen.ImagesPending,
		Dedup:        listinggen.DedupReport{Verdict: listinggen.VerdictUnique, Matches: []listinggen.DedupMatch{}},
		Provenance:   listinggen.Provenance{Rewriter: "rules", Embedder: d.model},
		Embedding:    d.vecs[i], EmbeddingModel: d.model,
		IdempotencyKey: shop + "/" + product,
	}
}

// baselineRow is what the plain-table insert baselines write for item i.
func (d *data) baselineRow(i int) (id string, body []byte, vec []float32) {
	body, _ = json.Marshal(d.listing(i))
	return d.ids[i], body, d.vecs[i]
}

func (d *data) createShops(ctx context.Context, s listinggen.Store) error {
	for i, id := range d.shopIDs {
		if err := s.CreateShop(ctx, &listinggen.Shop{ID: id, TenantID: tenant, Name: d.shopNames[i], Platform: listinggen.PlatformDouyin}); err != nil {
			return fmt.Errorf("create shop %d: %w", i, err)
		}
	}
	return nil
}

// insertEach creates items [lo, hi) one CreateListing call each, from
// workers goroutines.
func (d *data) insertEach(ctx context.Context, s listinggen.Store, lo, hi, workers int, progress func(int)) error {
	return runWorkers(lo, hi, workers, progress, func(i int) error {
		created, err := s.CreateListing(ctx, d.listing(i))
		if err == nil && !created {
			err = fmt.Errorf("listing %d already existed", i)
		}
		return err
	})
}

// progress returns insertEach's progress callback for a load that began at
// t0: a log line with the count and the rate so far.
func (c Config) progress(what string, t0 time.Time) func(int) {
	return func(n int) {
		el := time.Since(t0)
		c.logf("%s: %d listings in %v (%.0f/s)", what, n, el.Round(time.Second), float64(n)/el.Seconds())
	}
}

// runWorkers calls fn(i) for i in [lo, hi) from workers goroutines and
// stops at the first error.
func runWorkers(lo, hi, workers int, progress func(int), fn func(int) error) error {
	var (
		mu   sync.Mutex
		next = lo
		done int
		err  error
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				if err != nil || next >= hi {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				e := fn(i)
				mu.Lock()
				if e != nil && err == nil {
					err = fmt.Errorf("item %d: %w", i, e)
				}
				done++
				if progress != nil && done%10_000 == 0 {
					progress(done)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return err
}

// target is one store answering queries, under a name for the report.
type target struct {
	name  string
	store listinggen.Store
	// limit, if set, is the number of timed queries per scope this target
	// answers (it skips the warm-up and the rest): for a slow reference.
	limit int
	// per scope: latencies, recall tally, short answers, cold first query
	lat    map[string][]time.Duration
	hits   map[string]int
	wanted map[string]int
	short  map[string]int
	cold   map[string]time.Duration
}

func newTarget(name string, s listinggen.Store) *target {
	return &target{name: name, store: s, lat: map[string][]time.Duration{}, hits: map[string]int{},
		wanted: map[string]int{}, short: map[string]int{}, cold: map[string]time.Duration{}}
}

// ask runs one query on t, timing it, and scores the answer against the
// exact one when record is set.
func (d *data) ask(ctx context.Context, t *target, qq *query, record bool) error {
	if t.limit > 0 && (!record || len(t.lat[qq.scope]) >= t.limit) {
		return nil
	}
	began := time.Now()
	got, err := t.store.SimilarListings(ctx, tenant, qq.q)
	took := time.Since(began)
	if err != nil {
		return fmt.Errorf("%s: %s query: %w", t.name, qq.scope, err)
	}
	if _, ok := t.cold[qq.scope]; !ok {
		t.cold[qq.scope] = took
	}
	if !record {
		return nil
	}
	t.lat[qq.scope] = append(t.lat[qq.scope], took)
	hits := 0
	seen := map[string]bool{}
	for _, h := range got {
		i, ok := d.byID[h.ListingID]
		if !ok || seen[h.ListingID] || i == qq.exclude || qq.scope == "shop" && d.shopOf[i] != 0 {
			return fmt.Errorf("%s: %s query returned %q: unknown, repeated, excluded or out of scope", t.name, qq.scope, h.ListingID)
		}
		seen[h.ListingID] = true
		if listinggen.Cosine(qq.q.Vector, d.vecs[i]) >= qq.kth-1e-6 {
			hits++
		}
	}
	if len(got) < qq.want {
		t.short[qq.scope]++
	}
	t.hits[qq.scope] += min(hits, qq.want)
	t.wanted[qq.scope] += qq.want
	return nil
}

// Report is a run's figures.
type Report struct {
	Config     Config
	Model      string
	Dims       int
	Shops      int
	Generate   time.Duration
	Latency    []LatencyRow
	Inserts    []InsertRow
	Builds     []BuildRow
	Notes      []string
	Targets    []TargetRow
	SQLiteInfo string
	// PostgresInfo names the server settings the query times depend on
	// most: an HNSW walk that does not fit shared_buffers reads pages
	// through the kernel on every query.
	PostgresInfo string
}

// LatencyRow is one store's query figures in one scope.
type LatencyRow struct {
	Scope         string
	ScopeRows     int
	Store         string
	Queries       int
	P50, P99      time.Duration
	BaseP50       time.Duration
	BaseP99       time.Duration
	Recall        float64 // -1 for the baseline
	Short         int
	Cold          time.Duration
	IsBaselineRow bool
}

// InsertRow is an insert throughput and its baseline.
type InsertRow struct {
	Store, How    string
	Rows          int
	Elapsed       time.Duration
	BaseHow       string
	BaseElapsed   time.Duration
	BaseRows      int
	PerRowLatency bool
}

// BuildRow is an index build time and its baseline.
type BuildRow struct {
	What, BaseWhat     string
	Elapsed, BaseTaken time.Duration
	Detail             string
}

// TargetRow is one of the targets and whether this run met it.
type TargetRow struct {
	What string
	Met  bool
	Got  string
}

// Run generates the data, fills each store, measures, and returns the
// report. It removes what it created (the PostgreSQL database; the
// SQLite files are in c.Dir, which the caller owns).
func Run(ctx context.Context, c Config) (*Report, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Postgres == nil {
		c.Postgres = DefaultVariants()
	}
	if len(c.BuildMemory) == 0 {
		c.BuildMemory = DefaultBuildMemory()
	}
	began := time.Now()
	d, err := generate(c)
	if err != nil {
		return nil, err
	}
	r := &Report{Config: c, Model: d.model, Dims: d.dims, Shops: len(d.shopIDs), Generate: time.Since(began)}
	c.logf("generated %d titles and vectors, %d shops, %d queries in %v", c.N, len(d.shopIDs), len(d.queries), r.Generate.Round(time.Millisecond))

	var targets []*target
	if !c.SkipSQLite {
		s, info, err := c.fillSQLite(ctx, d, r)
		if err != nil {
			return nil, err
		}
		defer s.Close()
		r.SQLiteInfo = info
		targets = append(targets, newTarget("sqlite", s))
		if c.SQLiteSQLScanQueries > 0 {
			cfg := sqlite.DefaultConfig()
			cfg.Path, cfg.VectorCacheBytes = filepath.Join(c.Dir, "store.db"), 0
			off, err := sqlite.Open(ctx, cfg, time.Now, newID)
			if err != nil {
				return nil, err
			}
			defer off.Close()
			t := newTarget("sqlite cache off", off)
			t.limit = c.SQLiteSQLScanQueries
			targets = append(targets, t)
		}
	}
	var pg *pgBench
	if c.PostgresURL != "" {
		pg, err = c.fillPostgres(ctx, d, r)
		if pg != nil {
			defer pg.close()
		}
		if err != nil {
			return nil, err
		}
		for _, v := range pg.variants {
			targets = append(targets, newTarget(v.name, v.store))
		}
	}

	// The exact answers and the baseline timings for a block of queries,
	// then each store's answers to the same block, the stores in an order
	// that rotates from block to block: a slow patch of the machine hits
	// the baseline and the stores alike, as it would query by query, but a
	// store's queries follow one another as a dedup service's do, instead
	// of each following a 100 MB scan of the baseline's vectors that has
	// just emptied the CPU caches and would slow the store's query down.
	c.logf("querying: %d per scope and store after %d warm-up, in blocks of %d", c.Queries, c.Warmup, queryBlock)
	perScope := c.Queries + c.Warmup
	for lo, block := 0, 0; lo < len(d.queries); lo, block = lo+queryBlock, block+1 {
		hi := min(lo+queryBlock, len(d.queries))
		for _, qq := range d.queries[lo:hi] {
			t0 := time.Now()
			qq.kth, qq.baseCount = d.exact(qq, c.K)
			qq.baseline = time.Since(t0)
			qq.want = min(c.K, qq.baseCount)
		}
		for j := range targets {
			t := targets[(block+j)%len(targets)]
			for qi := lo; qi < hi; qi++ {
				if err := d.ask(ctx, t, d.queries[qi], qi%perScope >= c.Warmup); err != nil {
					return nil, err
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	for _, scope := range []string{"shop", "tenant"} {
		var base []time.Duration
		rows := 0
		for qi, qq := range d.queries {
			if qq.scope == scope && qi%perScope >= c.Warmup {
				base = append(base, qq.baseline)
				rows = len(qq.rows)
			}
		}
		bp50, bp99 := percentile(base, 50), percentile(base, 99)
		r.Latency = append(r.Latency, LatencyRow{Scope: scope, ScopeRows: rows, Store: "baseline=go-exact-scan", Queries: len(base),
			P50: bp50, P99: bp99, BaseP50: bp50, BaseP99: bp99, Recall: 1, IsBaselineRow: true})
		for _, t := range targets {
			lat := t.lat[scope]
			r.Latency = append(r.Latency, LatencyRow{Scope: scope, ScopeRows: rows, Store: t.name, Queries: len(lat),
				P50: percentile(lat, 50), P99: percentile(lat, 99), BaseP50: bp50, BaseP99: bp99,
				Recall: float64(t.hits[scope]) / float64(t.wanted[scope]), Short: t.short[scope], Cold: t.cold[scope]})
		}
	}
	if pg != nil {
		if err := pg.measureBuild(ctx, c, d, r); err != nil {
			return nil, err
		}
	}
	r.evaluate()
	return r, nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	// Nearest rank.
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// evaluate checks the targets (they are set for 100k listings of
// 256 dimensions and a 10k-row shop; other sizes are reported, not judged).
func (r *Report) evaluate() {
	c := r.Config
	if c.N != 100_000 || c.ShopRows != 10_000 || r.Dims != 256 {
		r.Notes = append(r.Notes, "targets are set for N=100000, a 10000-row shop and 256 dimensions; not judged at this size")
		return
	}
	for _, l := range r.Latency {
		switch {
		case l.IsBaselineRow:
		case l.Store == "sqlite cache off":
		case l.Store == "sqlite":
			r.Targets = append(r.Targets, TargetRow{What: fmt.Sprintf("sqlite %s p99 <= 30ms", l.Scope), Met: l.P99 <= 30*time.Millisecond,
				Got: fmt.Sprintf("p99 %s, recall %.3f", ms(l.P99), l.Recall)})
		case l.Scope == "shop":
			r.Targets = append(r.Targets, TargetRow{What: l.Store + " shop p99 <= 5ms at recall 1.0", Met: l.P99 <= 5*time.Millisecond && l.Recall >= 1,
				Got: fmt.Sprintf("p99 %s, recall %.4f", ms(l.P99), l.Recall)})
		default:
			r.Targets = append(r.Targets, TargetRow{What: l.Store + " tenant p99 <= 5ms at recall@10 >= 0.98", Met: l.P99 <= 5*time.Millisecond && l.Recall >= 0.98,
				Got: fmt.Sprintf("p99 %s, recall %.4f", ms(l.P99), l.Recall)})
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}

// Write prints the report as aligned tables.
func (r *Report) Write(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "== dedup similarity query: %d listings x %d dims (%s), one tenant, %d shops; K=%d; %d timed queries per scope (+%d warm-up); GOMAXPROCS=%d\n",
		c.N, r.Dims, r.Model, r.Shops, c.K, c.Queries, c.Warmup, runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "   baseline: exact top-%d scan in Go over the scope's vectors in memory (listinggen.Cosine, 1 goroutine), run on each block of %d queries before the stores answer it\n", c.K, queryBlock)
	fmt.Fprintf(w, "   recall@%d counted by distance against it (exact ties are hits); half the queries are fresh titles, half an existing listing excluding itself\n", c.K)
	if r.PostgresInfo != "" {
		fmt.Fprintf(w, "   %s\n", r.PostgresInfo)
	}
	if r.SQLiteInfo != "" {
		fmt.Fprintf(w, "   %s\n", r.SQLiteInfo)
	}
	fmt.Fprintf(w, "%-20s %-24s %9s %9s %9s %9s %9s %6s %10s\n", "scope", "store", "p50", "p99", "p50/base", "p99/base", "recall", "short", "first")
	for _, l := range r.Latency {
		scope := fmt.Sprintf("%s (%d rows)", l.Scope, l.ScopeRows)
		rec, short, cold := fmt.Sprintf("%.4f", l.Recall), fmt.Sprint(l.Short), ms(l.Cold)
		if l.IsBaselineRow {
			rec, short, cold = "exact", "-", "-"
		}
		fmt.Fprintf(w, "%-20s %-24s %9s %9s %9s %9s %9s %6s %10s\n", scope, l.Store, ms(l.P50), ms(l.P99),
			ratio(l.P50, l.BaseP50), ratio(l.P99, l.BaseP99), rec, short, cold)
	}
	fmt.Fprintf(w, "   short: queries answered with fewer than min(K, rows in scope) rows; first: the store's first query in the scope (SQLite: loads its vector cache)\n")
	if len(r.Inserts) > 0 {
		fmt.Fprintf(w, "\n%-10s %-52s %9s %11s %10s   %s\n", "inserts", "how", "rows", "rows/s", "vs base", "baseline (same rows, same engine)")
		for _, in := range r.Inserts {
			rate := float64(in.Rows) / in.Elapsed.Seconds()
			baseRate := float64(in.BaseRows) / in.BaseElapsed.Seconds()
			fmt.Fprintf(w, "%-10s %-52s %9d %11.0f %9.2fx   %s: %.0f rows/s\n", in.Store, in.How, in.Rows, rate,
				baseRate/rate, in.BaseHow, baseRate)
		}
		fmt.Fprintf(w, "   vs base: time per row relative to the baseline's (higher is slower)\n")
	}
	for _, b := range r.Builds {
		fmt.Fprintf(w, "\n%-10s %s: %s; baseline %s: %s; ratio %s\n   %s\n", "build", b.What, b.Elapsed.Round(time.Millisecond),
			b.BaseWhat, b.BaseTaken.Round(time.Millisecond), ratio(b.Elapsed, b.BaseTaken), b.Detail)
	}
	if len(r.Targets) > 0 {
		fmt.Fprintf(w, "\ntargets (2-core machine, 100k x 256):\n")
		for _, t := range r.Targets {
			verdict := "met"
			if !t.Met {
				verdict = "NOT MET"
			}
			fmt.Fprintf(w, "  %-60s %-8s %s\n", t.What, verdict, t.Got)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}
