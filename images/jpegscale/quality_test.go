package jpegscale_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/images"
	"github.com/listinggen/listinggen/images/jpegscale"
	"github.com/listinggen/listinggen/platform"
)

// minPSNR is the quality floor for a variant made through
// shrink-on-load against today's full decode.
const minPSNR = 38.0

// mainVariants returns the main-image variants of the Douyin and Taobao
// profiles as the pipeline derives them (both are 800×800 padded on white,
// so they are deduplicated), plus the thumbnail, whose larger reduction
// exercises the 1/4 and 1/8 scales.
func mainVariants(t *testing.T) []images.VariantSpec {
	t.Helper()
	profiles, err := platform.Profiles()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []images.VariantSpec
	for _, name := range []string{"douyin", "taobao"} {
		prof, ok := profiles[listinggen.Platform(name)]
		if !ok {
			t.Fatalf("no %s profile", name)
		}
		for _, v := range images.Variants(prof.Images, images.DefaultRenderConfig()) {
			if v.Name != images.VariantMain && v.Name != images.VariantThumb {
				continue
			}
			key := fmt.Sprintf("%s %dx%d %v", v.Name, v.Width, v.Height, v.Fit)
			if seen[key] {
				continue
			}
			seen[key] = true
			v.MaxBytes = 0 // one quality for both sides, no stepping down
			out = append(out, v)
		}
	}
	return out
}

// contentSize is where a FitPad variant puts a w×h image, as the
// pipeline's layout does: the largest size that fits, rounded.
func contentSize(w, h int, v images.VariantSpec) (cw, ch, offX, offY int) {
	s := math.Min(float64(v.Width)/float64(w), float64(v.Height)/float64(h))
	cw = min(max(int(math.Round(float64(w)*s)), 1), v.Width)
	ch = min(max(int(math.Round(float64(h)*s)), 1), v.Height)
	return cw, ch, (v.Width - cw) / 2, (v.Height - ch) / 2
}

// render makes variant v from an encoded image with the pipeline's own
// decode and resampler, encoded at quality 100 so that the encoder adds as
// little as possible to the comparison, and decodes the result.
func render(t *testing.T, data []byte, v images.VariantSpec) image.Image {
	t.Helper()
	src, err := images.Decode(data, images.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	c := images.DefaultRenderConfig()
	c.Quality, c.MinQuality = 100, 100
	vs, err := images.Render(src, []images.VariantSpec{v}, c)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(vs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// crop returns the top-left w×h of img.
func crop(img image.Image, w, h int) image.Image {
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(0, 0, w, h))
}

func pngBytes(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// psnr compares a and b over rectangle r in 8-bit RGB.
func psnr(a, b image.Image, r image.Rectangle) float64 {
	var sq float64
	var n int
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ca := color.RGBAModel.Convert(a.At(x, y)).(color.RGBA)
			cb := color.RGBAModel.Convert(b.At(x, y)).(color.RGBA)
			for _, d := range [3]float64{
				float64(ca.R) - float64(cb.R), float64(ca.G) - float64(cb.G), float64(ca.B) - float64(cb.B),
			} {
				sq += d * d
			}
			n += 3
		}
	}
	if sq == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sq/float64(n)))
}

// TestShrinkOnLoadPSNR makes the Douyin/Taobao main variant (and the
// thumbnail) of every JPEG photo in testdata two ways and compares them:
//
//   - today: images.Decode (image/jpeg, full size) then images.Render, the
//     pipeline's resampler (box pre-shrink, Catmull-Rom);
//   - shrink-on-load: jpegscale at the scale the variant's content size
//     allows, then the same images.Decode and images.Render. The pipeline
//     exports no way to render from an image.Image, so the scaled image is
//     passed through a lossless PNG (RGB).
//
// Both variants are encoded at quality 100 and compared over the photo's
// area on the canvas (the white padding would flatter the figure). A
// second column does the same with imaging.Lanczos in place of the
// pipeline's resampler, as an independent check.
//
// When a side of the photo is not a multiple of the scale's denominator,
// the scaled image's last column or row is partly padding (1001 rows at
// 1/4 are 250.25 rows, decoded as 251). The pipeline, once it uses
// jpegscale, maps the variant's region in full-size coordinates onto the
// scaled planes (its regions are fractional); this test can only hand it
// whole images, so there both sides are cropped to the same area: the
// scaled image to its whole rows and columns, the full decode to the
// matching multiple of the denominator ("crop" in the table).
func TestShrinkOnLoadPSNR(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/images/*.jpg")
	large, _ := filepath.Glob("../../testdata/images/large/*.jpg")
	files = append(files, large...)
	if len(files) < 2 {
		t.Fatal("no photos")
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-33s %-6s %-8s %-6s %-10s %-6s %12s %12s\n", "photo", "variant", "size", "scale", "source", "area", "PSNR render", "PSNR lanczos")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := jpegscale.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		full, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range mainVariants(t) {
			cw, ch, offX, offY := contentSize(cfg.Width, cfg.Height, v)
			scaled, denom, err := jpegscale.DecodeBytes(data, cw, ch)
			if err != nil {
				t.Fatal(err)
			}
			sw, sh := scaled.Bounds().Dx(), scaled.Bounds().Dy()
			ref, wantData, how := full, data, "whole"
			if cfg.Width%denom != 0 || cfg.Height%denom != 0 {
				sw, sh = cfg.Width/denom, cfg.Height/denom
				scaled = crop(scaled, sw, sh)
				ref = crop(full, sw*denom, sh*denom)
				wantData, how = pngBytes(t, ref), "crop"
				cw, ch, offX, offY = contentSize(sw, sh, v)
			}
			want := render(t, wantData, v)
			got := render(t, pngBytes(t, scaled), v)
			pRender := psnr(want, got, image.Rect(offX, offY, offX+cw, offY+ch))

			lw := imaging.Resize(ref, cw, ch, imaging.Lanczos)
			lg := imaging.Resize(scaled, cw, ch, imaging.Lanczos)
			pLanczos := psnr(lw, lg, lw.Bounds())

			name := strings.TrimPrefix(f, "../../testdata/images/")
			fmt.Fprintf(&table, "%-33s %-6s %-8s 1/%-4d %-10s %-6s %12.2f %12.2f\n", name,
				v.Name, fmt.Sprintf("%dx%d", v.Width, v.Height), denom, fmt.Sprintf("%dx%d", sw, sh), how, pRender, pLanczos)
			if pRender < minPSNR || pLanczos < minPSNR {
				t.Errorf("%s %s at 1/%d: PSNR %.2f dB (render), %.2f dB (Lanczos), want >= %.0f", name, v.Name, denom, pRender, pLanczos, minPSNR)
			}
		}
	}
	t.Log(table.String())
}
