package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/listinggen/listinggen/internal/envflag"
	"github.com/listinggen/listinggen/internal/lab/storebench"
)

// storeBench measures the dedup step's similarity query on both stores
// (internal/lab/storebench) and prints its table: latency against an exact
// scan of the same vectors, recall, insert and index-build throughput.
func storeBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c := storebench.DefaultConfig()
	f := envflag.New("storebench", getenv, stderr)
	n := f.String("n", "DEDUP_BENCH_N", strconv.Itoa(c.N), "listings in the benchmark tenant")
	queries := f.String("queries", "DEDUP_BENCH_QUERIES", strconv.Itoa(c.Queries), "timed queries per scope")
	workers := f.String("workers", "DEDUP_BENCH_WORKERS", strconv.Itoa(c.Workers), "concurrent loaders")
	pgURL := f.String("pg-url", "DEDUP_BENCH_PG_URL", "", `PostgreSQL server to create a scratch database on ("off" or empty: SQLite only)`)
	sqlite := f.String("sqlite", "DEDUP_BENCH_SQLITE", "on", `"off" leaves SQLite out`)
	keep := f.String("keep-db", "DEDUP_BENCH_KEEP_DB", "0", "1 keeps the PostgreSQL database (its name is logged)")
	if err := f.Parse(args); err != nil {
		return err
	}
	for _, setting := range []struct {
		name, value string
		dst         *int
	}{{"n", *n, &c.N}, {"queries", *queries, &c.Queries}, {"workers", *workers, &c.Workers}} {
		v, err := strconv.Atoi(setting.value)
		if err != nil {
			return fmt.Errorf("storebench: --%s %q is not a number", setting.name, setting.value)
		}
		*setting.dst = v
	}
	c.ShopRows = min(c.ShopRows, c.N)
	if *pgURL != "off" {
		c.PostgresURL = *pgURL
	}
	c.SkipSQLite = *sqlite == "off"
	c.KeepDatabase = *keep == "1"
	dir, err := os.MkdirTemp("", "listinggen-storebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	c.Dir, c.Log = dir, stderr
	r, err := storebench.Run(ctx, c)
	if err != nil {
		return err
	}
	r.Write(stdout)
	return nil
}
