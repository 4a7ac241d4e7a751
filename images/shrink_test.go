package images

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// minPSNR is the quality floor of a variant made through DecodeFor
// (shrink-on-load) against the same variant made from image/jpeg's full
// decode.
const minPSNR = 38.0

// allVariants returns every distinct variant the platform profiles ask for
// (apparel categories included, so the 3:4 main and Pinduoduo's detail
// image are there), without byte limits so that both sides of a
// comparison are encoded at the same quality.
func allVariants(t testing.TB) []VariantSpec {
	t.Helper()
	var out []VariantSpec
	for _, p := range []string{"douyin", "taobao", "pinduoduo", "generic"} {
		for _, v := range Variants(profileSpec(t, p).ForCategory("女装/连衣裙"), DefaultRenderConfig()) {
			v.MaxBytes = 0
			if !slices.ContainsFunc(out, func(o VariantSpec) bool {
				return o.Width == v.Width && o.Height == v.Height && o.Fit == v.Fit && o.MinWidth == v.MinWidth
			}) {
				out = append(out, v)
			}
		}
	}
	return out
}

// stdlibDecode is the decode before shrink-on-load: the format's standard
// decoder at full size.
func stdlibDecode(t testing.TB, data []byte) *Source {
	t.Helper()
	f, err := Sniff(data)
	if err != nil {
		t.Fatal(err)
	}
	img, err := decodeImage(f, data)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	return newSource(f, readOrientation(data, f), img, b.Dx(), b.Dy(), 1)
}

// testPhotos returns every photo in testdata/images and testdata/images/large,
// plus the 3000×2000 photo marked as stored on its side (EXIF orientation
// 6), so that the scale is chosen from the rotated sizes.
func testPhotos(t testing.TB) map[string][]byte {
	t.Helper()
	photos := map[string][]byte{}
	for _, pat := range []string{"*.*", "large/*.*"} {
		files, err := filepath.Glob(filepath.Join(testdata, pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			name, _ := filepath.Rel(testdata, f)
			photos[name] = readTestdata(t, name)
		}
	}
	if len(photos) < 10 {
		t.Fatalf("%d photos in %s", len(photos), testdata)
	}
	photos["large/coffee-3000x2000.jpg, EXIF orientation 6"] = withExifOrientation(photos["large/coffee-3000x2000.jpg"], OrientRotate90)
	return photos
}

// TestShrinkOnLoadMatchesFullDecode makes every profile's variants from
// every test photo twice: with DecodeFor (JPEGs through jpegscale, scaled
// in the inverse DCT as far as the variant allows, 4:4:4 chroma at half
// that scale when it may be) and from the standard
// library's full-size decode, through the same Render. Each variant is
// decoded for alone, so that it gets the smallest scale it allows (1/8 for
// a thumbnail of the 3000×2000 photo); the pipeline decodes once for all
// of a profile's variants, at the scale the largest allows. Each variant
// must have the same size and a PSNR of at least minPSNR over the photo's
// area of the canvas (the white margins would flatter the figure), and the
// perceptual hash must stay within one bit, since duplicate detection
// compares hashes made before and after.
func TestShrinkOnLoadMatchesFullDecode(t *testing.T) {
	t.Parallel()
	c := DefaultRenderConfig()
	c.MaxUpscale = 100 // the small photos are compared too
	photos := testPhotos(t)
	names := make([]string, 0, len(photos))
	for n := range photos {
		names = append(names, n)
	}
	slices.Sort(names)
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-50s %-10s %-6s %-20s %-6s %s\n", "photo", "variant", "scale", "planes Y, C", "pHash", "PSNR dB")
	for _, name := range names {
		data := photos[name]
		want := stdlibDecode(t, data)
		wantHash := want.PHash()
		for _, v := range allVariants(t) {
			got, err := DecodeFor(data, DefaultLimits(), []VariantSpec{v})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got.Width != want.Width || got.Height != want.Height {
				t.Errorf("%s: %d×%d, want the file's %d×%d", name, got.Width, got.Height, want.Width, want.Height)
			}
			d := Distance(got.PHash(), wantHash)
			if d > 1 {
				t.Errorf("%s at 1/%d: pHash %s is %d bits from the full decode's %s; want ≤ 1", name, got.denom, got.PHash(), d, wantHash)
			}
			wv, err := Render(want, []VariantSpec{v}, c)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			gv, err := Render(got, []VariantSpec{v}, c)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if gv[0].Width != wv[0].Width || gv[0].Height != wv[0].Height {
				t.Errorf("%s %s: %d×%d, want %d×%d", name, v.Name, gv[0].Width, gv[0].Height, wv[0].Width, wv[0].Height)
				continue
			}
			g, err := want.geometry(v)
			if err != nil {
				t.Fatal(err)
			}
			content := image.Rect(g.offX, g.offY, g.offX+g.contentW, g.offY+g.contentH)
			p := psnr(subImage(t, gv[0], content), subImage(t, wv[0], content))
			fmt.Fprintf(&table, "%-50s %-10s 1/%-4d %-20s %-6d %.1f\n", name, fmt.Sprintf("%dx%d", gv[0].Width, gv[0].Height),
				got.denom, fmt.Sprintf("%dx%d, %dx%d", got.y.w, got.y.h, got.cb.w, got.cb.h), d, p)
			if p < minPSNR || math.IsNaN(p) {
				t.Errorf("%s %s (%d×%d) at 1/%d: PSNR %.1f dB, want ≥ %.0f", name, v.Name, v.Width, v.Height, got.denom, p, minPSNR)
			}
		}
	}
	t.Log(table.String())
}

// subImage decodes variant v and returns its region r.
func subImage(t testing.TB, v Variant, r image.Rectangle) image.Image {
	t.Helper()
	m, err := jpeg.Decode(bytes.NewReader(v.Data))
	if err != nil {
		t.Fatal(err)
	}
	return m.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r)
}

// TestShrinkDenom: the decode scale follows the smallest reduction any
// variant needs, in stored orientation.
func TestShrinkDenom(t *testing.T) {
	t.Parallel()
	main := VariantSpec{Name: VariantMain, Width: 800, Height: 800, Fit: FitPad}
	thumb := VariantSpec{Name: VariantThumb, Width: 240, Height: 240, Fit: FitPad}
	tall := VariantSpec{Name: "main_3x4", Width: 750, Height: 1000, Fit: FitPad}
	cases := []struct {
		w, h int
		o    Orientation
		vs   []VariantSpec
		want int
		half bool
	}{
		{3000, 2000, OrientNormal, []VariantSpec{main, thumb}, 2, true},                                                 // 3.75×: box 2 then the filter
		{3000, 2000, OrientNormal, []VariantSpec{thumb}, 8, false},                                                      // 12.5×; no scale below 1/8
		{6000, 4000, OrientNormal, []VariantSpec{main}, 4, true},                                                        // 7.5×
		{1500, 1000, OrientNormal, []VariantSpec{main, thumb}, 1, true},                                                 // 1.875×: chroma (3.75×) at 1/2
		{1200, 800, OrientNormal, []VariantSpec{main}, 1, true},                                                         // 1.5×: chroma 3×, box 2, at 1/2
		{1100, 733, OrientNormal, []VariantSpec{main}, 1, false},                                                        // 1.375×: chroma 2.75×, no box step
		{3000, 2000, OrientNormal, []VariantSpec{main, tall}, 2, true},                                                  // 3:4 pad is 4× across
		{2000, 3000, OrientRotate90, []VariantSpec{main, thumb}, 2, true},                                               // stored on its side
		{3000, 2000, OrientNormal, nil, 1, false},                                                                       // Decode: full size
		{3000, 2000, OrientNormal, []VariantSpec{{Name: "x"}}, 1, false},                                                // a variant that cannot be laid out
		{4000, 1000, OrientNormal, []VariantSpec{{Name: VariantMain, Width: 800, Height: 800, Fit: FitCrop}}, 1, false}, // crop: 1000 rows for 800
	}
	for _, tc := range cases {
		got, half := shrinkDenom(tc.w, tc.h, tc.o, tc.vs)
		if got != tc.want || half != tc.half {
			t.Errorf("%d×%d orientation %d, %d variants: 1/%d, half chroma %v; want 1/%d, %v", tc.w, tc.h, tc.o, len(tc.vs), got, half, tc.want, tc.half)
		}
	}
}

// TestDecodeForKeepsTheFileSize: a scaled decode still reports the file's
// dimensions (listings show them) and its variants' sizes do not change.
func TestDecodeForKeepsTheFileSize(t *testing.T) {
	t.Parallel()
	data := readTestdata(t, "large/coffee-3000x2000.jpg")
	spec := profileSpec(t, "douyin").ForCategory("女装/连衣裙")
	vs := Variants(spec, DefaultRenderConfig())
	src, err := DecodeFor(data, DefaultLimits(), vs)
	if err != nil {
		t.Fatal(err)
	}
	if src.denom != 2 || src.Width != 3000 || src.Height != 2000 || src.y.w != 1500 {
		t.Fatalf("1/%d, %d×%d with %d-wide planes; want 1/2, 3000×2000, 1500", src.denom, src.Width, src.Height, src.y.w)
	}
	out, err := Render(src, vs, DefaultRenderConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if v.Width != vs[i].Width || v.Height != vs[i].Height {
			t.Errorf("%s: %d×%d, want %d×%d", v.Name, v.Width, v.Height, vs[i].Width, vs[i].Height)
		}
	}
}

// TestBoxAverage: at full scale boxAverage is boxShrink; from a plane at
// 1/d with d dividing the box, it is boxShrink of the full plane.
func TestBoxAverage(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ w, h, kx, ky int }{{97, 61, 3, 2}, {100, 100, 4, 4}, {64, 33, 1, 1}, {300, 199, 31, 20}, {5, 3, 8, 8}} {
		full := newPlane(c.w, c.h)
		for y := 0; y < c.h; y++ {
			// Pairs of equal samples, so that a 1/2 plane holds them
			// exactly.
			for x, row := 0, full.row(y); x < c.w; x++ {
				row[x] = uint8(rnd.IntN(256))
				if x%2 == 1 {
					row[x] = row[x-1]
				}
				if y%2 == 1 {
					row[x] = full.row(y - 1)[x]
				}
			}
		}
		want := boxShrink(full, c.kx, c.ky)
		if got := boxAverage(full, 1, c.w, c.h, c.kx, c.ky); !slices.Equal(got.pix[:got.w*got.h], want.pix[:want.w*want.h]) {
			t.Errorf("%+v at 1/1: differs from boxShrink", c)
		}
		if c.kx%2 == 0 && c.ky%2 == 0 {
			half := boxShrink(full, 2, 2)
			if got := boxAverage(half, 2, c.w, c.h, c.kx, c.ky); !slices.Equal(got.pix[:got.w*got.h], want.pix[:want.w*want.h]) {
				t.Errorf("%+v at 1/2: differs from boxShrink of the full plane", c)
			}
		}
	}
}
