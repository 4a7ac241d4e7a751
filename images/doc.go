// Package images is the image stage: it fetches source images safely,
// decodes them under limits, makes the platform's variants (main 1:1 padded
// on white or cropped, 3:4 for categories that need it, Pinduoduo's detail
// width, a thumbnail) as metadata-free JPEGs under the platform's byte
// limit, hashes each source perceptually, and stores the variants in a
// content-addressed blob store.
//
// The pieces, each usable alone:
//
//   - Fetcher: http(s) GET that refuses non-public addresses at dial time
//     (and on every redirect), with connect and total timeouts, a byte
//     limit, and the format sniffed from the bytes.
//   - Decode / DecodeFor: DecodeConfig first, pixel and byte limits before
//     any pixel memory, JPEG/PNG/GIF/WebP only, decoder panics recovered,
//     EXIF orientation read, transparency flattened on white. JPEGs go
//     through images/jpegscale, which DecodeFor asks for 1/2, 1/4 or 1/8
//     scale when every variant is that much smaller (shrink-on-load).
//   - Variants: the images to make from each source under a platform's
//     listinggen.ImageSpec (the "images" block of its profile in platform/).
//   - Render: variants from a Source, encoded by images/jpegenc; quality
//     steps down to fit the byte limit, never below the floor.
//   - Source.PHash, Distance: 64-bit DCT perceptual hash.
//   - Processor: all of the above for a product's images, concurrently
//     within bounds, one listinggen.ImageFailure per bad image: the
//     listinggen.ImageProcessor the pipeline uses.
//
// Resizing works on Y, Cb, Cr planes with an integer box pre-shrink and a
// separable Catmull-Rom (or any imaging.ResampleFilter) final step; see
// resample.go for why. Chroma is resampled straight to the 4:2:0 the
// encoder writes. A source decoded at a reduced scale is laid out at its
// full size, so variants and perceptual hashes do not depend on the scale.
package images
