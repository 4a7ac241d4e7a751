//go:build unix

package vectorcache

import (
	"runtime"
	"syscall"
)

// offHeapMinBytes is the smallest block kept outside the Go heap: below
// it a mapping costs more than it saves, and the number of mappings (the
// kernel caps them per process, 65530 by default) stays under one per
// 64 KiB of rows.
const offHeapMinBytes = 64 << 10

// newBlock returns n zeroed bytes for data without pointers. Large blocks
// live outside the Go heap, in anonymous mappings released when owner is
// collected: the garbage collector lets the heap grow to twice what is
// live before it runs (GOGC=100), so rows on the heap would cost up to
// twice their size in memory, and they hold nothing for it to look at
// anyway. owner must be what holds the block, and every use of the block
// must keep owner reachable.
func newBlock[T any](owner *T, n int) []byte {
	if n < offHeapMinBytes {
		return make([]byte, n)
	}
	mem, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return make([]byte, n) // out of mappings: the heap will do
	}
	runtime.AddCleanup(owner, func(mem []byte) { _ = syscall.Munmap(mem) }, mem)
	return mem
}
