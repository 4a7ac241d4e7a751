// Package postgres is the Store on PostgreSQL with pgvector, for deployments
// where many processes share one database. It passes the same conformance
// suite as the SQLite store (storetest); similarity search uses a partial
// HNSW index per embedding model, or an exact scan when the scope is small
// enough that the index would only lose recall.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxvec "github.com/pgvector/pgvector-go/pgx"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/vectorcache"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Config configures the PostgreSQL store.
type Config struct {
	// URL is a libpq connection string, usually DATABASE_URL
	// (postgres://user@host:5432/db?sslmode=disable).
	URL string
	// MaxConns bounds the connection pool of this process. Many worker
	// processes share one server, so keep it well under max_connections
	// divided by the number of processes.
	MaxConns int32
	// HNSW tunes the per-model vector indexes.
	HNSW HNSWConfig
	// ExactScanMaxRows is the scope size (rows of the query's model in the
	// shop, group or tenant) up to which similarity is answered by an exact
	// scan instead of the HNSW index. A filtered HNSW scan can return fewer
	// rows than asked and approximate ones, while an exact scan through the
	// btree index answers at recall 1.0 at a cost that grows with every row
	// of the scope, so it suits small scopes only.
	ExactScanMaxRows int
	// VectorCacheBytes caps the memory of the in-process copy of tenants'
	// vectors that answers shop and group similarity queries exactly (see
	// vectors.go; about 300 bytes a 256-dimension vector); a tenant whose
	// vectors of one model exceed it is searched in SQL. 0 turns the cache
	// off.
	VectorCacheBytes int64
	// VectorCacheDir is where the cache keeps the exact vectors it
	// re-ranks with, in a file removed as soon as it is created (4 bytes a
	// dimension per cached row); empty means os.TempDir().
	VectorCacheDir string
	// IdleInTransactionTimeout has the server end a session whose open
	// transaction has waited longer than this for its client, which
	// releases the transaction's locks: a process paused or frozen in the
	// middle of a transaction (SIGSTOP, a suspended VM) blocks the other
	// workers' claims on its rows for no longer than this, not until it
	// wakes. The store's transactions wait on nothing but the database (a
	// job's catalogue is parsed between its inserts, milliseconds a chunk),
	// so a few seconds is safe. 0 keeps the server's setting.
	IdleInTransactionTimeout time.Duration
}

// HNSWConfig holds pgvector's HNSW parameters. M and EfConstruction are
// fixed when a model's index is built (the first time the model is seen);
// changing them later affects only indexes of new models. EfSearch and
// MaxScanTuples apply per query.
type HNSWConfig struct {
	// M is the number of links per node (pgvector default 16).
	M int
	// EfConstruction is the candidate list size while building (default 64);
	// pgvector requires at least 2*M.
	EfConstruction int
	// EfSearch is the candidate list size while searching (pgvector's
	// default is 40; the default here is 100, for higher recall with shop
	// filters); queries raise it to K when K is larger.
	EfSearch int
	// MaxScanTuples caps how many index tuples an iterative scan visits to
	// satisfy a filter before giving up (pgvector default 20000); a short
	// answer then falls back to an exact scan.
	MaxScanTuples int
}

// DefaultConfig returns the settings used by `listinggen serve` when
// DATABASE_URL is set; cmd fills URL.
func DefaultConfig() Config {
	return Config{
		MaxConns:                 10,
		HNSW:                     HNSWConfig{M: 16, EfConstruction: 64, EfSearch: 100, MaxScanTuples: 20000},
		ExactScanMaxRows:         1000,
		VectorCacheBytes:         512 << 20,
		IdleInTransactionTimeout: 30 * time.Second,
	}
}

// Validate reports every problem with the config at once.
func (c Config) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("postgres: URL is required"))
	} else if _, err := pgxpool.ParseConfig(c.URL); err != nil {
		// The parse error may quote the URL, password included: say only what is wrong.
		errs = append(errs, errors.New("postgres: URL is not a valid connection string"))
	}
	if c.IdleInTransactionTimeout < 0 {
		errs = append(errs, errors.New("postgres: IdleInTransactionTimeout must not be negative"))
	}
	if c.MaxConns < 1 {
		errs = append(errs, errors.New("postgres: MaxConns must be at least 1"))
	}
	h := c.HNSW
	if h.M < 2 || h.M > 100 {
		errs = append(errs, fmt.Errorf("postgres: HNSW.M %d not in [2, 100]", h.M))
	}
	if h.EfConstruction < 4 || h.EfConstruction > 1000 || h.EfConstruction < 2*h.M {
		errs = append(errs, fmt.Errorf("postgres: HNSW.EfConstruction %d not in [max(4, 2*M), 1000]", h.EfConstruction))
	}
	if h.EfSearch < 1 || h.EfSearch > maxEfSearch {
		errs = append(errs, fmt.Errorf("postgres: HNSW.EfSearch %d not in [1, %d]", h.EfSearch, maxEfSearch))
	}
	if h.MaxScanTuples < 1 {
		errs = append(errs, errors.New("postgres: HNSW.MaxScanTuples must be at least 1"))
	}
	if c.ExactScanMaxRows < 0 {
		errs = append(errs, errors.New("postgres: ExactScanMaxRows must not be negative"))
	}
	if c.VectorCacheBytes < 0 {
		errs = append(errs, errors.New("postgres: VectorCacheBytes must not be negative"))
	}
	return errors.Join(errs...)
}

// maxEfSearch is pgvector's upper bound for hnsw.ef_search.
const maxEfSearch = 1000

// Store implements listinggen.Store on a pgx pool.
type Store struct {
	pool  *pgxpool.Pool
	cfg   Config
	now   func() time.Time
	newID func() string

	// models caches embedding_models rows. A model's dimension never
	// changes once recorded, so a cached row is never stale.
	mu     sync.RWMutex
	models map[string]embeddingModel

	searches searchCounts
	large    largeScopes
	// vectors is nil when Config.VectorCacheBytes is 0.
	vectors *vectorcache.Cache
}

var _ listinggen.Store = (*Store)(nil)

// Open connects, applies pending migrations and returns a ready store.
// now and newID are injected so that tests control time and ids.
func Open(ctx context.Context, cfg Config, now func() time.Time, newID func() string) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, errors.New("postgres: URL is not a valid connection string")
	}
	pcfg.MaxConns = cfg.MaxConns
	// JIT off for the session, in the startup message (no round trip): the
	// store's queries are short, and the cost estimate of a large scope (or
	// of the disabled sort of an HNSW query, similar.go) is high enough to
	// trigger a compilation that takes far longer than the query.
	pcfg.ConnConfig.RuntimeParams["jit"] = "off"
	// Every execution planned with its own parameters, never a cached
	// generic plan. pgx prepares each statement once per connection, and
	// PostgreSQL switches a prepared statement to a generic plan after
	// five runs, keeping it until the table is analysed again. A generic
	// plan made while listings holds few rows (a new tenant, a fresh
	// database, a server whose autovacuum is off or behind) can answer a
	// primary-key lookup by reading every row of the tenant through another
	// index; a custom plan follows the parameters. Tenants also differ in
	// size by orders of magnitude, which a plan for the average tenant
	// cannot serve. The price is planning each query.
	pcfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	if ms := cfg.IdleInTransactionTimeout.Milliseconds(); ms > 0 {
		pcfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(ms, 10)
	}
	// Register pgvector's codecs on every pooled connection. This needs the
	// vector type to exist, which is why migrations (which create the
	// extension) run on their own connection before the pool is used.
	pcfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		return pgxvec.RegisterTypes(ctx, conn)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, translate(err)
	}
	s := &Store{pool: pool, cfg: cfg, now: now, newID: newID, models: map[string]embeddingModel{}}
	if cfg.VectorCacheBytes > 0 {
		s.vectors = vectorcache.New(cfg.VectorCacheBytes, cfg.VectorCacheDir)
	}
	if err := s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.checkVectorVersion(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// checkVectorVersion refuses pgvector before 0.8.0, which has no iterative
// index scans: every filtered similarity query would fail on the setting
// (or, without it, silently return too few rows). Saying so at Open is
// better than at the first dedup check.
func (s *Store) checkVectorVersion(ctx context.Context) error {
	var version string
	if err := s.pool.QueryRow(ctx, `SELECT extversion FROM pg_extension WHERE extname = 'vector'`).Scan(&version); err != nil {
		return translate(err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil || major == 0 && minor < 8 {
		return listinggen.Errorf(listinggen.EUNAVAILABLE,
			"postgres: pgvector %s is installed; 0.8.0 or later is required (ALTER EXTENSION vector UPDATE)", version)
	}
	return nil
}

// Close closes the pool, waiting for acquired connections to be released.
func (s *Store) Close() error {
	s.pool.Close()
	return s.vectors.Close()
}

// Ping checks that the database answers and has every migration this
// binary knows, so that readiness fails while a deploy is half migrated.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
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

// migrationLock is the pg_advisory_xact_lock key that serialises migrations
// of one database (advisory locks are per database). Any constant works as
// long as nothing else in the database uses it: "lgmigrat" in ASCII.
const migrationLock int64 = 0x6c676d6967726174

// Migrate applies the embedded migrations in order, each in its own
// transaction that first takes an advisory lock, so that any number of
// processes starting at once apply each migration exactly once: the others
// wait for the lock, then see the version recorded and skip it. It runs on
// a connection of its own, outside the pool, because pooled connections
// need the vector type that the first migration creates.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return translate(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for i, name := range migrationFiles() {
		version := i + 1
		body, err := migrationsFS.ReadFile(name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
				return err
			}
			// Created under the lock: concurrent CREATE TABLE IF NOT EXISTS
			// can still fail on the catalog's unique index.
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)`); err != nil {
				return err
			}
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version).Scan(&done); err != nil || done {
				return err
			}
			// No arguments: pgx sends the file with the simple protocol,
			// which allows several statements.
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				version, path.Base(name), s.now().UTC())
			return err
		})
		if err != nil {
			return listinggen.WrapError(listinggen.ErrorCode(translate(err)), err, "postgres: migration %s failed", path.Base(name))
		}
	}
	return nil
}

// inTx runs fn in a transaction and translates its error.
func (s *Store) inTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	return translate(pgx.BeginTxFunc(ctx, s.pool, opts, fn))
}

// now returns the store's clock at the precision PostgreSQL keeps
// (microseconds), so that a value handed back by Create equals the one a
// later Find reads.
func (s *Store) timestamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// translate maps driver errors to listinggen errors once, at the edge.
// Messages stay generic: constraint and column names are internal.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var le *listinggen.Error
	if errors.As(err, &le) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return listinggen.WrapError(listinggen.ENOTFOUND, err, "not found")
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return listinggen.WrapError(listinggen.ECONFLICT, err, "conflicts with existing data")
		case pe.Code == "23503" && pe.ConstraintName == "listings_shop_fk":
			return listinggen.WrapError(listinggen.ENOTFOUND, err, "shop not found")
		case pe.Code == "23503", pe.Code == "23514": // foreign_key_violation, check_violation
			return listinggen.WrapError(listinggen.ECONFLICT, err, "conflicts with existing data")
		case pe.Code[:2] == "22": // data exception: bad encoding, NUL, NaN in a vector, …
			return listinggen.WrapError(listinggen.EINVALID, err, "value not accepted by the database")
		case pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03": // serialization, deadlock, lock timeout
			return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "database busy, retry")
		case pe.Code == "25P03": // idle_in_transaction_session_timeout: this process was paused mid-transaction
			return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "database session ended while paused, retry")
		case pe.Code == "57014": // query_canceled (statement_timeout)
			return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "database query timed out, retry")
		case pe.Code[:2] == "08", pe.Code[:2] == "53", pe.Code[:2] == "57", pe.Code[:2] == "58":
			// connection, insufficient resources, operator intervention, system error
			return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "database unavailable")
		}
		return listinggen.WrapError(listinggen.EINTERNAL, err, "internal error")
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) {
		return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "database unavailable")
	}
	return listinggen.WrapError(listinggen.EINTERNAL, err, "internal error")
}
