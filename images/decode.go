package images

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/webp"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/images/jpegscale"
)

// Limits bound what Decode accepts. They are checked from the file header,
// before any pixel memory is allocated.
type Limits struct {
	// MaxPixels is the largest width×height decoded.
	MaxPixels int64
	// MaxBytes is the largest encoded file decoded.
	MaxBytes int64
}

// DefaultLimits returns 40 megapixels and 20 MB.
func DefaultLimits() Limits {
	return Limits{MaxPixels: 40_000_000, MaxBytes: 20 << 20}
}

// Validate reports every problem with the limits at once.
func (l Limits) Validate() error {
	var errs []error
	if l.MaxPixels <= 0 {
		errs = append(errs, errors.New("images: MaxPixels must be positive"))
	}
	if l.MaxBytes <= 0 {
		errs = append(errs, errors.New("images: MaxBytes must be positive"))
	}
	return errors.Join(errs...)
}

// Source is a decoded image, ready to be rendered into variants. Its pixels
// are kept as 8-bit Y, Cb, Cr planes in stored orientation, with any
// transparency already flattened on white; the EXIF orientation is applied
// when variants and hashes are made.
type Source struct {
	// Format is the format the bytes were decoded as.
	Format Format
	// Width and Height are the file's displayed dimensions (after
	// orientation). The pixels may be held at a reduced size (DecodeFor).
	Width, Height int
	// Orientation is the EXIF orientation that was found (1 when none).
	Orientation Orientation

	// y, cb, cr are the planes; cb and cr cover the image at 1/cdx × 1/cdy
	// of the luma resolution, or have zero width for a grey image.
	y, cb, cr plane
	cdx, cdy  int
	// storedW and storedH are the file's full size in stored orientation;
	// the planes hold it at 1/denom scale, where the last row and column
	// may be partly padding (see jpegscale.DecodeBytes). Regions are laid out
	// at full size and divided by denom, so that the variants' sizes do
	// not depend on the scale the file was decoded at.
	storedW, storedH int
	denom            int
}

// hasChroma reports whether the image has colour planes.
func (s *Source) hasChroma() bool { return s.cb.w > 0 }

// Decode checks data against lim, then decodes it at full size. The format
// is sniffed from the bytes; only JPEG, PNG, GIF (first frame) and WebP are
// accepted. Dimensions are read with DecodeConfig and refused above
// lim.MaxPixels before the pixels are decoded. A decoder panic becomes an
// EINVALID error.
func Decode(data []byte, lim Limits) (*Source, error) {
	return decode(data, lim, nil)
}

// DecodeFor is Decode for making the variants vs: a JPEG much larger than
// every variant is decoded at 1/2, 1/4 or 1/8 scale in its inverse DCT
// (shrink-on-load, see shrinkDenom), which saves most of the decoding and
// resampling work and memory. Width and Height stay the file's own.
func DecodeFor(data []byte, lim Limits, vs []VariantSpec) (*Source, error) {
	return decode(data, lim, vs)
}

func decode(data []byte, lim Limits, vs []VariantSpec) (*Source, error) {
	if int64(len(data)) > lim.MaxBytes {
		return nil, listinggen.Errorf(listinggen.ETOOLARGE,
			"the image file is %d bytes, more than the limit of %d bytes", len(data), lim.MaxBytes)
	}
	format, err := Sniff(data)
	if err != nil {
		return nil, err
	}
	var cfg image.Config
	var img image.Image
	err = catchPanic(format, func() error {
		var err error
		cfg, err = decodeConfig(format, data)
		return err
	})
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, listinggen.Errorf(listinggen.EINVALID, "the %s image declares no pixels (%d×%d)", format, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > lim.MaxPixels {
		return nil, listinggen.Errorf(listinggen.ETOOLARGE,
			"the image is %d×%d pixels (%.1f megapixels), more than the limit of %.1f megapixels",
			cfg.Width, cfg.Height, float64(px)/1e6, float64(lim.MaxPixels)/1e6)
	}
	o, denom := readOrientation(data, format), 1
	err = catchPanic(format, func() error {
		var err error
		if format == FormatJPEG {
			d, half := shrinkDenom(cfg.Width, cfg.Height, o, vs)
			img, denom, err = jpegscale.Options{MaxPixels: lim.MaxPixels, HalfChroma: half}.
				DecodeBytes(data, (cfg.Width+d-1)/d, (cfg.Height+d-1)/d)
			return err
		}
		img, err = decodeImage(format, data)
		return err
	})
	if err != nil {
		return nil, err
	}
	if format == FormatGIF && img.Bounds() != image.Rect(0, 0, cfg.Width, cfg.Height) {
		// The first frame may cover part of the logical screen: place it
		// there (the rest is transparent, so white once flattened).
		screen := image.NewNRGBA(image.Rect(0, 0, cfg.Width, cfg.Height))
		draw.Draw(screen, img.Bounds(), img, img.Bounds().Min, draw.Src)
		img = screen
	}
	b := img.Bounds()
	if b.Empty() || b.Dx() != (cfg.Width+denom-1)/denom || b.Dy() != (cfg.Height+denom-1)/denom {
		return nil, listinggen.Errorf(listinggen.EINVALID, "the %s image decoded to unexpected dimensions", format)
	}
	return newSource(format, o, img, cfg.Width, cfg.Height, denom), nil
}

// newSource wraps the pixels of a w×h file in stored orientation o,
// decoded at 1/denom scale.
func newSource(f Format, o Orientation, img image.Image, w, h, denom int) *Source {
	s := &Source{Format: f, Orientation: o, Width: w, Height: h, storedW: w, storedH: h, denom: denom}
	s.y, s.cb, s.cr, s.cdx, s.cdy = toPlanes(img)
	if o.swapsAxes() {
		s.Width, s.Height = h, w
	}
	return s
}

func decodeConfig(f Format, data []byte) (image.Config, error) {
	r := bytes.NewReader(data)
	switch f {
	case FormatJPEG:
		return jpeg.DecodeConfig(r)
	case FormatPNG:
		return png.DecodeConfig(r)
	case FormatGIF:
		return gif.DecodeConfig(r)
	case FormatWebP:
		return webp.DecodeConfig(r)
	}
	return image.Config{}, fmt.Errorf("unsupported format %q", f)
}

// shrinkDenom returns the scale denominator (1, 2, 4 or 8) at which a w×h
// JPEG (stored orientation o) is decoded for variants vs: the largest that
// is no more than the box pre-shrink the resampler would apply for every
// variant (boxFactor). A scaled decode is a box average of the full one,
// so the variants come out as they would from a full decode, within
// rounding. halfChroma says whether full-resolution (4:4:4) chroma may be
// decoded at twice that denominator: the variants' chroma is 4:2:0, so
// the resampler would box-average it by twice as much as the luma. Without
// variants the file is decoded at full size.
func shrinkDenom(w, h int, o Orientation, vs []VariantSpec) (denom int, halfChroma bool) {
	if len(vs) == 0 {
		return 1, false
	}
	k, kc := 8, 8
	for _, v := range vs {
		g, err := layout(w, h, o, v)
		if err != nil {
			return 1, false // Render reports it
		}
		tw, th := g.contentW, g.contentH
		if o.swapsAxes() {
			tw, th = th, tw
		}
		sx, sy := (g.region.x1-g.region.x0)/float64(tw), (g.region.y1-g.region.y0)/float64(th)
		k = min(k, boxFactor(sx), boxFactor(sy))
		kc = min(kc, boxFactor(2*sx), boxFactor(2*sy))
	}
	denom = 1
	for denom*2 <= k {
		denom *= 2
	}
	return denom, 2*denom <= kc
}

// decodeImage calls the format's decoder directly: image.Decode would also
// accept any format another package registered (BMP, TIFF …).
func decodeImage(f Format, data []byte) (image.Image, error) {
	r := bytes.NewReader(data)
	switch f {
	case FormatJPEG:
		return jpeg.Decode(r)
	case FormatPNG:
		return png.Decode(r)
	case FormatGIF:
		return gif.Decode(r) // the first frame
	case FormatWebP:
		return webp.Decode(r)
	}
	return nil, fmt.Errorf("unsupported format %q", f)
}

// catchPanic runs fn, turning a decoder error or panic into a client-safe
// EINVALID error.
func catchPanic(f Format, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = corrupt(f, fmt.Errorf("decoder panic: %v", p))
		}
	}()
	if err := fn(); err != nil {
		if errors.Is(err, jpegscale.ErrPanic) {
			return corrupt(f, err)
		}
		msg := err.Error()
		if len(msg) > 120 {
			msg = msg[:120]
		}
		return listinggen.WrapError(listinggen.EINVALID, err, "the %s image is invalid or truncated: %s", f, msg)
	}
	return nil
}

// corrupt is the error for a decoder that failed: the cause is kept for
// the logs, not shown.
func corrupt(f Format, cause error) error {
	return listinggen.WrapError(listinggen.EINVALID, cause, "the %s image is corrupt (the decoder failed)", f)
}

// toPlanes returns Y, Cb, Cr planes for img with transparency flattened on
// white. YCbCr and Gray images are used in place, without a copy.
func toPlanes(img image.Image) (y, cb, cr plane, cdx, cdy int) {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.YCbCr:
		if b.Min == (image.Point{}) {
			cdx, cdy = subsampling(m.SubsampleRatio)
			cw, ch := (b.Dx()+cdx-1)/cdx, (b.Dy()+cdy-1)/cdy
			y = plane{w: b.Dx(), h: b.Dy(), stride: m.YStride, pix: m.Y}
			cb = plane{w: cw, h: ch, stride: m.CStride, pix: m.Cb}
			cr = plane{w: cw, h: ch, stride: m.CStride, pix: m.Cr}
			return y, cb, cr, cdx, cdy
		}
	case *image.Gray:
		if b.Min == (image.Point{}) {
			return plane{w: b.Dx(), h: b.Dy(), stride: m.Stride, pix: m.Pix}, plane{}, plane{}, 1, 1
		}
	}
	w, h := b.Dx(), b.Dy()
	y, cb, cr = newPlane(w, h), newPlane(w, h), newPlane(w, h)
	put := func(i int, r, g, bl uint8) {
		y.pix[i], cb.pix[i], cr.pix[i] = color.RGBToYCbCr(r, g, bl)
	}
	switch m := img.(type) {
	case *image.NRGBA:
		for j := 0; j < h; j++ {
			row := m.Pix[(j)*m.Stride : j*m.Stride+4*w]
			for i := 0; i < w; i++ {
				p := row[4*i : 4*i+4 : 4*i+4]
				a := uint32(p[3])
				if a == 255 {
					put(j*w+i, p[0], p[1], p[2])
					continue
				}
				bg := 255 * (255 - a)
				put(j*w+i, uint8((uint32(p[0])*a+bg+127)/255), uint8((uint32(p[1])*a+bg+127)/255), uint8((uint32(p[2])*a+bg+127)/255))
			}
		}
	case *image.RGBA: // premultiplied
		for j := 0; j < h; j++ {
			row := m.Pix[j*m.Stride : j*m.Stride+4*w]
			for i := 0; i < w; i++ {
				p := row[4*i : 4*i+4 : 4*i+4]
				bg := 255 - uint16(p[3])
				put(j*w+i, sat8(uint16(p[0])+bg), sat8(uint16(p[1])+bg), sat8(uint16(p[2])+bg))
			}
		}
	case *image.Paletted:
		var pal [256][3]uint8
		for k, c := range m.Palette {
			r, g, bl := flatten(c.RGBA())
			pal[k] = [3]uint8{r, g, bl}
		}
		for j := 0; j < h; j++ {
			row := m.Pix[j*m.Stride : j*m.Stride+w]
			for i, idx := range row {
				c := pal[idx]
				put(j*w+i, c[0], c[1], c[2])
			}
		}
	default:
		if m, ok := img.(image.RGBA64Image); ok { // no allocation per pixel
			for j := 0; j < h; j++ {
				for i := 0; i < w; i++ {
					c := m.RGBA64At(b.Min.X+i, b.Min.Y+j)
					r, g, bl := flatten(uint32(c.R), uint32(c.G), uint32(c.B), uint32(c.A))
					put(j*w+i, r, g, bl)
				}
			}
			break
		}
		for j := 0; j < h; j++ {
			for i := 0; i < w; i++ {
				r, g, bl := flatten(img.At(b.Min.X+i, b.Min.Y+j).RGBA())
				put(j*w+i, r, g, bl)
			}
		}
	}
	return y, cb, cr, 1, 1
}

func sat8(v uint16) uint8 {
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// flatten composites a 16-bit premultiplied colour over white.
func flatten(r, g, b, a uint32) (uint8, uint8, uint8) {
	bg := 0xffff - a
	return uint8((r + bg) >> 8), uint8((g + bg) >> 8), uint8((b + bg) >> 8)
}

// subsampling returns how many luma samples one chroma sample spans.
func subsampling(r image.YCbCrSubsampleRatio) (dx, dy int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 1, 1
}
