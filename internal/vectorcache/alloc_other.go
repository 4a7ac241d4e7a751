//go:build !unix

package vectorcache

// newCodes returns room for n codes on the Go heap.
func newCodes(_ *chunk, n int) []int8 { return make([]int8, 0, n) }
