package main

import (
	"net/http"
	"testing"

	"github.com/listinggen/listinggen/internal/pgtest"
	"github.com/listinggen/listinggen/internal/sample"
)

// DATABASE_URL switches serve to PostgreSQL: the same walkthrough works, and
// the listing survives a restart there too.
func TestWalkthroughOnPostgres(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.FreshDatabase(t)
	env := map[string]string{"DATABASE_URL": dbURL}
	s := startServer(t, t.TempDir(), env)
	shop := createShop(t, s, "抖店一号", "douyin")
	var out generateJSON
	if resp := s.do("POST", "/v1/generate", generateBody(t, sample.RawLines(t)[0], shop.ID), &out); resp.StatusCode != http.StatusOK {
		t.Fatalf("generate: %d", resp.StatusCode)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, t.TempDir(), env)
	var got listingJSON
	if resp := s2.do("GET", "/v1/listings/"+out.Listings[0].ID, nil, &got); resp.StatusCode != http.StatusOK || got.Copy.Title != out.Listings[0].Copy.Title {
		t.Fatalf("after restart on postgres: %d %+v", resp.StatusCode, got)
	}
	if resp := s2.do("GET", "/readyz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("readyz = %d", resp.StatusCode)
	}
}
