package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/listinggen/listinggen/internal/pgtest"
	"github.com/listinggen/listinggen/internal/sample"
)

// PostgreSQL drops every connection of the service twice while 4 clients
// generate 60 listings: what the service sees of a server restart (the
// cluster is shared with other test runs, so the test terminates this
// database's backends instead of restarting it). The pool reconnects; a
// request that lost its connection answers 503, never 500, and commits
// nothing partial, so the clients' retries leave exactly 60 listings.
func TestPostgresConnectionsDroppedMidBatch(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.FreshDatabase(t)
	s := startServer(t, t.TempDir(), map[string]string{"DATABASE_URL": dbURL})
	shop := createShop(t, s, "抖店", "douyin")
	admin, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	u, _ := url.Parse(dbURL)
	dbName := strings.TrimPrefix(u.Path, "/")
	kill := func() int {
		var n int
		if err := admin.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = $1 AND pid <> pg_backend_pid()`, dbName).Scan(&n); err != nil {
			t.Error(err)
		}
		return n
	}

	lines := sample.RawLines(t)
	const items = 60
	var next, done, retried atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= items {
					return
				}
				for attempt := 0; ; attempt++ {
					resp := s.do("POST", "/v1/generate", generateBody(t, lines[i], shop.ID), nil)
					if resp.StatusCode == http.StatusOK {
						done.Add(1)
						break
					}
					if resp.StatusCode != http.StatusServiceUnavailable || attempt == 20 {
						t.Errorf("item %d: %d after %d attempts", i, resp.StatusCode, attempt+1)
						return
					}
					retried.Add(1)
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	killed := 0
	for _, at := range []int32{15, 35} {
		for done.Load() < at {
			time.Sleep(5 * time.Millisecond)
		}
		killed += kill()
	}
	wg.Wait()
	if killed == 0 {
		t.Fatal("no backend was terminated: the fault did not happen")
	}
	if done.Load() != items {
		t.Fatalf("%d of %d items generated", done.Load(), items)
	}
	var n int
	if err := admin.QueryRow(context.Background(), `SELECT count(*) FROM listings`).Scan(&n); err != nil || n != items {
		t.Fatalf("%d listings stored (%v), want %d", n, err, items)
	}
	if resp := s.do("GET", "/readyz", nil, nil); resp.StatusCode != 200 {
		t.Errorf("readyz after the drops: %d", resp.StatusCode)
	}
	t.Logf("terminated %d backends; %d requests answered 503 and were retried", killed, retried.Load())
}
