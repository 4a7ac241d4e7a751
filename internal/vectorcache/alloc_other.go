//go:build !unix

package vectorcache

// newVectors returns room for n float32s on the Go heap.
func newVectors(_ *chunk, n int) []float32 { return make([]float32, 0, n) }
