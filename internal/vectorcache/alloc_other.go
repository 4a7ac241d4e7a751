//go:build !unix

package vectorcache

// newBlock returns n zeroed bytes on the Go heap.
func newBlock[T any](_ *T, n int) []byte { return make([]byte, n) }
