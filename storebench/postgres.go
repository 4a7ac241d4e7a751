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
	c.logf("postgres: %d listings, CreateListing from %d goroutines", c.N, c.Workers)
	t0 := time.Now()
	progress := func(n int) {
		el := time.Since(t0)
		c.logf("postgres: %d listings in %v (%.0f/s)", n, el.Round(time.Second), float64(n)/el.Seconds())
	}
	if err := d.insertEach(ctx, loader, 0, c.N, c.Workers, progress); err != nil {
		return p, fmt.Errorf("postgres: %w", err)
	}
	took := time.Since(t0)

	if _, err := p.pool.Exec(ctx, `CREATE TABLE bench_plain (tenant_id text NOT NULL, id text PRIMARY KEY, body jsonb NOT NULL, embedding vector)`); err != nil {
		return p, err
	}
	c.logf("postgres: baseline, %d rows into a plain table from %d goroutines", c.N, c.Workers)
	t0 = time.Now()
	err = runWorkers(0, c.N, c.Workers, nil, func(i int) error {
		id, body, vec := d.baselineRow(i)
		_, err := p.pool.Exec(ctx, `INSERT INTO bench_plain (tenant_id, id, body, embedding) VALUES ($1, $2, $3, $4)`,
			tenant, id, body, pgvector.NewVector(vec))
		return err
	})
	if err != nil {
		return p, fmt.Errorf("postgres baseline: %w", err)
	}
	r.Inserts = append(r.Inserts, InsertRow{Store: "postgres", How: fmt.Sprintf("CreateListing x %d goroutines (HNSW kept up)", c.Workers),
		Rows: c.N, Elapsed: took, BaseHow: fmt.Sprintf("INSERT into a table with only a primary key, %d goroutines", c.Workers),
		BaseRows: c.N, BaseElapsed: time.Since(t0)})
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
	// The load leaves hundreds of MB of dirty buffers; without this the
	// next timed checkpoint writes them out in the middle of the timed
	// queries. A server in steady state has no such backlog. CHECKPOINT
	// needs a superuser (or pg_checkpoint): without one, say so and go on.
	if _, err := p.pool.Exec(ctx, `CHECKPOINT`); err != nil {
		c.logf("postgres: CHECKPOINT before the queries failed (%v); their tail may include a checkpoint", err)
	}
	return p, nil
}

// measureBuild times a REINDEX of the model's HNSW index, with each of
// c.BuildMemory as maintenance_work_mem, against a REINDEX of a btree
// index over the same rows. (The store builds the index when a model is
// first seen, on an empty index; a REINDEX is what rebuilding it, or
// building it over a loaded table, costs.)
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
	for _, m := range c.BuildMemory {
		if m == "server" {
			m = mem
		}
		if _, err := conn.Exec(ctx, `SELECT set_config('maintenance_work_mem', $1, false)`, m); err != nil {
			return err
		}
		c.logf("postgres: REINDEX %s with maintenance_work_mem=%s", index, m)
		took, err := timed(`REINDEX INDEX ` + index)
		if err != nil {
			return err
		}
		var size int64
		if err := conn.QueryRow(ctx, `SELECT pg_relation_size($1::regclass)`, index).Scan(&size); err != nil {
			return err
		}
		r.Builds = append(r.Builds, BuildRow{
			What:      fmt.Sprintf("HNSW REINDEX, maintenance_work_mem=%s", m),
			BaseWhat:  "btree REINDEX listings_by_shop",
			Elapsed:   took,
			BaseTaken: base,
			Detail: fmt.Sprintf("the model's partial HNSW index (m=%d, ef_construction=%d) over %d rows, max_parallel_maintenance_workers=%s (server maintenance_work_mem %s); index %d MiB",
				h.M, h.EfConstruction, c.N, workers, mem, size>>20),
		})
	}
	return nil
}
