package jpegenc

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/listinggen/listinggen/internal/benchinfo"
)

// photo returns a testdata photo as 4:4:4 YCbCr, cropped to w×h at (x, y).
func photo(t testing.TB, name string, x, y, w, h int) *image.YCbCr {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../testdata/images", name))
	if err != nil {
		t.Fatal(err)
	}
	src, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio444)
	for j := 0; j < h; j++ {
		for i := 0; i < w; i++ {
			c := color.YCbCrModel.Convert(src.At(x+i, y+j)).(color.YCbCr)
			m.Y[j*m.YStride+i], m.Cb[j*m.CStride+i], m.Cr[j*m.CStride+i] = c.Y, c.Cb, c.Cr
		}
	}
	return m
}

// TestSameBytesAsImageJPEG: for the same 4:4:4 pixels, Append writes the
// file image/jpeg writes, at every quality, for sizes that are and are not
// whole MCUs, with flat areas (the uniform-block path) and noise (long
// codes, 0xFF bytes to stuff).
func TestSameBytesAsImageJPEG(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(3, 4))
	imgs := map[string]*image.YCbCr{
		"photo 800x533": photo(t, "large/coffee-1500.jpg", 300, 200, 800, 533),
		"photo 75x41":   photo(t, "rocket.jpg", 10, 20, 75, 41),
		"photo 1x1":     photo(t, "rocket.jpg", 100, 100, 1, 1),
	}
	noise := image.NewYCbCr(image.Rect(0, 0, 37, 70), image.YCbCrSubsampleRatio444)
	for i := range noise.Y {
		noise.Y[i], noise.Cb[i], noise.Cr[i] = uint8(rnd.IntN(256)), uint8(rnd.IntN(256)), uint8(rnd.IntN(256))
	}
	imgs["noise 37x70"] = noise
	padded := photo(t, "large/chelsea-1500.jpg", 0, 0, 240, 240)
	for y := 0; y < 240; y++ {
		for x := 0; x < 240; x++ {
			if y < 50 || y >= 190 || x < 3 {
				padded.Y[y*padded.YStride+x], padded.Cb[y*padded.CStride+x], padded.Cr[y*padded.CStride+x] = 255, 128, 128
			}
		}
	}
	imgs["padded 240x240"] = padded
	for name, m := range imgs {
		for _, q := range []int{1, 25, 50, 60, 75, 85, 90, 100} {
			var want bytes.Buffer
			if err := jpeg.Encode(&want, m, &jpeg.Options{Quality: q}); err != nil {
				t.Fatal(err)
			}
			got, err := Append(nil, m, q)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("%s at quality %d: %d bytes, image/jpeg %d; first difference at byte %d",
					name, q, len(got), want.Len(), firstDiff(got, want.Bytes()))
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestSubsampledInput: 4:2:0 input gives a valid file whose chroma is the
// given planes: the same bytes as 4:4:4 input whose chroma is those
// planes' samples repeated 2×2.
func TestSubsampledInput(t *testing.T) {
	t.Parallel()
	for _, size := range []image.Point{{800, 800}, {75, 41}, {1, 1}} {
		full := photo(t, "rocket.jpg", 0, 0, size.X, size.Y)
		half := image.NewYCbCr(full.Rect, image.YCbCrSubsampleRatio420)
		copy(half.Y, full.Y)
		for y := 0; y < (size.Y+1)/2; y++ {
			for x := 0; x < (size.X+1)/2; x++ {
				half.Cb[y*half.CStride+x] = full.Cb[2*y*full.CStride+2*x]
				half.Cr[y*half.CStride+x] = full.Cr[2*y*full.CStride+2*x]
			}
		}
		for y := 0; y < size.Y; y++ {
			for x := 0; x < size.X; x++ {
				full.Cb[y*full.CStride+x] = half.Cb[y/2*half.CStride+x/2]
				full.Cr[y*full.CStride+x] = half.Cr[y/2*half.CStride+x/2]
			}
		}
		want, err := Append(nil, full, 85)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Append(nil, half, 85)
		if err != nil {
			t.Fatal(err)
		}
		if size.X%2 == 0 && size.Y%2 == 0 && !bytes.Equal(got, want) {
			t.Errorf("%v: 4:2:0 input differs from the same chroma at 4:4:4", size)
		}
		if _, err := jpeg.Decode(bytes.NewReader(got)); err != nil {
			t.Errorf("%v: %v", size, err)
		}
	}
}

// TestReciprocals: the reciprocal division equals image/jpeg's rounded
// division for every quantiser and every value a coefficient can take.
func TestReciprocals(t *testing.T) {
	t.Parallel()
	div := func(a, b int32) int32 { // image/jpeg's
		if a >= 0 {
			return (a + (b >> 1)) / b
		}
		return -((-a + (b >> 1)) / b)
	}
	var q quant
	for x := uint32(1); x <= 255; x++ {
		d := 8 * x
		q.div[0], q.half[0], q.recip[0] = d, d>>1, (1<<recipShift+uint64(d)-1)/uint64(d)
		for c := int32(-1 << 16); c <= 1<<16; c++ {
			if got, want := q.quantize(0, c), div(c, int32(d)); got != want {
				t.Fatalf("%d / %d: %d, want %d", c, d, got, want)
			}
		}
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	for name, m := range map[string]*image.YCbCr{
		"empty": image.NewYCbCr(image.Rect(0, 0, 0, 10), image.YCbCrSubsampleRatio444),
		"4:2:2": image.NewYCbCr(image.Rect(0, 0, 8, 8), image.YCbCrSubsampleRatio422),
		"wide":  {Rect: image.Rect(0, 0, 1<<16, 1), SubsampleRatio: image.YCbCrSubsampleRatio444},
	} {
		if _, err := Append(nil, m, 85); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestMain prints the machine before any benchmark.
func TestMain(m *testing.M) { os.Exit(benchinfo.Run(m)) }

// BenchmarkEncode encodes an 800×800 padded main image (an 800×533 photo
// on white, the Douyin main variant's layout) at quality 85 with
// image/jpeg from 4:4:4 planes and with Append from the 4:2:0 planes the
// renderer makes, alternating in one loop so that both see the same
// machine load, and reports each one's CPU time per encode and the ratio.
func BenchmarkEncode(b *testing.B) {
	m := photo(b, "large/coffee-1500.jpg", 300, 200, 800, 800)
	for y := 0; y < 800; y++ {
		if y < 133 || y >= 666 {
			for x := 0; x < 800; x++ {
				m.Y[y*m.YStride+x], m.Cb[y*m.CStride+x], m.Cr[y*m.CStride+x] = 255, 128, 128
			}
		}
	}
	half := image.NewYCbCr(m.Rect, image.YCbCrSubsampleRatio420)
	copy(half.Y, m.Y)
	for y := 0; y < 400; y++ {
		for x := 0; x < 400; x++ {
			half.Cb[y*half.CStride+x] = m.Cb[2*y*m.CStride+2*x]
			half.Cr[y*half.CStride+x] = m.Cr[2*y*m.CStride+2*x]
		}
	}
	var buf bytes.Buffer
	var out []byte
	var std, ours time.Duration
	for b.Loop() {
		t0 := benchinfo.CPUTime()
		buf.Reset()
		if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 85}); err != nil {
			b.Fatal(err)
		}
		t1 := benchinfo.CPUTime()
		var err error
		if out, err = Append(out[:0], half, 85); err != nil {
			b.Fatal(err)
		}
		t2 := benchinfo.CPUTime()
		std += t1 - t0
		ours += t2 - t1
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 / float64(b.N) }
	b.ReportMetric(ms(std), "imagejpeg-cpu-ms/op")
	b.ReportMetric(ms(ours), "jpegenc-cpu-ms/op")
	b.ReportMetric(float64(std)/float64(ours), "speedup")
}
