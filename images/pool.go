package images

import (
	"math/bits"
	"sync"
)

// Plane buffers are recycled through size-classed pools: a variant needs
// several megabytes of scratch planes, and allocating them fresh for every
// image costs zeroing and garbage-collection time, and peak memory when
// many images are processed at once.

const (
	minPoolShift = 12 // 4 KiB
	maxPoolShift = 26 // 64 MiB; larger buffers are not pooled
)

var bufPools [maxPoolShift + 1]sync.Pool

// getBuf returns a slice of length n with undefined contents.
func getBuf(n int) []byte {
	if n <= 0 {
		return nil
	}
	c := sizeClass(n)
	if c > maxPoolShift {
		return make([]byte, n)
	}
	if p, ok := bufPools[c].Get().(*[]byte); ok {
		return (*p)[:n]
	}
	return make([]byte, n, 1<<c)
}

// putBuf recycles b, which must not be used afterwards.
func putBuf(b []byte) {
	c := cap(b)
	if c == 0 || c&(c-1) != 0 { // not from getBuf
		return
	}
	shift := bits.TrailingZeros(uint(c))
	if shift < minPoolShift || shift > maxPoolShift {
		return
	}
	b = b[:0]
	bufPools[shift].Put(&b)
}

func sizeClass(n int) int {
	c := bits.Len(uint(n - 1))
	if c < minPoolShift {
		return minPoolShift
	}
	return c
}

// getPlane returns a w×h plane with undefined contents; release it with
// putPlane.
func getPlane(w, h int) plane {
	return plane{w: w, h: h, stride: w, pix: getBuf(w * h)}
}

func putPlane(p plane) { putBuf(p.pix) }
