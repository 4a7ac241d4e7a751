package main

import (
	"fmt"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/vectorcache"
	"github.com/listinggen/listinggen/metrics"
)

// vectorCacheStore is a store with an in-process vector cache (both are).
type vectorCacheStore interface {
	VectorCacheStats() vectorcache.Stats
}

func registerVectorCacheGauges(m *metrics.Metrics, store listinggen.Store) {
	vs, ok := store.(vectorCacheStore)
	if !ok {
		return
	}
	m.RegisterVectorCache(metrics.VectorCacheGauges{
		Used:     func() float64 { return float64(vs.VectorCacheStats().Used) },
		Max:      func() float64 { return float64(vs.VectorCacheStats().MaxBytes) },
		File:     func() float64 { return float64(vs.VectorCacheStats().FileBytes) },
		Failures: func() float64 { return float64(vs.VectorCacheStats().Failures) },
	})
}

// memorySummary is the batch command's last line about memory: the
// process's peak resident set and how much of it the vector cache holds,
// the part that grows with the catalogue by design (about 300 bytes a
// listing at 256 dimensions, capped by VECTOR_CACHE_MB), and the size of
// the cache's file of exact vectors, which is on disk, not in the RSS.
func memorySummary(store listinggen.Store) string {
	s := "memory:"
	if rss, ok := peakRSS(); ok {
		s += fmt.Sprintf(" peak RSS %d MiB,", rss>>20)
	}
	if vs, ok := store.(vectorCacheStore); ok {
		st := vs.VectorCacheStats()
		return s + fmt.Sprintf(" vector cache %d MiB of %d MiB, its exact vectors' file %d MiB", st.Used>>20, st.MaxBytes>>20, st.FileBytes>>20)
	}
	return s + " no vector cache"
}
