package storebench

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/sqlite"
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// bulkCreator is the optional batch insert a store may have
// (sqlite.Store.CreateListings).
type bulkCreator interface {
	CreateListings(ctx context.Context, ls []*listinggen.Listing) ([]bool, error)
}

// sqliteCacheBytes is the vector cache the run gives SQLite: the
// configured size, else d.cacheBytes of the store's default.
func (c Config) sqliteCacheBytes(d *data) int64 {
	if c.SQLiteCacheBytes > 0 {
		return c.SQLiteCacheBytes
	}
	return d.cacheBytes(sqlite.DefaultConfig().VectorCacheBytes)
}

// fillSQLite opens a SQLite store in c.Dir, loads the listings and the
// insert baselines, and records the insert figures.
func (c Config) fillSQLite(ctx context.Context, d *data, r *Report) (listinggen.Store, string, error) {
	cfg := sqlite.DefaultConfig()
	cfg.Path = filepath.Join(c.Dir, "store.db")
	cfg.VectorCacheBytes = c.sqliteCacheBytes(d)
	s, err := sqlite.Open(ctx, cfg, time.Now, newID)
	if err != nil {
		return nil, "", err
	}
	info := fmt.Sprintf("sqlite: %s, synchronous=FULL, WAL, VectorCacheBytes=%d MiB (default %d MiB)", cfg.Path,
		cfg.VectorCacheBytes>>20, sqlite.DefaultConfig().VectorCacheBytes>>20)
	fail := func(err error) (listinggen.Store, string, error) {
		s.Close()
		return nil, "", err
	}
	if err := d.createShops(ctx, s); err != nil {
		return fail(err)
	}
	base, err := openPlainSQLite(ctx, filepath.Join(c.Dir, "baseline.db"))
	if err != nil {
		return fail(err)
	}
	defer base.Close()

	// One CreateListing per row: a transaction and an fsync each.
	sample := min(c.SQLiteRowSample, c.N)
	if sample > 0 {
		c.logf("sqlite: %d listings one CreateListing at a time", sample)
		t0 := time.Now()
		if err := d.insertEach(ctx, s, 0, sample, 1, nil); err != nil {
			return fail(fmt.Errorf("sqlite: %w", err))
		}
		took := time.Since(t0)
		t0 = time.Now()
		for i := range sample {
			if err := base.insert(ctx, d, i, i+1); err != nil {
				return fail(err)
			}
		}
		r.Inserts = append(r.Inserts, InsertRow{Store: "sqlite", How: "CreateListing, 1 transaction each, 1 goroutine", Rows: sample, Elapsed: took,
			BaseHow: "INSERT, 1 transaction each", BaseRows: sample, BaseElapsed: time.Since(t0)})
	}
	// The rest in batches.
	if rest := c.N - sample; rest > 0 {
		var store listinggen.Store = s
		bulk, ok := store.(bulkCreator)
		how := fmt.Sprintf("CreateListings, %d per transaction", c.SQLiteBatch)
		c.logf("sqlite: %d listings through %s", rest, how)
		t0 := time.Now()
		if ok {
			for lo := sample; lo < c.N; lo += c.SQLiteBatch {
				batch := make([]*listinggen.Listing, 0, c.SQLiteBatch)
				for i := lo; i < min(lo+c.SQLiteBatch, c.N); i++ {
					batch = append(batch, d.listing(i))
				}
				if _, err := bulk.CreateListings(ctx, batch); err != nil {
					return fail(fmt.Errorf("sqlite: CreateListings at %d: %w", lo, err))
				}
			}
		} else {
			how = fmt.Sprintf("CreateListing x %d goroutines", c.Workers)
			if err := d.insertEach(ctx, s, sample, c.N, c.Workers, nil); err != nil {
				return fail(fmt.Errorf("sqlite: %w", err))
			}
		}
		took := time.Since(t0)
		t0 = time.Now()
		for lo := sample; lo < c.N; lo += c.SQLiteBatch {
			if err := base.insert(ctx, d, lo, min(lo+c.SQLiteBatch, c.N)); err != nil {
				return fail(err)
			}
		}
		r.Inserts = append(r.Inserts, InsertRow{Store: "sqlite", How: how, Rows: rest, Elapsed: took,
			BaseHow: fmt.Sprintf("INSERT, %d per transaction", c.SQLiteBatch), BaseRows: rest, BaseElapsed: time.Since(t0)})
	}
	return s, info, nil
}

// plainSQLite is the insert baseline: a table with the listing's id, JSON
// body and vector and nothing else, in its own file with the store's
// settings (WAL, synchronous=FULL).
type plainSQLite struct{ db *sql.DB }

func openPlainSQLite(ctx context.Context, path string) (*plainSQLite, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS plain (id TEXT PRIMARY KEY, body TEXT NOT NULL, embedding BLOB)`); err != nil {
		db.Close()
		return nil, err
	}
	return &plainSQLite{db: db}, nil
}

func (p *plainSQLite) Close() error { return p.db.Close() }

// insert writes items [lo, hi) in one transaction.
func (p *plainSQLite) insert(ctx context.Context, d *data, lo, hi int) error {
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := lo; i < hi; i++ {
		id, body, vec := d.baselineRow(i)
		if _, err := tx.ExecContext(ctx, `INSERT INTO plain (id, body, embedding) VALUES (?, ?, ?)`, id, string(body), encodeVector(vec)); err != nil {
			return fmt.Errorf("sqlite baseline: %w", err)
		}
	}
	return tx.Commit()
}

// encodeVector is the SQLite store's vector encoding: little-endian float32.
func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}
