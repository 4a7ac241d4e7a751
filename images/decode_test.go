package images

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/images/jpegscale"
)

// TestDecodeRefusesPixelBombsWithoutAllocating: files a few dozen bytes
// long declaring billions of pixels are refused from their header. Not
// parallel, so that the allocation count is this test's alone.
func TestDecodeRefusesPixelBombsWithoutAllocating(t *testing.T) {
	webpVP8X := func(w, h int) []byte {
		b := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00")
		w, h = w-1, h-1
		b = append(b, byte(w), byte(w>>8), byte(w>>16), byte(h), byte(h>>8), byte(h>>16))
		b[4] = byte(len(b) - 8) // RIFF size
		return b
	}
	bombs := map[string][]byte{
		"png 100000x100000": pngHeader(100000, 100000),
		"png 7000x6000":     pngHeader(7000, 6000), // 42 MP: just above the limit
		"jpeg 65500x65500": append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"), // SOI, APP0
			0xFF, 0xC0, 0x00, 0x11, 0x08, 0xFF, 0xDC, 0xFF, 0xDC, 0x03, // SOF0 65500×65500, 3 components
			0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01),
		"gif 65535x65535":  []byte("GIF89a\xff\xff\xff\xff\x00\x00\x00"),
		"webp 16384x16384": webpVP8X(16384, 16384),
	}
	if n := len(bombs["png 100000x100000"]); n > 40 {
		t.Fatalf("the PNG bomb is %d bytes", n)
	}
	for name, data := range bombs {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err := Decode(data, DefaultLimits())
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		wantCode(t, err, listinggen.ETOOLARGE)
		if !strings.Contains(listinggen.ErrorMessage(err), "megapixels") {
			t.Errorf("%s: message %q does not name the pixel limit", name, listinggen.ErrorMessage(err))
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
			t.Errorf("%s: allocated %d bytes before refusing", name, alloc)
		}
		if elapsed > 100*time.Millisecond {
			t.Errorf("%s: took %v to refuse", name, elapsed)
		}
		t.Logf("%s (%d bytes): refused in %v", name, len(data), elapsed)
	}
}

func TestDecodeRefusesBadFiles(t *testing.T) {
	t.Parallel()
	rocket := readTestdata(t, "rocket.jpg")
	cases := []struct {
		name string
		data []byte
		code string
		msg  string
	}{
		{"truncated jpeg", rocket[:len(rocket)/2], listinggen.EINVALID, "truncated"},
		{"jpeg header only", rocket[:200], listinggen.EINVALID, "jpeg"},
		{"text named .jpg", []byte("Hello, this is a text file someone named photo.jpg\n"), listinggen.EINVALID, "text/plain"},
		{"html", []byte("<html><body>not found</body></html>"), listinggen.EINVALID, "text/html"},
		{"empty", nil, listinggen.EINVALID, "empty"},
		{"bmp", append([]byte("BM"), make([]byte, 60)...), listinggen.EINVALID, "not a supported image"},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>`), listinggen.EINVALID, "not a supported image"},
		{"png zero width", pngHeader(0, 10), listinggen.EINVALID, "png"},
		{"png header only", pngHeader(100, 100), listinggen.EINVALID, "png"},
		{"jpeg magic then garbage", append([]byte{0xFF, 0xD8, 0xFF}, bytes.Repeat([]byte{0x42}, 100)...), listinggen.EINVALID, "jpeg"},
		{"25 MB file", append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, 25<<20)...), listinggen.ETOOLARGE, "limit of 20971520 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := Decode(c.data, DefaultLimits())
			wantCode(t, err, c.code)
			if !strings.Contains(listinggen.ErrorMessage(err), c.msg) {
				t.Errorf("message %q does not mention %q", listinggen.ErrorMessage(err), c.msg)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestDecoderPanicBecomesAnError(t *testing.T) {
	t.Parallel()
	for name, fn := range map[string]func() error{
		"panic":                        func() error { panic("index out of range") },
		"panic recovered by jpegscale": func() error { return fmt.Errorf("%w: index out of range", jpegscale.ErrPanic) },
	} {
		err := catchPanic(FormatJPEG, fn)
		wantCode(t, err, listinggen.EINVALID)
		if !strings.Contains(listinggen.ErrorMessage(err), "corrupt") || strings.Contains(listinggen.ErrorMessage(err), "index out of range") {
			t.Fatalf("%s: message %q: want a clear reason without internals", name, listinggen.ErrorMessage(err))
		}
		if !strings.Contains(err.Error(), "index out of range") {
			t.Fatalf("%s: the panic value is not kept for the logs: %v", name, err)
		}
	}
}

func TestDecodeFormats(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file string
		f    Format
		w, h int
	}{
		{"rocket.jpg", FormatJPEG, 640, 427},
		{"chelsea.png", FormatPNG, 451, 300},
		{"chelsea-small.webp", FormatWebP, 226, 150},
		{"chelsea-alpha.webp", FormatWebP, 113, 75},
	}
	for _, c := range cases {
		src, err := Decode(readTestdata(t, c.file), DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if src.Format != c.f || src.Width != c.w || src.Height != c.h {
			t.Errorf("%s: %s %d×%d, want %s %d×%d", c.file, src.Format, src.Width, src.Height, c.f, c.w, c.h)
		}
	}
}

func TestDecodeGIFUsesTheFirstFrame(t *testing.T) {
	t.Parallel()
	frame := func(c color.Color) *image.Paletted {
		m := image.NewPaletted(image.Rect(0, 0, 64, 64), palette.Plan9)
		for i := range m.Pix {
			m.Pix[i] = uint8(m.Palette.Index(c))
		}
		return m
	}
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{frame(colorRed), frame(colorBlue)}, Delay: []int{10, 10}})
	if err != nil {
		t.Fatal(err)
	}
	src, err := Decode(buf.Bytes(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	vs, err := Render(src, []VariantSpec{{Name: "main", Width: 64, Height: 64}}, DefaultRenderConfig())
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b := rgbAt(decodeVariant(t, vs[0]), 32, 32); r < 200 || g > 60 || b > 60 {
		t.Fatalf("centre is %d,%d,%d; want the first frame's red", r, g, b)
	}
}

func TestDecodeGIFPlacesASmallFirstFrameOnItsScreen(t *testing.T) {
	t.Parallel()
	frame := image.NewPaletted(image.Rect(10, 20, 30, 40), palette.Plan9)
	for i := range frame.Pix {
		frame.Pix[i] = uint8(frame.Palette.Index(colorRed))
	}
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{Width: 100, Height: 80, ColorModel: frame.Palette}})
	if err != nil {
		t.Fatal(err)
	}
	src, err := Decode(buf.Bytes(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if src.Width != 100 || src.Height != 80 {
		t.Fatalf("%d×%d, want the 100×80 screen", src.Width, src.Height)
	}
	vs, err := Render(src, []VariantSpec{{Name: "same", Width: 100, Height: 80}}, DefaultRenderConfig())
	if err != nil {
		t.Fatal(err)
	}
	out := decodeVariant(t, vs[0])
	if r, g, _ := rgbAt(out, 20, 30); r < 200 || g > 60 {
		t.Errorf("frame area is %d,%d; want red", r, g)
	}
	if r, g, b := rgbAt(out, 70, 60); r < 240 || g < 240 || b < 240 {
		t.Errorf("outside the frame is %d,%d,%d; want white", r, g, b)
	}
}

func TestDecodeFlattensTransparencyOnWhite(t *testing.T) {
	t.Parallel()
	m := image.NewNRGBA(image.Rect(0, 0, 100, 100))
	for y := 0; y < 100; y++ {
		for x := 0; x < 100; x++ {
			switch {
			case x < 50:
				m.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 0}) // transparent (black underneath)
			default:
				m.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 128}) // half-transparent black
			}
		}
	}
	src, err := Decode(pngBytes(t, m), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	vs, err := Render(src, []VariantSpec{{Name: "main", Width: 100, Height: 100}}, DefaultRenderConfig())
	if err != nil {
		t.Fatal(err)
	}
	out := decodeVariant(t, vs[0])
	if r, g, b := rgbAt(out, 20, 50); r < 250 || g < 250 || b < 250 {
		t.Errorf("transparent area is %d,%d,%d; want white", r, g, b)
	}
	if r, _, _ := rgbAt(out, 80, 50); r < 115 || r > 140 {
		t.Errorf("half-transparent black is %d; want mid grey", r)
	}

	// WebP with alpha too.
	src, err = Decode(readTestdata(t, "chelsea-alpha.webp"), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(src, []VariantSpec{{Name: "main", Width: 200, Height: 200}}, DefaultRenderConfig()); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeAppliesEXIFOrientation(t *testing.T) {
	t.Parallel()
	// Stored 120×80: red left half, blue right half.
	stored := jpegBytes(t, halves(120, 80, colorRed, colorBlue), 95)
	isRed := func(r, g, b uint8) bool { return r > 180 && b < 80 }
	isBlue := func(r, g, b uint8) bool { return b > 180 && r < 80 }
	cases := []struct {
		o                Orientation
		w, h             int
		firstAt, otherAt image.Point // where red and blue must be, in the upright image
	}{
		{OrientNormal, 120, 80, image.Pt(10, 40), image.Pt(110, 40)},
		{OrientFlipH, 120, 80, image.Pt(110, 40), image.Pt(10, 40)},
		{OrientRotate180, 120, 80, image.Pt(110, 40), image.Pt(10, 40)},
		{OrientFlipV, 120, 80, image.Pt(10, 40), image.Pt(110, 40)},
		{OrientTranspose, 80, 120, image.Pt(40, 10), image.Pt(40, 110)},
		{OrientRotate90, 80, 120, image.Pt(40, 10), image.Pt(40, 110)},   // 90° clockwise: left goes to the top
		{OrientTransverse, 80, 120, image.Pt(40, 110), image.Pt(40, 10)}, //
		{OrientRotate270, 80, 120, image.Pt(40, 110), image.Pt(40, 10)},  // 90° counter-clockwise: left goes to the bottom
	}
	for _, c := range cases {
		src, err := Decode(withExifOrientation(stored, c.o), DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if src.Orientation != c.o || src.Width != c.w || src.Height != c.h {
			t.Fatalf("orientation %d: decoded %d %d×%d", c.o, src.Orientation, src.Width, src.Height)
		}
		vs, err := Render(src, []VariantSpec{{Name: "same", Width: c.w, Height: c.h}}, DefaultRenderConfig())
		if err != nil {
			t.Fatal(err)
		}
		out := decodeVariant(t, vs[0])
		if !isRed(rgbAt(out, c.firstAt.X, c.firstAt.Y)) || !isBlue(rgbAt(out, c.otherAt.X, c.otherAt.Y)) {
			r1, g1, b1 := rgbAt(out, c.firstAt.X, c.firstAt.Y)
			r2, g2, b2 := rgbAt(out, c.otherAt.X, c.otherAt.Y)
			t.Errorf("orientation %d: %v is %d,%d,%d (want red), %v is %d,%d,%d (want blue)", c.o, c.firstAt, r1, g1, b1, c.otherAt, r2, g2, b2)
		}
	}
}

func TestReadOrientationIgnoresMalformedEXIF(t *testing.T) {
	t.Parallel()
	base := jpegBytes(t, halves(16, 16, colorRed, colorBlue), 90)
	for _, seg := range [][]byte{
		[]byte("Exif\x00\x00"),
		[]byte("Exif\x00\x00II*\x00\xff\xff\xff\xff"),
		[]byte("Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff"),
		[]byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x09\x00"), // 9: out of range
	} {
		data := append([]byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}, seg...)
		data = append(data, base[2:]...)
		if o := readOrientation(data, FormatJPEG); o != OrientNormal {
			t.Errorf("segment %q: orientation %d", seg, o)
		}
		if _, err := Decode(data, DefaultLimits()); err != nil {
			t.Errorf("segment %q: %v", seg, err)
		}
	}
}

// FuzzDecode: whatever the bytes, Decode returns an image or a
// listinggen.Error, never a panic or a raw error; DecodeFor decodes what
// Decode does, scaled.
func FuzzDecode(f *testing.F) {
	f.Add(readTestdata(f, "chelsea-small.webp"))
	f.Add(readTestdata(f, "rocket.jpg")) // 4:4:4: its chroma decodes at half scale
	f.Add(jpegBytes(f, halves(16, 16, colorRed, colorBlue), 80))
	f.Add(pngBytes(f, halves(16, 16, colorRed, colorBlue)))
	f.Add(pngHeader(100000, 100000))
	f.Add([]byte("GIF89a\x10\x00\x10\x00\x00\x00\x00"))
	lim := Limits{MaxPixels: 1 << 20, MaxBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := Decode(data, lim)
		if err != nil {
			var le *listinggen.Error
			if !errors.As(err, &le) {
				t.Fatalf("raw error %v", err)
			}
			return
		}
		if src.Width <= 0 || src.Height <= 0 {
			t.Fatalf("decoded %d×%d", src.Width, src.Height)
		}
		_ = src.PHash()
		_, _ = Render(src, []VariantSpec{{Name: "t", Width: 32, Height: 32}}, DefaultRenderConfig())
		// A small variant lets a JPEG shrink on load, chroma included.
		small := []VariantSpec{{Name: "t", Width: 8, Height: 8}}
		if src, err = DecodeFor(data, lim, small); err != nil {
			t.Fatalf("DecodeFor failed where Decode did not: %v", err)
		}
		_ = src.PHash()
		_, _ = Render(src, small, DefaultRenderConfig())
	})
}
