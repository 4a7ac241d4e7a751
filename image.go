package listinggen

import (
	"context"
	"strconv"
)

// ImageVariantMain names the main (carousel) variant, the one a listing
// cannot do without.
const ImageVariantMain = "main"

// ImageInput is one source image: a URL to fetch, or uploaded bytes.
type ImageInput struct {
	// URL is fetched when Data is nil.
	URL string
	// Data is an uploaded file; Name (for example "upload:photo.jpg")
	// identifies it in results and errors.
	Data []byte
	Name string
}

// Label names the input in results and errors: its URL, or its upload
// name.
func (in ImageInput) Label() string {
	if in.Data != nil {
		if in.Name != "" {
			return in.Name
		}
		return "upload"
	}
	return in.URL
}

// ProcessedImage is a source image with the variants made of it for a
// platform, whose files are in the BlobStore under their SHA256.
type ProcessedImage struct {
	// Index is the position of the input in the Process call.
	Index int
	// URL is the input's label (URL or upload name).
	URL string
	// Format, Width and Height describe the source as displayed (after
	// EXIF orientation); Bytes and SHA256 its file.
	Format        string
	Width, Height int
	Bytes         int
	SHA256        string
	// PHash is the source's 64-bit perceptual hash, for duplicate
	// detection.
	PHash uint64
	// Variants have no URL yet: where they are served is the caller's.
	Variants []ImageVariant
}

// FormatPHash writes a perceptual hash as listings store it: 16 hex
// digits.
func FormatPHash(h uint64) string {
	s := strconv.FormatUint(h, 16)
	return "0000000000000000"[len(s):] + s
}

// ImageFailure says why one input produced no image. Code is an error code;
// Reason is safe to show to clients.
type ImageFailure struct {
	Index  int
	URL    string
	Code   string
	Reason string
}

// ImageResult is one entry in Images or in Errors for every input of a
// Process call, each list in input order.
type ImageResult struct {
	Images []ProcessedImage
	Errors []ImageFailure
}

// HasMain reports whether at least one image has a main variant; a
// listing without one needs review.
func (r ImageResult) HasMain() bool {
	for _, im := range r.Images {
		for _, v := range im.Variants {
			if v.Name == ImageVariantMain {
				return true
			}
		}
	}
	return false
}

// ImageProcessor fetches (with guards against private addresses and
// oversized files), decodes, resizes, hashes and stores images for a
// platform's specification.
type ImageProcessor interface {
	// Process makes the variants of spec (narrowed with ForCategory) for
	// every input. A bad image never fails the others: each failure is one
	// ImageFailure. The error is only ctx's, with the partial result.
	Process(ctx context.Context, spec ImageSpec, inputs []ImageInput) (ImageResult, error)
	// ProcessOne makes one image's variants; its failure is the error.
	ProcessOne(ctx context.Context, spec ImageSpec, in ImageInput) (*ProcessedImage, error)
}
