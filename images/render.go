package images

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"math"

	"github.com/disintegration/imaging"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/images/jpegenc"
)

// RenderConfig says how variants are made.
type RenderConfig struct {
	// Fit places the image on main canvases: FitPad (default) or FitCrop.
	Fit Fit
	// MainSide is the side of a square main image when the profile names
	// no size (raised to the profile's main_min_px).
	MainSide int
	// ThumbnailSize is the side of the square thumbnail; 0 makes none.
	ThumbnailSize int
	// Quality is the first JPEG quality tried; it steps down by QualityStep
	// while the file exceeds the variant's byte limit, never below
	// MinQuality: past it the variant fails instead of turning blurry.
	Quality, QualityStep, MinQuality int
	// MaxUpscale is the largest enlargement allowed; a smaller source fails
	// with EINVALID rather than becoming a blurry main image.
	MaxUpscale float64
	// Filter is the resampling filter of the final step (after the box
	// pre-shrink); imaging.CatmullRom by default.
	Filter imaging.ResampleFilter
}

// DefaultRenderConfig returns pad-on-white, 800 px main images, 240 px
// thumbnails, quality 90 stepping by 5 down to 60, at most 2× enlargement,
// Catmull-Rom.
func DefaultRenderConfig() RenderConfig {
	return RenderConfig{
		Fit:           FitPad,
		MainSide:      800,
		ThumbnailSize: 240,
		Quality:       90,
		QualityStep:   5,
		MinQuality:    60,
		MaxUpscale:    2,
		Filter:        imaging.CatmullRom,
	}
}

// Validate reports every problem with the config at once.
func (c RenderConfig) Validate() error {
	var errs []error
	if c.Fit != FitPad && c.Fit != FitCrop {
		errs = append(errs, errors.New("images: Fit must be FitPad or FitCrop"))
	}
	if c.MainSide < 1 || c.MainSide > 10000 {
		errs = append(errs, errors.New("images: MainSide must be between 1 and 10000"))
	}
	if c.ThumbnailSize < 0 || c.ThumbnailSize > 10000 {
		errs = append(errs, errors.New("images: ThumbnailSize must be between 0 and 10000"))
	}
	if c.Quality < 1 || c.Quality > 100 {
		errs = append(errs, errors.New("images: Quality must be between 1 and 100"))
	}
	if c.MinQuality < 1 || c.MinQuality > c.Quality {
		errs = append(errs, errors.New("images: MinQuality must be between 1 and Quality"))
	}
	if c.QualityStep < 1 {
		errs = append(errs, errors.New("images: QualityStep must be at least 1"))
	}
	if c.MaxUpscale < 1 || math.IsNaN(c.MaxUpscale) {
		errs = append(errs, errors.New("images: MaxUpscale must be at least 1"))
	}
	if c.Filter.Kernel == nil || c.Filter.Support <= 0 {
		errs = append(errs, errors.New("images: Filter must be a resampling filter such as imaging.CatmullRom"))
	}
	return errors.Join(errs...)
}

// Variant is one encoded output image.
type Variant struct {
	Name   string `json:"name"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Bytes  int    `json:"bytes"`
	// SHA256 is the hex digest of Data; it is also the blob key.
	SHA256  string `json:"sha256"`
	Format  Format `json:"format"`
	Quality int    `json:"quality"`
	// Data is the encoded file; the Processor drops it once stored.
	Data []byte `json:"-"`
}

// ContentType is the MIME type of the variant's file.
func (v Variant) ContentType() string { return v.Format.ContentType() }

// Render makes every variant in vs from src. Each variant is a baseline
// JPEG without metadata, upright, on white. It fails on the first variant
// that cannot be made (source too small, or above its byte limit even at
// MinQuality), naming it.
func Render(src *Source, vs []VariantSpec, c RenderConfig) ([]Variant, error) {
	if err := c.Validate(); err != nil {
		return nil, listinggen.WrapError(listinggen.EINTERNAL, err, "invalid image render settings")
	}
	cache := &shrinkCache{}
	defer cache.release()
	out := make([]Variant, 0, len(vs))
	var buf []byte
	for _, v := range vs {
		img, err := src.render(v, c, cache)
		if err != nil {
			return nil, err
		}
		data, q, err := encodeJPEG(&buf, img, v, c)
		releaseYCbCr(img)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		out = append(out, Variant{
			Name: v.Name, Width: img.Rect.Dx(), Height: img.Rect.Dy(), Bytes: len(data),
			SHA256: hex.EncodeToString(sum[:]), Format: FormatJPEG, Quality: q, Data: data,
		})
	}
	return out, nil
}

// encodeJPEG encodes at c.Quality, stepping down until the file fits
// v.MaxBytes, and returns a copy of the bytes. *buf is scratch space kept
// between calls.
func encodeJPEG(buf *[]byte, img *image.YCbCr, v VariantSpec, c RenderConfig) ([]byte, int, error) {
	q := c.Quality
	for {
		var err error
		if *buf, err = jpegenc.Append((*buf)[:0], img, q); err != nil {
			return nil, 0, listinggen.WrapError(listinggen.EINTERNAL, err, "could not encode the %s variant", v.Name)
		}
		if v.MaxBytes <= 0 || int64(len(*buf)) <= v.MaxBytes {
			return bytes.Clone(*buf), q, nil
		}
		if q == c.MinQuality {
			return nil, 0, listinggen.Errorf(listinggen.ETOOLARGE,
				"the %s variant is %d bytes at JPEG quality %d, above the limit of %d bytes; quality below %d is refused",
				v.Name, len(*buf), q, v.MaxBytes, c.MinQuality)
		}
		q = max(q-c.QualityStep, c.MinQuality)
	}
}

// geometry is where a variant's content goes: the canvas size, the content
// size and offset on it (display orientation), and the source region
// (stored orientation, luma coordinates; shown is the same region in
// display orientation at full size).
type geometry struct {
	canvasW, canvasH   int
	contentW, contentH int
	offX, offY         int
	region             rect
	shown              rect
	scale              float64
}

// geometry lays v out at the source's full size and maps the region onto
// the planes, which may be scaled down.
func (s *Source) geometry(v VariantSpec) (geometry, error) {
	g, err := layout(s.storedW, s.storedH, s.Orientation, v)
	f := 1 / float64(s.denom)
	g.region = g.region.scale(f, f)
	return g, err
}

// layout places variant v for a source whose pixels are sw×sh in stored
// orientation o.
func layout(sw, sh int, o Orientation, v VariantSpec) (geometry, error) {
	ow, oh := float64(sw), float64(sh) // display orientation
	if o.swapsAxes() {
		ow, oh = oh, ow
	}
	g := geometry{canvasW: v.Width, canvasH: v.Height}
	rw, rh := ow, oh // region size in display orientation
	switch v.Fit {
	case FitPad:
		g.scale = math.Min(float64(v.Width)/ow, float64(v.Height)/oh)
		g.contentW = clampInt(int(math.Round(ow*g.scale)), 1, v.Width)
		g.contentH = clampInt(int(math.Round(oh*g.scale)), 1, v.Height)
	case FitCrop:
		g.scale = math.Max(float64(v.Width)/ow, float64(v.Height)/oh)
		g.contentW, g.contentH = v.Width, v.Height
		rw, rh = math.Min(ow, float64(v.Width)/g.scale), math.Min(oh, float64(v.Height)/g.scale)
	case FitWidth:
		g.scale = 1
		if v.Width > 0 && ow > float64(v.Width) {
			g.scale = float64(v.Width) / ow
		}
		if ow*g.scale < float64(v.MinWidth) {
			g.scale = float64(v.MinWidth) / ow
		}
		if v.Height > 0 && oh*g.scale > float64(v.Height) {
			g.scale = float64(v.Height) / oh
		}
		g.contentW = max(int(math.Round(ow*g.scale)), 1)
		g.contentH = max(int(math.Round(oh*g.scale)), 1)
		if v.Width > 0 {
			g.contentW = min(g.contentW, v.Width)
		}
		if v.Height > 0 {
			g.contentH = min(g.contentH, v.Height)
		}
		g.canvasW, g.canvasH = max(g.contentW, v.MinWidth), g.contentH
	default:
		return g, listinggen.Errorf(listinggen.EINTERNAL, "unknown fit %v for the %s variant", v.Fit, v.Name)
	}
	if g.canvasW < 1 || g.canvasH < 1 {
		return g, listinggen.Errorf(listinggen.EINTERNAL, "the %s variant has no size", v.Name)
	}
	g.offX, g.offY = (g.canvasW-g.contentW)/2, (g.canvasH-g.contentH)/2
	g.shown = rect{(ow - rw) / 2, (oh - rh) / 2, (ow + rw) / 2, (oh + rh) / 2}
	// The region is centred, so in stored orientation it is the same
	// centred rectangle with the axes swapped when the orientation swaps
	// them.
	if o.swapsAxes() {
		rw, rh = rh, rw
	}
	fw, fh := float64(sw), float64(sh)
	g.region = rect{(fw - rw) / 2, (fh - rh) / 2, (fw + rw) / 2, (fh + rh) / 2}
	return g, nil
}

func clampInt(v, lo, hi int) int { return min(max(v, lo), hi) }

// render makes one variant as a 4:2:0 YCbCr image, the sampling the JPEG
// encoder writes, whose planes come from the buffer pool: release them
// with releaseYCbCr once encoded. Chroma is resampled straight to half
// resolution, a quarter of the samples a full-resolution chroma plane
// would need.
func (s *Source) render(v VariantSpec, c RenderConfig, cache *shrinkCache) (*image.YCbCr, error) {
	g, err := s.geometry(v)
	if err != nil {
		return nil, err
	}
	if g.scale > c.MaxUpscale {
		return nil, listinggen.Errorf(listinggen.EINVALID,
			"the image is too small (%d×%d) for the %s variant (%d×%d): it would need %.1f× enlargement, more than %.1f×",
			s.Width, s.Height, v.Name, g.canvasW, g.canvasH, g.scale, c.MaxUpscale)
	}
	// The content is resampled straight into its window of the canvas,
	// and only the margins are painted white (Y=255, Cb=Cr=128 is RGB
	// white exactly).
	y := getPlane(g.canvasW, g.canvasH)
	s.renderWindow(0, y, g.offX, g.offY, g.contentW, g.contentH, g.region, 255, c.Filter, cache)

	// Chroma: the window of half-resolution samples the content touches.
	// Where the content starts or ends half-way through a sample, the
	// window takes in half a sample more of the source's mapping (clamped
	// at the source's edge by the filter); against a white margin that
	// sample is then mixed half and half with white, as averaging a
	// full-resolution plane would. At an odd canvas edge the half sample
	// lies outside the picture, where a decoder does not show it.
	x0, y0 := g.offX/2, g.offY/2
	x1, y1 := (g.offX+g.contentW+1)/2, (g.offY+g.contentH+1)/2
	cw, ch := (g.canvasW+1)/2, (g.canvasH+1)/2
	chroma := s.sourceRect(g, 2*x0, 2*y0, 2*x1, 2*y1).scale(1/float64(s.cdx), 1/float64(s.cdy))
	planes := [2]plane{getPlane(cw, ch), getPlane(cw, ch)}
	for i, p := range planes {
		if !s.hasChroma() {
			p.fill(128)
			continue
		}
		s.renderWindow(i+1, p, x0, y0, x1-x0, y1-y0, chroma, 128, c.Filter, cache)
		win := p.sub(x0, y0, x1-x0, y1-y0)
		right, bottom := g.offX+g.contentW, g.offY+g.contentH
		win.halfWhite(g.offX%2 == 1, right%2 == 1 && right < g.canvasW, g.offY%2 == 1, bottom%2 == 1 && bottom < g.canvasH)
	}
	return &image.YCbCr{
		Y: y.pix, Cb: planes[0].pix, Cr: planes[1].pix,
		YStride: y.stride, CStride: cw,
		SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect:           image.Rect(0, 0, g.canvasW, g.canvasH),
	}, nil
}

// renderWindow fills the w×h window of p at (x, y) from region r (stored
// orientation) of the source's plane number idx, upright, and paints the
// rest of p with fill.
func (s *Source) renderWindow(idx int, p plane, x, y, w, h int, r rect, fill byte, f imaging.ResampleFilter, cache *shrinkCache) {
	p.fillOutside(x, y, w, h, fill)
	win := p.sub(x, y, w, h)
	src := [3]plane{s.y, s.cb, s.cr}[idx]
	if !s.Orientation.swapsAxes() && s.Orientation <= OrientNormal {
		cache.resampleInto(idx, win, src, r, f)
		return
	}
	tw, th := w, h
	if s.Orientation.swapsAxes() {
		tw, th = th, tw
	}
	tmp := getPlane(tw, th)
	cache.resampleInto(idx, tmp, src, r, f)
	orientInto(win, tmp, s.Orientation)
	putPlane(tmp)
}

// sourceRect returns the region of the source (stored orientation, in
// units of the luma plane) that canvas window [x0, x1)×[y0, y1) shows, the
// content's mapping extended past its edges where the window is larger.
func (s *Source) sourceRect(g geometry, x0, y0, x1, y1 int) rect {
	sx := (g.shown.x1 - g.shown.x0) / float64(g.contentW)
	sy := (g.shown.y1 - g.shown.y0) / float64(g.contentH)
	a0, b0 := g.shown.x0+float64(x0-g.offX)*sx, g.shown.y0+float64(y0-g.offY)*sy
	a1, b1 := g.shown.x0+float64(x1-g.offX)*sx, g.shown.y0+float64(y1-g.offY)*sy
	ax, ay := s.toStored(a0, b0)
	bx, by := s.toStored(a1, b1)
	f := 1 / float64(s.denom)
	return rect{min(ax, bx) * f, min(ay, by) * f, max(ax, bx) * f, max(ay, by) * f}
}

// toStored maps a point of the upright image to the stored one, in
// full-size continuous coordinates (the inverse of what orientInto does
// to pixels).
func (s *Source) toStored(x, y float64) (float64, float64) {
	sw, sh := float64(s.storedW), float64(s.storedH)
	switch s.Orientation {
	case OrientFlipH:
		return sw - x, y
	case OrientRotate180:
		return sw - x, sh - y
	case OrientFlipV:
		return x, sh - y
	case OrientTranspose:
		return y, x
	case OrientRotate90:
		return y, sh - x
	case OrientTransverse:
		return sw - y, sh - x
	case OrientRotate270:
		return sw - y, x
	}
	return x, y
}

// releaseYCbCr returns the planes of an image made by render to the pool.
func releaseYCbCr(m *image.YCbCr) {
	putBuf(m.Y)
	putBuf(m.Cb)
	putBuf(m.Cr)
}

// shrinkCache keeps the box-shrunk planes of one source so that variants
// needing the same (or a divisor of the) pre-shrink share the work. Its
// planes come from the pool; release frees them.
type shrinkCache struct {
	entries []shrunk
}

type shrunk struct {
	idx    int // 0 Y, 1 Cb, 2 Cr
	kx, ky int
	p      plane
}

func (sc *shrinkCache) release() {
	for _, e := range sc.entries {
		putPlane(e.p)
	}
	sc.entries = nil
}

// resampleInto fills dst from region r of src (plane number idx of the
// source), box pre-shrinking through the cache when the reduction is large.
func (sc *shrinkCache) resampleInto(idx int, dst, src plane, r rect, f imaging.ResampleFilter) {
	kx := boxFactor((r.x1 - r.x0) / float64(dst.w))
	ky := boxFactor((r.y1 - r.y0) / float64(dst.h))
	if kx == 1 && ky == 1 {
		convolve(dst, src, r, f)
		return
	}
	base, bkx, bky := src, 1, 1
	for _, e := range sc.entries {
		if e.idx != idx || kx%e.kx != 0 || ky%e.ky != 0 {
			continue
		}
		if e.kx*e.ky > bkx*bky {
			base, bkx, bky = e.p, e.kx, e.ky
		}
	}
	p := base
	if bkx != kx || bky != ky {
		p = boxShrink(base, kx/bkx, ky/bky)
		sc.entries = append(sc.entries, shrunk{idx: idx, kx: kx, ky: ky, p: p})
	}
	convolve(dst, p, r.scale(1/float64(kx), 1/float64(ky)), f)
}
