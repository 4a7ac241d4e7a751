package images

import (
	"testing"

	"github.com/disintegration/imaging"
)

func BenchmarkConvolve(b *testing.B) {
	src := newPlane(1500, 1000)
	for i := range src.pix {
		src.pix[i] = uint8(i * 7)
	}
	r := rect{0, 0, 1500, 1000}
	dst := newPlane(800, 533)
	for b.Loop() {
		convolve(dst, src, r, imaging.CatmullRom)
	}
}

func BenchmarkPasses(b *testing.B) {
	src := newPlane(1500, 1000)
	for i := range src.pix {
		src.pix[i] = uint8(i * 7)
	}
	hw := makeWeights(1500, 0, 1500, 800, imaging.CatmullRom, true)
	vw := makeWeights(1000, 0, 1000, 533, imaging.CatmullRom, false)
	mid := newPlane(1500, 533)
	dst := newPlane(800, 533)
	b.Run("v", func(b *testing.B) {
		for b.Loop() {
			verticalPass(mid, src, 0, vw)
		}
	})
	b.Run("h", func(b *testing.B) {
		for b.Loop() {
			horizontalPass(dst, mid, 0, hw)
		}
	})
	b.Logf("taps h=%d v=%d", hw.n, vw.n)
}
