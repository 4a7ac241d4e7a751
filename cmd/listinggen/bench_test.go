package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/listinggen/listinggen/internal/sample"
)

// BenchmarkAPI measures POST /v1/generate (one product, one shop, through
// the whole pipeline and a committed SQLite write) against GET /healthz
// over the same server and client: scripts/bench.sh reports the ratio,
// which stays meaningful on a noisy machine where absolute times do not.
func BenchmarkAPI(b *testing.B) {
	s := startServer(b, b.TempDir(), nil)
	lines := sample.RawLines(b)
	b.Run("baseline=healthz", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if resp := s.do("GET", "/healthz", nil, nil); resp.StatusCode != http.StatusOK {
				b.Fatal(resp.StatusCode)
			}
		}
	})
	b.Run("generate", func(b *testing.B) {
		var shop shopJSON
		for i := 0; i < b.N; i++ {
			// A new shop every pass over the catalogue, so every request
			// does the full work instead of returning a stored listing.
			if i%len(lines) == 0 {
				b.StopTimer()
				shop = createShop(b, s, fmt.Sprintf("bench-%d", i), "douyin")
				b.StartTimer()
			}
			var out generateJSON
			resp := s.do("POST", "/v1/generate", generateBody(b, lines[i%len(lines)], shop.ID), &out)
			if resp.StatusCode != http.StatusOK || !out.Listings[0].Created {
				b.Fatalf("generate: %d", resp.StatusCode)
			}
		}
	})
}
