package storebench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"
	pgxvec "github.com/pgvector/pgvector-go/pgx"

	"github.com/listinggen/listinggen/postgres"
)

// checkLoopback refuses a server that is not on this machine: the
// benchmark creates and drops databases.
func checkLoopback(raw string) error {
	cfg, err := pgconn.ParseConfig(raw)
	if err != nil {
		return errors.New("storebench: PostgresURL is not a valid connection string")
	}
	hosts := []string{cfg.Host}
	for _, f := range cfg.Fallbacks {
		hosts = append(hosts, f.Host)
	}
	for _, h := range hosts {
		if strings.HasPrefix(h, "/") || h == "localhost" {
			continue
		}
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("storebench: PostgreSQL host %q is not a loopback address", h)
		}
	}
	return nil
}

type pgVariant struct {
	name  string
	store *postgres.Store
}

// pgBench is the scratch database and the stores open on it.
type pgBench struct {
	server, name string
	keep         bool
	pool         *pgxpool.Pool // for the baseline table and REINDEX
	variants     []pgVariant
	// dropped is the model's HNSW index (name and definition) while the
	// bulk load has it dropped; rebuilt is how long creating it again
	// took, which measureBuild reports instead of repeating the build.
	dropped struct{ name, def string }
	rebuilt time.Duration
}

func adminExec(ctx context.Context, server, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func (p *pgBench) close() {
	for _, v := range p.variants {
		v.store.Close()
	}
	if p.pool != nil {
		p.pool.Close()
	}
	if p.name != "" && !p.keep {
		adminExec(context.Background(), p.server, `DROP DATABASE IF EXISTS `+p.name+` WITH (FORCE)`)
	}
}

// fillPostgres creates a scratch database, opens a store per variant on
// it, loads the listings through the first, and the insert baseline.
func (c Config) fillPostgres(ctx context.Context, d *data, r *Report) (*pgBench, error) {
	u, err := url.Parse(c.PostgresURL)
	if err != nil {
		return nil, errors.New("storebench: PostgresURL is not a URL")
	}
	var b [6]byte
	rand.Read(b[:])
	p := &pgBench{server: c.PostgresURL, keep: c.KeepDatabase}
	name := "lg_bench_" + hex.EncodeToString(b[:])
	if err := adminExec(ctx, p.server, `CREATE DATABASE `+name); err != nil {
		return nil, fmt.Errorf("storebench: create database: %w", err)
	}
	p.name = name
	u.Path = "/" + name
	dbURL := u.String()
	c.logf("postgres: database %s", name)

	cacheBytes := d.cacheBytes(postgres.DefaultConfig().VectorCacheBytes)
	for i, v := range c.Postgres {
		cfg := postgres.DefaultConfig()
		cfg.URL = dbURL
		cfg.MaxConns = 4
		if i == 0 {
			cfg.MaxConns = int32(c.Workers + 2)
		}
		cfg.VectorCacheBytes = cacheBytes // a variant without a cache sets 0
		v.Tune(&cfg)
		s, err := postgres.Open(ctx, cfg, time.Now, newID)
		if err != nil {
			return p, fmt.Errorf("storebench: open %s: %w", v.Name, err)
		}
		p.variants = append(p.variants, pgVariant{name: v.Name, store: s})
	}
	pcfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return p, err
	}
	pcfg.MaxConns = int32(c.Workers + 1)
	pcfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error { return pgxvec.RegisterTypes(ctx, conn) }
	if p.pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		return p, err
	}

	loader := p.variants[0].store
	if err := d.createShops(ctx, loader); err != nil {
		return p, err
	}
	sample := min(c.PostgresRowSample, c.N)
	c.logf("postgres: %d listings, CreateListing from %d goroutines", sample, c.Workers)
	t0 := time.Now()
	if err := d.insertEach(ctx, loader, 0, sample, c.Workers, c.progress("postgres", t0)); err != nil {
		return p, fmt.Errorf("postgres: %w", err)
	}
	took := time.Since(t0)

	if _, err := p.pool.Exec(ctx, `CREATE TABLE bench_plain (tenant_id text NOT NULL, id text PRIMARY KEY, body jsonb NOT NULL, embedding vector)`); err != nil {
		return p, err
	}
	c.logf("postgres: baseline, %d rows into a plain table from %d goroutines", sample, c.Workers)
	t0 = time.Now()
	err = runWorkers(0, sample, c.Workers, nil, func(i int) error {
		id, body, vec := d.baselineRow(i)
		_, err := p.pool.Exec(ctx, `INSERT INTO bench_plain (tenant_id, id, body, embedding) VALUES ($1, $2, $3, $4)`,
			tenant, id, body, pgvector.NewVector(vec))
		return err
	})
	if err != nil {
		return p, fmt.Errorf("postgres baseline: %w", err)
	}
	r.Inserts = append(r.Inserts, InsertRow{Store: "postgres", How: fmt.Sprintf("CreateListing x %d goroutines (HNSW kept up)", c.Workers),
		Rows: sample, Elapsed: took, BaseHow: fmt.Sprintf("INSERT into a table with only a primary key, %d goroutines", c.Workers),
		BaseRows: sample, BaseElapsed: time.Since(t0)})
	if sample < c.N {
		if err := p.bulkLoad(ctx, c, d, dbURL, sample, r); err != nil {
			return p, fmt.Errorf("postgres bulk load: %w", err)
		}
	}
	var sharedBuffers, version string
	if err := p.pool.QueryRow(ctx, `SELECT current_setting('shared_buffers'), current_setting('server_version')`).Scan(&sharedBuffers, &version); err != nil {
		return p, err
	}
	r.PostgresInfo = fmt.Sprintf("postgres: %s, shared_buffers=%s (an HNSW index larger than that is read through the kernel on every walk; see the build line for its size); "+
		"VectorCacheBytes=%d MiB in the variants with a cache (default %d MiB)", version, sharedBuffers, cacheBytes>>20, postgres.DefaultConfig().VectorCacheBytes>>20)
	// What autovacuum would do some time after a bulk load; the store's
	// plans do not depend on it (see postgres/similar.go), the count's
	// index-only scan does a little.
	if _, err := p.pool.Exec(ctx, `VACUUM ANALYZE listings`); err != nil {
		return p, err
	}
	if p.dropped.name != "" {
		if err := p.rebuildIndex(ctx, c); err != nil {
			return p, err
		}
	}
	// The load leaves hundreds of MB of dirty buffers; without this the
	// next timed checkpoint writes them out in the middle of the timed
	// queries. A server in steady state has no such backlog. CHECKPOINT
	// needs a superuser (or pg_checkpoint): without one, say so and go on.
	if _, err := p.pool.Exec(ctx, `CHECKPOINT`); err != nil {
		c.logf("postgres: CHECKPOINT before the queries failed (%v); their tail may include a checkpoint", err)
	}
	return p, nil
}

// bulkLoad loads items [lo, N) through CreateListing faster than the timed
// part, without changing what the store writes: the model's HNSW index,
// which costs most of each insert's time, is dropped first, to be created
// again from its own definition once the table is loaded and vacuumed
// (rebuildIndex), and the loader's sessions commit with
// synchronous_commit=off, so that no insert waits for a WAL flush. The
// rows, their image hashes and the vec_xid stamps are CreateListing's own,
// and the index ends as the one the store built when it first saw the
// model, over every row. How the rows went in, and at what rate, is
// reported as a note.
func (p *pgBench) bulkLoad(ctx context.Context, c Config, d *data, dbURL string, lo int, r *Report) error {
	var index, def string
	err := p.pool.QueryRow(ctx, `SELECT index_name, coalesce(pg_get_indexdef(to_regclass(index_name)), '')
		FROM embedding_models WHERE model = $1`, d.model).Scan(&index, &def)
	if err != nil {
		return err
	}
	if index == "" || def == "" {
		return fmt.Errorf("model %q has no HNSW index to drop (index_name %q)", d.model, index)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("synchronous_commit", "off") // pgx sends unknown parameters as session settings
	u.RawQuery = q.Encode()
	cfg := postgres.DefaultConfig()
	cfg.URL, cfg.MaxConns, cfg.VectorCacheBytes = u.String(), int32(c.Workers+2), 0
	loader, err := postgres.Open(ctx, cfg, time.Now, newID)
	if err != nil {
		return err
	}
	defer loader.Close()

	if _, err := p.pool.Exec(ctx, `DROP INDEX `+pgx.Identifier{index}.Sanitize()); err != nil {
		return err
	}
	p.dropped.name, p.dropped.def = index, def
	c.logf("postgres: %d more listings, CreateListing from %d goroutines, synchronous_commit=off, %s dropped", c.N-lo, c.Workers, index)
	t0 := time.Now()
	if err := d.insertEach(ctx, loader, lo, c.N, c.Workers, c.progress("postgres bulk", t0)); err != nil {
		return err
	}
	r.Notes = append(r.Notes, fmt.Sprintf("postgres: the insert row is the first %d listings; the other %d went in through CreateListing "+
		"from %d goroutines with synchronous_commit=off and the model's HNSW index dropped, at %.0f rows/s; the index was then created "+
		"again from its own definition (pg_get_indexdef), and the build row times that build",
		lo, c.N-lo, c.Workers, float64(c.N-lo)/time.Since(t0).Seconds()))
	return nil
}

// rebuildIndex creates the index bulkLoad dropped, with c.BuildMemory[0]
// as maintenance_work_mem: the same build measureBuild would time as a
// REINDEX of the first setting, so it is timed here and not repeated there
// (at 1M rows each build takes minutes).
func (p *pgBench) rebuildIndex(ctx context.Context, c Config) error {
	mem := c.BuildMemory[0]
	c.logf("postgres: creating %s again over %d rows, maintenance_work_mem=%s", p.dropped.name, c.N, mem)
	t0 := time.Now()
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if mem != "server" {
			if _, err := tx.Exec(ctx, `SELECT set_config('maintenance_work_mem', $1, true)`, mem); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, p.dropped.def)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: create %s again: %w", p.dropped.name, err)
	}
	p.rebuilt = time.Since(t0)
	return nil
}

// measureBuild times a REINDEX of the model's HNSW index, with each of
// c.BuildMemory as maintenance_work_mem, against a REINDEX of a btree
// index over the same rows. (The store builds the index when a model is
// first seen, on an empty index; a REINDEX is what rebuilding it, or
// building it over a loaded table, costs.) After a bulk load the first
// setting's figure is rebuildIndex's build, not a second one.
func (p *pgBench) measureBuild(ctx context.Context, c Config, d *data, r *Report) error {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var index, mem, workers string
	if err := conn.QueryRow(ctx, `SELECT index_name FROM embedding_models WHERE model = $1`, d.model).Scan(&index); err != nil {
		return err
	}
	if err := conn.QueryRow(ctx, `SELECT current_setting('maintenance_work_mem'), current_setting('max_parallel_maintenance_workers')`).Scan(&mem, &workers); err != nil {
		return err
	}
	timed := func(sql string) (time.Duration, error) {
		t0 := time.Now()
		_, err := conn.Exec(ctx, sql)
		return time.Since(t0), err
	}
	c.logf("postgres: REINDEX btree listings_by_shop (baseline)")
	base, err := timed(`REINDEX INDEX listings_by_shop`)
	if err != nil {
		return err
	}
	h := postgres.DefaultConfig().HNSW
	for i, m := range c.BuildMemory {
		if m == "server" {
			m = mem
		}
		what, took := fmt.Sprintf("HNSW CREATE INDEX after the bulk load, maintenance_work_mem=%s", m), p.rebuilt
		if i > 0 || took == 0 {
			if _, err := conn.Exec(ctx, `SELECT set_config('maintenance_work_mem', $1, false)`, m); err != nil {
				return err
			}
			c.logf("postgres: REINDEX %s with maintenance_work_mem=%s", index, m)
			what = fmt.Sprintf("HNSW REINDEX, maintenance_work_mem=%s", m)
			if took, err = timed(`REINDEX INDEX ` + index); err != nil {
				return err
			}
		}
		var size int64
		if err := conn.QueryRow(ctx, `SELECT pg_relation_size($1::regclass)`, index).Scan(&size); err != nil {
			return err
		}
		r.Builds = append(r.Builds, BuildRow{
			What:      what,
			BaseWhat:  "btree REINDEX listings_by_shop",
			Elapsed:   took,
			BaseTaken: base,
			Detail: fmt.Sprintf("the model's partial HNSW index (m=%d, ef_construction=%d) over %d rows, max_parallel_maintenance_workers=%s (server maintenance_work_mem %s); index %d MiB",
				h.M, h.EfConstruction, c.N, workers, mem, size>>20),
		})
	}
	return nil
}
