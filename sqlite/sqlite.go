// Package sqlite is the embedded Store on modernc.org/sqlite (pure Go, no
// cgo). It is the default so that `make run` needs no database server; vector
// search runs in process, over an in-memory copy of each tenant's vectors
// (see vectors.go) or, above Config.VectorCacheBytes, over the scope's rows
// read through SQL.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"sort"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/vectorcache"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Config configures the SQLite store.
type Config struct {
	// Path is the database file; ":memory:" is not supported because the
	// reader and writer pools must share one database.
	Path string
	// MaxReaders bounds concurrent read connections.
	MaxReaders int
	// BusyTimeout is how long a connection waits for a lock before failing.
	BusyTimeout time.Duration
	// VectorCacheBytes caps the memory of the vector cache, which holds
	// every vector of a (tenant, embedding model) the first time it is
	// searched, so that a similarity query scans memory instead of reading
	// every row's blob through SQL. A 256-dimension vector costs about
	// 300 bytes of memory with its id (int8 codes; the exact vectors are
	// in a file, see VectorCacheDir): the default holds about 1.8 million
	// of them. When the cached sets do not fit, the least recently used
	// are dropped; a set that alone exceeds the cap is searched through
	// SQL, which reads every row of the scope. Zero disables the cache.
	VectorCacheBytes int64
	// VectorCacheDir is where the vector cache keeps the exact vectors it
	// re-ranks with, in a file removed as soon as it is created (4 bytes a
	// dimension per cached row); empty means the database's directory.
	VectorCacheDir string
}

// DefaultConfig returns the settings used by `listinggen serve`.
func DefaultConfig() Config {
	return Config{Path: "data/listinggen.db", MaxReaders: 8, BusyTimeout: 10 * time.Second, VectorCacheBytes: 512 << 20}
}

// Validate reports every problem with the config at once.
func (c Config) Validate() error {
	var errs []error
	if c.Path == "" || c.Path == ":memory:" {
		errs = append(errs, errors.New("sqlite: Path must name a file"))
	}
	if c.MaxReaders < 1 {
		errs = append(errs, errors.New("sqlite: MaxReaders must be at least 1"))
	}
	if c.BusyTimeout < 0 {
		errs = append(errs, errors.New("sqlite: BusyTimeout must not be negative"))
	}
	if c.VectorCacheBytes < 0 {
		errs = append(errs, errors.New("sqlite: VectorCacheBytes must not be negative"))
	}
	return errors.Join(errs...)
}

// Store implements listinggen.Store. Writes go through a single connection
// (SQLite allows one writer; a pool of one turns lock contention into a Go
// queue instead of busy retries); reads use their own pool under WAL.
type Store struct {
	writer *sql.DB
	reader *sql.DB
	now    func() time.Time
	newID  func() string
	// vectors is nil when Config.VectorCacheBytes is 0.
	vectors *vectorcache.Cache
	// commits groups concurrent write transactions into one commit.
	commits groupCommit
	// writes holds writeQueries prepared on the writer; read prepares the
	// reads of the per-item path on the reader pool as they are first run.
	writes *stmtCache
	read   cachedDB
}

// writeQueries are the writes every batch item makes, prepared when the
// store opens (see stmtCache).
var writeQueries = []string{qItemState, qClaimItem, qItemByID, qJobStarted, qJob, qFinishItem, qJobUsage, qCompleteIfDone,
	qInsertListing, qShopExists}

// cached runs tx's queries on the writer's prepared statements.
func (s *Store) cached(tx *sql.Tx) cachedTx { return cachedTx{tx: tx, c: s.writes} }

var _ listinggen.Store = (*Store)(nil)

// Open opens (creating if needed) the database and applies migrations.
func Open(ctx context.Context, cfg Config, now func() time.Time, newID func() string) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dsn := func(extra string) string {
		q := url.Values{}
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds()))
		q.Add("_txlock", "immediate")
		if extra != "" {
			q.Add("_pragma", extra)
		}
		return "file:" + filepath.ToSlash(cfg.Path) + "?" + q.Encode()
	}
	writer, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		return nil, err
	}
	writer.SetMaxOpenConns(1)
	reader, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		writer.Close()
		return nil, err
	}
	reader.SetMaxOpenConns(cfg.MaxReaders)
	// Idle readers stay open: closing one drops its page cache and its
	// prepared statements, which the next read pays for again.
	reader.SetMaxIdleConns(cfg.MaxReaders)
	s := &Store{writer: writer, reader: reader, now: now, newID: newID, writes: newStmtCache(writer), read: cachedDB{newStmtCache(reader)}}
	if cfg.VectorCacheBytes > 0 {
		dir := cfg.VectorCacheDir
		if dir == "" {
			dir = filepath.Dir(cfg.Path)
		}
		s.vectors = vectorcache.New(cfg.VectorCacheBytes, dir)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	for _, q := range writeQueries {
		if _, err := s.writes.prepare(ctx, q); err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
	}
	return s, nil
}

// Close closes both pools and the vector cache's file.
func (s *Store) Close() error {
	s.writes.close()
	s.read.c.close()
	return errors.Join(s.writer.Close(), s.reader.Close(), s.vectors.Close())
}

// Ping checks that the database answers and is migrated.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "database unavailable")
	}
	if want := len(migrationFiles()); n < want {
		return listinggen.Errorf(listinggen.EUNAVAILABLE, "database has %d of %d migrations", n, want)
	}
	return nil
}

func migrationFiles() []string {
	names, _ := fs.Glob(migrationsFS, "migrations/*.sql")
	sort.Strings(names)
	return names
}

// migrate applies the embedded migrations in order, each in its own
// immediate transaction, so concurrent processes apply each exactly once.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.writer.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	for i, name := range migrationFiles() {
		version := i + 1
		body, err := migrationsFS.ReadFile(name)
		if err != nil {
			return err
		}
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				version, filepath.Base(name), formatTime(s.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", name, err)
		}
	}
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.commits.do(ctx, s.writer, fn)
}

// translate maps driver errors to listinggen errors once, at the edge.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var le *listinggen.Error
	if errors.As(err, &le) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return listinggen.Errorf(listinggen.ENOTFOUND, "not found")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3lib.SQLITE_CONSTRAINT:
			return listinggen.WrapError(listinggen.ECONFLICT, err, "conflicts with existing data")
		case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED:
			return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "database busy, retry")
		case sqlite3lib.SQLITE_FULL, sqlite3lib.SQLITE_IOERR, sqlite3lib.SQLITE_CANTOPEN:
			return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "database unavailable")
		}
	}
	return listinggen.WrapError(listinggen.EINTERNAL, err, "internal error")
}

const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// formatTime keeps a fixed width so that text order equals time order.
func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeLayout, s)
	return t
}
