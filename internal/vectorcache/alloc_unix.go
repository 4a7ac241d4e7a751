//go:build unix

package vectorcache

import (
	"runtime"
	"syscall"
	"unsafe"
)

// offHeapMinBytes is the smallest chunk kept outside the Go heap: below
// it a mapping costs more than it saves, and the number of mappings (the
// kernel caps them per process, 65530 by default) stays under one per
// 64 KiB of codes.
const offHeapMinBytes = 64 << 10

// newCodes returns room for n codes. Large chunks live outside the Go
// heap, in anonymous mappings released when the chunk is collected: the
// garbage collector lets the heap grow to twice what is live before it
// runs (GOGC=100), so codes on the heap would cost up to twice their size
// in memory, and they hold no pointers for it to look at anyway. owner
// must be the chunk the slice is stored in, and every use of the slice
// must keep owner reachable.
func newCodes(owner *chunk, n int) []int8 {
	if n < offHeapMinBytes {
		return make([]int8, 0, n)
	}
	mem, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return make([]int8, 0, n) // out of mappings: the heap will do
	}
	runtime.AddCleanup(owner, func(mem []byte) { _ = syscall.Munmap(mem) }, mem)
	return unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(mem))), n)[:0]
}
