// Package jpegscale decodes a JPEG at 1/1, 1/2, 1/4 or 1/8 of its size,
// choosing the smallest scale that still covers a requested size.
//
// Making an 800×800 listing image from a 3000×2000 photo with image/jpeg
// means decoding six million pixels to throw most of them away. A JPEG
// stores each 8×8 block as frequencies, so a smaller image can be had
// straight from the inverse DCT by keeping only the low frequencies
// ("shrink-on-load", as libjpeg's scale_denom and libvips do): the entropy
// decoding is the same, but the transform, the colour planes and the
// resampler's input all shrink by the square of the scale. Each output
// sample is the mean of the full-size samples it covers (a box filter, see
// idct.go), so resampling from it gives what resampling the full decode
// gives, within rounding.
//
// No maintained Go decoder that does this could be used: the candidates
// (a WebAssembly build of jpegli with a scale target, a fork of image/jpeg
// with libjpeg's scaled transforms, cgo bindings to libjpeg) are not served
// by the module proxy this project builds from, and libvips through cgo
// would need a library installed by hand. So this package is a decoder of
// its own for what photos use: baseline, extended and progressive Huffman
// JPEGs, 8-bit, grey or YCbCr with the usual chroma subsamplings, restart
// markers. Anything else (CMYK and YCCK, RGB-coded files, 12-bit,
// arithmetic coding, unusual sampling) is handed to image/jpeg at full
// size, so every file image/jpeg accepts still decodes.
//
// The output is an *image.YCbCr (chroma kept subsampled) or *image.Gray
// with its origin at (0, 0): the planes the resampler reads directly,
// without a colour conversion.
package jpegscale

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
)

// DefaultMaxPixels is the largest width×height decoded when Options leaves
// MaxPixels zero; it matches the image pipeline's default limit.
const DefaultMaxPixels = 40_000_000

// Options bound what a decode may cost. The zero value uses the defaults.
type Options struct {
	// MaxPixels is the largest declared width×height accepted. Larger
	// files fail with a *TooLargeError as soon as the frame header has
	// been read, before any pixel or coefficient memory is allocated.
	MaxPixels int64
	// HalfChroma lets a file whose chroma is stored at full resolution
	// (4:4:4) have its chroma decoded at half the luma's scale, returned
	// as 4:2:0, each chroma sample the mean of the 2×2 the full chroma
	// would have. A caller that subsamples chroma anyway (an encoder
	// writing 4:2:0) saves most of the chroma's transform and memory. It
	// changes nothing for other samplings, or when the luma is already at
	// 1/8 scale.
	HalfChroma bool
}

func (o Options) maxPixels() int64 {
	if o.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

// TooLargeError reports a file whose declared size is above
// Options.MaxPixels.
type TooLargeError struct {
	Width, Height int
	MaxPixels     int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("jpegscale: the image is %d×%d pixels, more than the limit of %d pixels",
		e.Width, e.Height, e.MaxPixels)
}

// Denom returns the largest of 8, 4, 2 and 1 such that a w×h image reduced
// by it (rounding up, as the decoder does) is still at least minW×minH. A
// non-positive minimum puts no bound on that side. A target larger than
// the image gives 1: upscaling is the resampler's job.
func Denom(w, h, minW, minH int) int {
	for _, d := range [...]int{8, 4, 2} {
		if (w+d-1)/d >= minW && (h+d-1)/d >= minH {
			return d
		}
	}
	return 1
}

// DecodeBytes decodes a JPEG at scale 1/denom, the smallest scale whose
// result is at least minW×minH (see Denom), with the default Options. It
// reads data without changing or keeping it, so the caller can still read
// metadata such as the EXIF orientation from the same bytes. The image is
// ceil(W/denom)×ceil(H/denom) for a W×H file. When W or H is not a
// multiple of denom, the last column or row is partly
// padding (1001 rows at 1/4 are 250.25 rows of picture in 251), so a
// resampler should take its region in full-size coordinates divided by
// denom rather than stretch the whole decoded image. Files this package
// leaves to image/jpeg come back at full size with denom 1.
//
// minW and minH are in the file's stored orientation: a caller that
// applies an EXIF rotation by 90° swaps them.
func DecodeBytes(data []byte, minW, minH int) (img image.Image, denom int, err error) {
	return Options{}.DecodeBytes(data, minW, minH)
}

// ErrPanic is wrapped by the error returned when a decoder panicked: a bug
// rather than a bad file, which a caller may want to tell apart (and keep
// the panic's text out of a message shown to users).
var ErrPanic = errors.New("jpegscale: decoder panic")

// DecodeBytes is the package's DecodeBytes with the limits of o. A panic
// inside a decoder, which would be a bug, is returned as an error wrapping
// ErrPanic rather than taking the caller down.
func (o Options) DecodeBytes(data []byte, minW, minH int) (img image.Image, denom int, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, denom, err = nil, 0, fmt.Errorf("%w: %v", ErrPanic, p)
		}
	}()
	return o.decodeBytes(data, minW, minH)
}

// decodeBytes decodes without recovering panics, so that the fuzz test
// sees them.
func (o Options) decodeBytes(data []byte, minW, minH int) (image.Image, int, error) {
	maxPixels := o.maxPixels()
	d := &decoder{data: data, minW: minW, minH: minH, maxPixels: maxPixels, halfChroma: o.HalfChroma}
	img, err := d.decode()
	if err == nil {
		return img, d.denom, nil
	}
	if !errors.Is(err, errFallback) {
		return nil, 0, err
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, 0, err
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > maxPixels {
		return nil, 0, &TooLargeError{Width: cfg.Width, Height: cfg.Height, MaxPixels: maxPixels}
	}
	img, err = jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, 0, err
	}
	return img, 1, nil
}
