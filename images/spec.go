package images

import (
	"fmt"
	"strconv"

	"github.com/listinggen/listinggen"
)

// Fit says how an image is placed on a variant's canvas.
type Fit int

const (
	// FitPad scales the whole image into the canvas and pads it on white.
	FitPad Fit = iota
	// FitCrop scales the image to cover the canvas and crops the centre.
	FitCrop
	// FitWidth keeps the image's aspect ratio within a width range and a
	// maximum height (detail images); narrow results are padded to MinWidth.
	FitWidth
)

func (f Fit) String() string {
	switch f {
	case FitPad:
		return "pad"
	case FitCrop:
		return "crop"
	case FitWidth:
		return "width"
	}
	return "fit(" + strconv.Itoa(int(f)) + ")"
}

// Variant names.
const (
	VariantMain   = listinggen.ImageVariantMain
	VariantDetail = "detail"
	VariantThumb  = "thumb"
)

// VariantSpec is one output image to make from each source image.
type VariantSpec struct {
	// Name identifies the variant: "main", "main_3x4", "detail", "thumb".
	Name string
	// Width and Height are the canvas size. For FitWidth, Width is the
	// maximum width and Height the maximum height (0: unbounded).
	Width, Height int
	// MinWidth is the narrowest FitWidth result (padded up to it).
	MinWidth int
	Fit      Fit
	// MaxBytes is the largest encoded file (0: unbounded).
	MaxBytes int64
}

// Variants lists the images to make for each source image under a
// platform's spec s (after ForCategory): the main image, any extra main shapes, the detail
// image when the platform has one, and a thumbnail.
func Variants(s listinggen.ImageSpec, c RenderConfig) []VariantSpec {
	mainFit := c.Fit
	if mainFit == FitWidth {
		mainFit = FitPad
	}
	w, h := shapeSize(listinggen.ImageShape{Ratio: s.MainRatio, Size: s.MainSize}, s.MainMinPx, c.MainSide)
	vs := []VariantSpec{{Name: VariantMain, Width: w, Height: h, Fit: mainFit, MaxBytes: s.MainMaxBytes}}
	for _, sh := range s.ExtraMains {
		w, h := shapeSize(sh, s.MainMinPx, c.MainSide)
		vs = append(vs, VariantSpec{
			Name:  fmt.Sprintf("%s_%dx%d", VariantMain, sh.Ratio.W, sh.Ratio.H),
			Width: w, Height: h, Fit: mainFit, MaxBytes: s.MainMaxBytes,
		})
	}
	if d := s.Detail; d != nil {
		vs = append(vs, VariantSpec{Name: VariantDetail, Width: d.MaxWidth, Height: d.MaxHeight,
			MinWidth: d.MinWidth, Fit: FitWidth, MaxBytes: d.MaxBytes})
	}
	if c.ThumbnailSize > 0 {
		vs = append(vs, VariantSpec{Name: VariantThumb, Width: c.ThumbnailSize, Height: c.ThumbnailSize,
			Fit: FitPad, MaxBytes: s.MainMaxBytes})
	}
	return vs
}

// shapeSize returns the pixel size of a main image shape: the given size,
// or for a square side×side with side = max(mainSide, minPx), or for other
// ratios the smallest size whose short side is at least max(750, minPx)
// (750×1000 for 3:4, the platforms' usual apparel size).
func shapeSize(sh listinggen.ImageShape, minPx, mainSide int) (int, int) {
	if !sh.Size.IsZero() {
		return sh.Size[0], sh.Size[1]
	}
	r := sh.Ratio
	if r.W <= 0 || r.H <= 0 {
		r = listinggen.ImageRatio{W: 1, H: 1}
	}
	if r.W == r.H {
		side := max(mainSide, minPx)
		return side, side
	}
	short := max(750, minPx)
	if r.W < r.H {
		return short, (short*r.H + r.W - 1) / r.W
	}
	return (short*r.W + r.H - 1) / r.H, short
}
