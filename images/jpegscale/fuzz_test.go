package jpegscale

import (
	"image"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the decoder without its panic
// recovery: any input must give an error or a consistent image, never a
// panic, and return in bounded time (MaxPixels is kept small so that each
// input is cheap), with and without HalfChroma (the minimum width's parity
// picks it). The seeds are the fixtures (every sampling, progressive,
// restarts, grey, RGB), truncations of them, and a bare frame header.
func FuzzDecode(f *testing.F) {
	for _, name := range fixtures(f) {
		data := readFile(f, name)
		f.Add(data, uint16(209), uint16(143))
		f.Add(data, uint16(30), uint16(20))
		f.Add(data[:len(data)*2/3], uint16(100), uint16(1))
	}
	f.Add(sofHeader(64, 48, true), uint16(8), uint16(6))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9}, uint16(1), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, minW, minH uint16) {
		o := Options{MaxPixels: 1 << 20, HalfChroma: minW%2 == 1}
		img, denom, err := o.decodeBytes(data, int(minW), int(minH))
		if err != nil {
			if img != nil {
				t.Fatal("an image with an error")
			}
			return
		}
		if denom != 1 && denom != 2 && denom != 4 && denom != 8 {
			t.Fatalf("denom %d", denom)
		}
		b := img.Bounds()
		if b.Empty() || b.Min != (image.Point{}) || int64(b.Dx())*int64(b.Dy()) > 1<<20 {
			t.Fatalf("bounds %v", b)
		}
		// Every pixel must be addressable: reading the corners touches the
		// ends of each plane.
		for _, p := range []image.Point{{0, 0}, {b.Dx() - 1, 0}, {0, b.Dy() - 1}, {b.Dx() - 1, b.Dy() - 1}} {
			img.At(p.X, p.Y)
		}
	})
}
