package jpegscale

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The files in testdata/ are crops of testdata/images/rocket.jpg
// (209×143, so that no side is a whole number of MCUs) re-encoded by
// libjpeg-turbo's cjpeg with the option their names say: chroma sampling
// (444, 422, 440, 420, 411), progressive, restart intervals, optimised
// Huffman tables, grey, and RGB (which falls back to image/jpeg).
func fixtures(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.jpg")
	if err != nil || len(files) == 0 {
		t.Fatal("no fixtures in testdata/")
	}
	return files
}

// photos returns every JPEG photo in the repository's testdata.
func photos(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{testdata + "/*.jpg", testdata + "/large/*.jpg"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 2 {
		t.Fatal("no photos in", testdata)
	}
	return files
}

// goTestdata returns the JPEGs image/jpeg tests itself with, when the Go
// installation ships its sources: more sampling layouts (4:1:0, 2:2/1:2
// chroma, separate DC scans) and CMYK.
func goTestdata() []string {
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil
	}
	m, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(root)), "src", "image", "testdata", "*.jpeg"))
	return m
}

// planes returns the image's 8-bit planes and their visible sizes.
type planeView struct {
	pix    []uint8
	stride int
	w, h   int
}

func planesOf(t testing.TB, img image.Image) []planeView {
	t.Helper()
	switch m := img.(type) {
	case *image.Gray:
		b := m.Bounds()
		return []planeView{{m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, b.Dx(), b.Dy()}}
	case *image.YCbCr:
		b := m.Bounds()
		cw, ch := b.Dx(), b.Dy()
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio422:
			cw = (b.Max.X+1)/2 - b.Min.X/2
		case image.YCbCrSubsampleRatio420:
			cw, ch = (b.Max.X+1)/2-b.Min.X/2, (b.Max.Y+1)/2-b.Min.Y/2
		case image.YCbCrSubsampleRatio440:
			ch = (b.Max.Y+1)/2 - b.Min.Y/2
		case image.YCbCrSubsampleRatio411:
			cw = (b.Max.X+3)/4 - b.Min.X/4
		case image.YCbCrSubsampleRatio410:
			cw, ch = (b.Max.X+3)/4-b.Min.X/4, (b.Max.Y+1)/2-b.Min.Y/2
		}
		yo, co := m.YOffset(b.Min.X, b.Min.Y), m.COffset(b.Min.X, b.Min.Y)
		return []planeView{
			{m.Y[yo:], m.YStride, b.Dx(), b.Dy()},
			{m.Cb[co:], m.CStride, cw, ch},
			{m.Cr[co:], m.CStride, cw, ch},
		}
	}
	t.Fatalf("unexpected image type %T", img)
	return nil
}

func decodeStd(t testing.TB, data []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// stdRefuses lists fixtures image/jpeg cannot decode ("missing 0xff00
// sequence" on a progressive file with restart markers, which libjpeg
// decodes); TestRestartAndProgressiveDecodeAlike covers them instead.
var stdRefuses = map[string]bool{"420-progressive-restart.jpg": true}

// TestFullScaleMatchesImageJPEG decodes at 1/1 and compares every plane
// with image/jpeg's. The two use different (equally accurate) integer
// IDCTs, so samples may differ by rounding: at most 1, on few samples.
func TestFullScaleMatchesImageJPEG(t *testing.T) {
	files := append(append(photos(t), fixtures(t)...), goTestdata()...)
	for _, f := range files {
		if stdRefuses[filepath.Base(f)] {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			data := readFile(t, f)
			want := decodeStd(t, data)
			b := want.Bounds()
			got, denom, err := DecodeBytes(data, b.Dx(), b.Dy())
			if err != nil {
				t.Fatal(err)
			}
			if denom != 1 || got.Bounds() != b {
				t.Fatalf("denom %d, bounds %v, want 1 and %v", denom, got.Bounds(), b)
			}
			if _, ok := want.(*image.YCbCr); !ok {
				if _, ok := want.(*image.Gray); !ok {
					// A fallback (CMYK, RGB): image/jpeg made it.
					if fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
						t.Fatalf("got %T, want %T", got, want)
					}
					return
				}
			}
			if wy, ok := want.(*image.YCbCr); ok && got.(*image.YCbCr).SubsampleRatio != wy.SubsampleRatio {
				t.Fatalf("ratio %v, want %v", got.(*image.YCbCr).SubsampleRatio, wy.SubsampleRatio)
			}
			gp, wp := planesOf(t, got), planesOf(t, want)
			var n, diff int
			for i := range wp {
				if gp[i].w != wp[i].w || gp[i].h != wp[i].h {
					t.Fatalf("plane %d is %dx%d, want %dx%d", i, gp[i].w, gp[i].h, wp[i].w, wp[i].h)
				}
				for y := 0; y < wp[i].h; y++ {
					for x := 0; x < wp[i].w; x++ {
						d := int(gp[i].pix[y*gp[i].stride+x]) - int(wp[i].pix[y*wp[i].stride+x])
						if d < -1 || d > 1 {
							t.Fatalf("plane %d (%d,%d): %d, image/jpeg %d", i, x, y,
								gp[i].pix[y*gp[i].stride+x], wp[i].pix[y*wp[i].stride+x])
						}
						if d != 0 {
							diff++
						}
						n++
					}
				}
			}
			if diff*20 > n { // rounding differences stay rare
				t.Fatalf("%d of %d samples differ by 1", diff, n)
			}
		})
	}
}

// TestScaledIsBoxAverageOfFullDecode checks every scale against its
// definition: each output sample is the mean of the denom×denom samples of
// image/jpeg's full decode it covers (within rounding: the full decode is
// rounded to 8 bits before averaging, the scaled transform is not). Cells
// that reach past the image's edge average padding and are skipped, and so
// are cells with a sample clipped to 0 or 255 in the full decode: there
// the full decode's mean is of clipped values, which no transform of the
// coefficients alone can know.
func TestScaledIsBoxAverageOfFullDecode(t *testing.T) {
	files := append(append(fixtures(t), testdata+"/rocket.jpg", largePhoto), goTestdata()...)
	for _, f := range files {
		if stdRefuses[filepath.Base(f)] {
			continue
		}
		data := readFile(t, f)
		want := decodeStd(t, data)
		if _, ok := want.(*image.CMYK); ok {
			continue
		}
		if _, ok := want.(*image.RGBA); ok {
			continue
		}
		wp := planesOf(t, want)
		b := want.Bounds()
		for _, denom := range []int{2, 4, 8} {
			t.Run(fmt.Sprintf("%s/1_%d", filepath.Base(f), denom), func(t *testing.T) {
				w, h := (b.Dx()+denom-1)/denom, (b.Dy()+denom-1)/denom
				got, d, err := DecodeBytes(data, w, h)
				if err != nil {
					t.Fatal(err)
				}
				if d != denom || got.Bounds() != image.Rect(0, 0, w, h) {
					t.Fatalf("denom %d, bounds %v; want %d and %dx%d", d, got.Bounds(), denom, w, h)
				}
				gp := planesOf(t, got)
				var sq float64
				var n int
				for i := range wp {
					for y := 0; (y+1)*denom <= wp[i].h; y++ {
						for x := 0; (x+1)*denom <= wp[i].w; x++ {
							var sum int
							clipped := false
							for j := 0; j < denom; j++ {
								row := wp[i].pix[(y*denom+j)*wp[i].stride:]
								for k := 0; k < denom; k++ {
									v := row[x*denom+k]
									sum += int(v)
									clipped = clipped || v == 0 || v == 255
								}
							}
							if clipped {
								continue
							}
							mean := float64(sum) / float64(denom*denom)
							e := float64(gp[i].pix[y*gp[i].stride+x]) - mean
							if math.Abs(e) > 2 {
								t.Fatalf("plane %d (%d,%d): %d, box mean of the full decode %.2f", i, x, y, gp[i].pix[y*gp[i].stride+x], mean)
							}
							sq += e * e
							n++
						}
					}
				}
				if rms := math.Sqrt(sq / float64(n)); rms > 0.75 {
					t.Fatalf("RMS difference from the box mean %.3f, want <= 0.75", rms)
				}
			})
		}
	}
}

// TestRestartAndProgressiveDecodeAlike: the four 4:2:0 fixtures hold the
// same quantised coefficients (cjpeg with one quality, coded baseline or
// progressive, with or without restart markers; libjpeg decodes all four
// to identical pixels), so every scale must give identical planes.
func TestRestartAndProgressiveDecodeAlike(t *testing.T) {
	names := []string{"420.jpg", "420-restart.jpg", "420-progressive.jpg", "420-progressive-restart.jpg"}
	for _, denom := range []int{1, 2, 4, 8} {
		var first []planeView
		for _, name := range names {
			img, d, err := DecodeBytes(readFile(t, "testdata/"+name), 209/denom, 143/denom)
			if err != nil || d != denom {
				t.Fatalf("%s 1/%d: denom %d, %v", name, denom, d, err)
			}
			p := planesOf(t, img)
			if first == nil {
				first = p
				continue
			}
			for i := range p {
				for y := 0; y < p[i].h; y++ {
					a := p[i].pix[y*p[i].stride : y*p[i].stride+p[i].w]
					b := first[i].pix[y*first[i].stride : y*first[i].stride+first[i].w]
					if !bytes.Equal(a, b) {
						t.Fatalf("%s 1/%d: plane %d row %d differs from %s", name, denom, i, y, names[0])
					}
				}
			}
		}
	}
}

func TestDenom(t *testing.T) {
	for _, c := range []struct{ w, h, minW, minH, want int }{
		{3000, 2000, 800, 800, 2},   // 1500×1000
		{3000, 2000, 800, 534, 2},   // the 800×534 content of a padded 800×800
		{3000, 2000, 750, 500, 4},   // 750×500 exactly
		{3000, 2000, 751, 500, 2},   //
		{3000, 2000, 240, 240, 8},   // 375×250
		{1500, 1000, 800, 800, 1},   // 750 < 800
		{1500, 1000, 240, 160, 4},   // 375×250
		{640, 427, 800, 800, 1},     // smaller than the target
		{17, 9, 3, 2, 8},            // ceil(17/8)=3, ceil(9/8)=2
		{17, 9, 4, 2, 4},            // needs 1/4: 5×3
		{3000, 2000, 0, 0, 8},       // no bound
		{3000, 2000, 0, 1001, 1},    // only the height counts
		{3000, 2000, -5, 1000, 2},   //
		{1, 1, 1, 1, 8},             // 1×1 stays 1×1
		{1 << 16, 1, 1 << 13, 1, 8}, /* 8192 */
	} {
		if got := Denom(c.w, c.h, c.minW, c.minH); got != c.want {
			t.Errorf("Denom(%d, %d, %d, %d) = %d, want %d", c.w, c.h, c.minW, c.minH, got, c.want)
		}
	}
}

// TestFallbackToImageJPEG: files outside this decoder's subset come back
// from image/jpeg at full size, unchanged.
func TestFallbackToImageJPEG(t *testing.T) {
	files := []string{"testdata/rgb.jpg"}
	for _, f := range goTestdata() {
		if strings.Contains(f, "cmyk") || strings.Contains(f, ".rgb.") {
			files = append(files, f)
		}
	}
	for _, f := range files {
		data := readFile(t, f)
		want := decodeStd(t, data)
		got, denom, err := DecodeBytes(data, 10, 10)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if denom != 1 || got.Bounds() != want.Bounds() {
			t.Fatalf("%s: denom %d, bounds %v, want 1 and %v", f, denom, got.Bounds(), want.Bounds())
		}
		for y := 0; y < want.Bounds().Dy(); y += 7 {
			for x := 0; x < want.Bounds().Dx(); x += 7 {
				if got.At(x, y) != want.At(x, y) {
					t.Fatalf("%s: pixel (%d,%d) %v, want %v", f, x, y, got.At(x, y), want.At(x, y))
				}
			}
		}
	}
}

// TestDecodeDoesNotTouchTheBytes: the caller reads EXIF from the same
// buffer after decoding.
func TestDecodeDoesNotTouchTheBytes(t *testing.T) {
	data := readFile(t, largePhoto)
	orig := bytes.Clone(data)
	if _, _, err := DecodeBytes(data, 800, 800); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, orig) {
		t.Fatal("DecodeBytes changed its input")
	}
}

// sofHeader returns a minimal JPEG that declares w×h pixels and stops
// after its frame header.
func sofHeader(w, h int, progressive bool) []byte {
	sof := byte(0xC0)
	if progressive {
		sof = 0xC2
	}
	return []byte{
		0xFF, 0xD8,
		0xFF, sof, 0x00, 17, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3,
		1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
	}
}

// TestMaxPixelsRefusedBeforeAllocating: a 65535×65535 header (4.3 billion
// pixels) is refused from the frame header without allocating its planes.
func TestMaxPixelsRefusedBeforeAllocating(t *testing.T) {
	for _, progressive := range []bool{false, true} {
		data := sofHeader(65535, 65535, progressive)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err := Options{MaxPixels: 100_000_000}.DecodeBytes(data, 100, 100)
		runtime.ReadMemStats(&after)
		var tl *TooLargeError
		if !errors.As(err, &tl) || tl.Width != 65535 || tl.Height != 65535 {
			t.Fatalf("err = %v, want a TooLargeError for 65535×65535", err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Fatalf("allocated %d bytes before refusing", grew)
		}
	}
	// The limit is a parameter: a real photo above it is refused too.
	data := readFile(t, largePhoto)
	_, _, err := Options{MaxPixels: 3000*2000 - 1}.DecodeBytes(data, 800, 800)
	var tl *TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("err = %v, want a TooLargeError", err)
	}
	if _, _, err := (Options{MaxPixels: 3000 * 2000}).DecodeBytes(data, 800, 800); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	// Fallback files are checked before image/jpeg decodes them.
	_, _, err = Options{MaxPixels: 100}.DecodeBytes(readFile(t, "testdata/rgb.jpg"), 1, 1)
	if !errors.As(err, &tl) {
		t.Fatalf("fallback: err = %v, want a TooLargeError", err)
	}
}

// TestMalformedInputIsAnError: truncated files, damaged files and
// non-JPEG data return errors; none panics (decodeBytes does not recover).
func TestMalformedInputIsAnError(t *testing.T) {
	for _, data := range [][]byte{nil, {}, {0xFF}, {0xFF, 0xD8}, []byte("GIF89a"), {0xFF, 0xD8, 0xFF, 0xD9}} {
		if _, _, err := (Options{}).decodeBytes(data, 1, 1); err == nil {
			t.Errorf("%q: no error", data)
		}
	}
	files := append(fixtures(t), testdata+"/rocket.jpg")
	for _, f := range files {
		data := readFile(t, f)
		// Every truncation point in the headers and a spread of them in
		// the entropy-coded data; all must fail (no EOI).
		for n := 0; n < len(data)-2; n += 1 + n/50 {
			for _, denom := range []int{1, 2, 8} {
				if _, _, err := (Options{}).decodeBytes(data[:n], 1000/denom, 1000/denom); err == nil {
					t.Fatalf("%s cut at %d of %d bytes, 1/%d: no error", f, n, len(data), denom)
				}
			}
		}
	}
	// Damage: overwrite bytes at random; any outcome but a panic is fine.
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range fixtures(t) {
		orig := readFile(t, f)
		for i := 0; i < 200; i++ {
			data := bytes.Clone(orig)
			for j := 0; j < 1+i%4; j++ {
				data[rng.IntN(len(data))] = byte(rng.IntN(256))
			}
			for _, denom := range []int{1, 2, 4, 8} {
				(Options{}).decodeBytes(data, 300/denom, 200/denom)
			}
		}
	}
}

// TestIDCTsAgainstFloatReference: random coefficient blocks through every
// transform against the box mean of a float64 8×8 IDCT.
func TestIDCTsAgainstFloatReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, bs := range []int{8, 4, 2, 1} {
		d := &decoder{width: 8 * 50, height: 8 * 50, minW: 50 * bs, minH: 50 * bs, ncomp: 1}
		d.setScale()
		c, sc := &d.comp[0], &d.scales[0]
		if sc.bs != bs {
			t.Fatalf("bs %d, want %d", sc.bs, bs)
		}
		for q := range d.quant[0] {
			d.quant[0][q] = 1
		}
		d.prepareQuant()
		for trial := 0; trial < 2000; trial++ {
			var coef [64]int32 // natural order
			// Photo-like: a DC level and decaying AC terms.
			coef[0] = int32(rng.IntN(2001) - 1000)
			for k := 1; k < 64; k++ {
				if rng.IntN(3) == 0 {
					r, c := zigzag[k]/8, zigzag[k]%8
					amp := 400 / (1 + int(r) + int(c))
					coef[zigzag[k]] = int32(rng.IntN(2*amp+1) - amp)
				}
			}
			var ref [8][8]float64
			for y := 0; y < 8; y++ {
				for x := 0; x < 8; x++ {
					var s float64
					for v := 0; v < 8; v++ {
						for u := 0; u < 8; u++ {
							cu, cv := 1.0, 1.0
							if u == 0 {
								cu = 1 / math.Sqrt2
							}
							if v == 0 {
								cv = 1 / math.Sqrt2
							}
							s += cu * cv / 4 * float64(coef[v*8+u]) *
								math.Cos(float64((2*x+1)*u)*math.Pi/16) * math.Cos(float64((2*y+1)*v)*math.Pi/16)
						}
					}
					ref[y][x] = s + 128
				}
			}
			var blk [65]int32
			nz := false
			for k := 0; k < 64; k++ {
				blk[sc.slot[k]] += coef[zigzag[k]] * c.mul[k]
				nz = nz || k > 0 && sc.slot[k] < 64 && coef[zigzag[k]] != 0
			}
			d.blk = blk
			c.stride, c.pix, c.bw, c.bh = 8, make([]uint8, 64), 1, 1
			d.output(c, 0, 0, nz)
			div := 8 / bs
			for y := 0; y < bs; y++ {
				for x := 0; x < bs; x++ {
					var m float64
					for j := 0; j < div; j++ {
						for i := 0; i < div; i++ {
							m += ref[y*div+j][x*div+i]
						}
					}
					m = min(max(m/float64(div*div), 0), 255)
					if got := float64(c.pix[y*8+x]); math.Abs(got-m) > 1 {
						t.Fatalf("1/%d trial %d (%d,%d): %v, reference %.3f", div, trial, x, y, got, m)
					}
				}
			}
			if [64]int32(d.blk[:64]) != ([64]int32{}) {
				t.Fatalf("1/%d: output left coefficients behind", div)
			}
		}
	}
}

// TestFoldIsExact: each folded basis function reproduces the box mean of
// the full-size one.
func TestFoldIsExact(t *testing.T) {
	basis := func(u, x, size int) float64 {
		c := 1.0
		if u == 0 {
			c = 1 / math.Sqrt2
		}
		return c / 2 * math.Cos(float64((2*x+1)*u)*math.Pi/float64(2*size))
	}
	for n, f := range folds {
		d := 8 / n
		for u := 0; u < 8; u++ {
			for x := 0; x < n; x++ {
				var mean float64
				for j := 0; j < d; j++ {
					mean += basis(u, x*d+j, 8) / float64(d)
				}
				var got float64
				if f.to[u] >= 0 {
					got = f.w[u] * basis(f.to[u], x, n)
				}
				if math.Abs(got-mean) > 1e-12 {
					t.Fatalf("n=%d u=%d x=%d: fold gives %v, box mean %v", n, u, x, got, mean)
				}
			}
		}
	}
}

func TestZigzag(t *testing.T) {
	want := [64]uint8{0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48,
		41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37,
		44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63}
	if zigzag != want {
		t.Fatalf("zigzag = %v", zigzag)
	}
}

// TestProgressiveSkipsScansAboveTheScale: at 1/8 only DC is needed, so a
// progressive file's AC scans are skipped, and the result still matches
// the block means.
func TestProgressiveSkipsScansAboveTheScale(t *testing.T) {
	data := readFile(t, "testdata/420-progressive.jpg")
	d := &decoder{data: data, minW: 1, minH: 1, maxPixels: DefaultMaxPixels}
	if _, err := d.decode(); err != nil {
		t.Fatal(err)
	}
	if d.denom != 8 || d.scales[0].maxKeptZZ != 0 {
		t.Fatalf("denom %d, maxKeptZZ %d", d.denom, d.scales[0].maxKeptZZ)
	}
}

func ExampleDecodeBytes() {
	data, err := os.ReadFile("../../testdata/images/large/coffee-3000x2000.jpg")
	if err != nil {
		panic(err)
	}
	// An 800×800 main image needs at least 800 pixels on each side of the
	// source: 1/2 scale (1500×1000) is the smallest that has them.
	img, denom, err := DecodeBytes(data, 800, 800)
	if err != nil {
		panic(err)
	}
	fmt.Println(denom, img.Bounds().Dx(), img.Bounds().Dy())
	// Output: 2 1500 1000
}

// TestScanLimit: a progressive file may not make the decoder walk its
// blocks more than maxScans times, however cheap each scan is to encode.
func TestScanLimit(t *testing.T) {
	build := func(refines int) []byte {
		b := []byte{0xFF, 0xD8, 0xFF, 0xDB, 0, 67, 0}
		for i := 0; i < 64; i++ {
			b = append(b, 1)
		}
		// A 64×64 grey frame (64 blocks), progressive.
		b = append(b, 0xFF, 0xC2, 0, 11, 8, 0, 64, 0, 64, 1, 1, 0x11, 0)
		// DC table 0: one 1-bit code for category 0.
		b = append(b, 0xFF, 0xC4, 0, 20, 0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
		sos := func(ah, al byte) []byte {
			return []byte{0xFF, 0xDA, 0, 8, 1, 1, 0x00, 0, 0, ah<<4 | al}
		}
		b = append(b, sos(0, 1)...)
		b = append(b, 0, 0, 0, 0, 0, 0, 0, 0) // 64 blocks × 1 bit
		for i := 0; i < refines; i++ {
			b = append(b, sos(1, 0)...)
			b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
		}
		return append(b, 0xFF, 0xD9)
	}
	if _, _, err := (Options{}).decodeBytes(build(maxScans-1), 64, 64); err != nil {
		t.Fatalf("%d scans: %v", maxScans, err)
	}
	_, _, err := (Options{}).decodeBytes(build(maxScans), 64, 64)
	if err == nil || !strings.Contains(err.Error(), "too many scans") {
		t.Fatalf("%d scans: err = %v", maxScans+1, err)
	}
}

// TestHalfChroma: with Options.HalfChroma a 4:4:4 file comes back 4:2:0,
// its luma the same as without, each chroma sample within rounding of the
// 2×2 mean of the chroma decoded without it; other samplings come back
// unchanged.
func TestHalfChroma(t *testing.T) {
	files := append(fixtures(t), testdata+"/rocket.jpg", testdata+"/large/coffee-1500.jpg")
	for _, f := range files {
		data := readFile(t, f)
		for _, denom := range []int{1, 2, 4, 8} {
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			w, h := (cfg.Width+denom-1)/denom, (cfg.Height+denom-1)/denom
			plain, pd, err := DecodeBytes(data, w, h)
			if err != nil {
				t.Fatal(err)
			}
			half, d, err := Options{HalfChroma: true}.DecodeBytes(data, w, h)
			if err != nil || d != pd {
				t.Fatalf("%s at 1/%d: denom %d, %v", f, denom, d, err)
			}
			pm, ok := plain.(*image.YCbCr)
			if !ok || pm.SubsampleRatio != image.YCbCrSubsampleRatio444 || pd == 8 || pd != denom {
				if !reflect.DeepEqual(half, plain) {
					t.Errorf("%s at 1/%d: HalfChroma changed a file it does not apply to", f, denom)
				}
				continue
			}
			hm := half.(*image.YCbCr)
			if hm.SubsampleRatio != image.YCbCrSubsampleRatio420 || hm.Rect != pm.Rect {
				t.Fatalf("%s at 1/%d: %v %v, want 4:2:0 %v", f, denom, hm.SubsampleRatio, hm.Rect, pm.Rect)
			}
			pp, hp := planesOf(t, plain), planesOf(t, half)
			if !slices.Equal(hp[0].pix[:hp[0].stride*hp[0].h], pp[0].pix[:pp[0].stride*pp[0].h]) {
				t.Errorf("%s at 1/%d: the luma differs", f, denom)
			}
			for i := 1; i < 3; i++ {
				// Whole 2×2 cells inside the picture only; the last row or
				// column may average padding.
				for y := 0; 2*y+1 < pp[i].h; y++ {
					for x := 0; 2*x+1 < pp[i].w; x++ {
						a, b := pp[i].pix[2*y*pp[i].stride:], pp[i].pix[(2*y+1)*pp[i].stride:]
						mean := float64(int(a[2*x])+int(a[2*x+1])+int(b[2*x])+int(b[2*x+1])) / 4
						if e := float64(hp[i].pix[y*hp[i].stride+x]) - mean; math.Abs(e) > 2 {
							t.Fatalf("%s at 1/%d, plane %d (%d,%d): %d, 2×2 mean %.2f", f, denom, i, x, y, hp[i].pix[y*hp[i].stride+x], mean)
						}
					}
				}
			}
		}
	}
}
