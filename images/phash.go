package images

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"

	"github.com/disintegration/imaging"

	"github.com/listinggen/listinggen"
)

// PHash is a 64-bit perceptual hash (the DCT "pHash") of an image's
// luminance: similar pictures have hashes a few bits apart whatever their
// size, compression or small edits. It is written as 16 hex digits.
type PHash uint64

// String returns the hash as listings store it (listinggen.FormatPHash),
// so that the two forms cannot drift apart.
func (h PHash) String() string { return listinggen.FormatPHash(uint64(h)) }

// MarshalText writes the hex form, so JSON carries a string (a uint64 does
// not survive JavaScript's numbers).
func (h PHash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText parses 16 hex digits.
func (h *PHash) UnmarshalText(b []byte) error {
	if len(b) != 16 {
		return fmt.Errorf("phash %q must be 16 hex digits", b)
	}
	v, err := strconv.ParseUint(string(b), 16, 64)
	if err != nil {
		return fmt.Errorf("phash %q must be 16 hex digits", b)
	}
	*h = PHash(v)
	return nil
}

// Distance returns the Hamming distance between two hashes. On the test
// photos (TestPHashNearAndFar) the same photo resized or re-encoded is at
// most 4 bits away, a stereo pair (the same scene a few centimetres apart)
// at most 10, and different photos at least 22.
func Distance(a, b PHash) int { return bits.OnesCount64(uint64(a ^ b)) }

const phashSize = 32

// phashCos[u][x] is the DCT-II basis cos((2x+1)uπ/2N) for the 8 lowest
// frequencies.
var phashCos = func() (c [8][phashSize]float64) {
	for u := range c {
		for x := range c[u] {
			c[u][x] = math.Cos(float64(2*x+1) * float64(u) * math.Pi / (2 * phashSize))
		}
	}
	return c
}()

// PHash returns the perceptual hash of the upright image: the luminance is
// area-averaged to 32×32, transformed with a 2-D DCT, and each of the 8×8
// lowest-frequency coefficients becomes a bit: set when it is above their
// median (the DC term excluded from the median).
//
// The area average is a box average over whole full-size pixels (the same
// boxes whatever scale the source was decoded at, see boxAverage) followed
// by a linear filter, so a photo decoded at a reduced scale hashes as its
// full decode does: the hash is compared with hashes stored before.
func (s *Source) PHash() PHash {
	fw, fh := s.storedW, s.storedH
	kx, ky := boxFactor(float64(fw)/phashSize), boxFactor(float64(fh)/phashSize)
	box := boxAverage(s.y, s.denom, fw, fh, kx, ky)
	small := newPlane(phashSize, phashSize)
	convolve(small, box, rect{0, 0, float64(fw) / float64(kx), float64(fh) / float64(ky)}, imaging.Linear)
	putPlane(box)
	small = orient(small, s.Orientation)
	// Rows first: tmp[y][u] = Σx px[y][x]·cos[u][x].
	var tmp [phashSize][8]float64
	for y := 0; y < phashSize; y++ {
		row := small.row(y)
		for u := 0; u < 8; u++ {
			var sum float64
			for x, v := range row {
				sum += float64(v) * phashCos[u][x]
			}
			tmp[y][u] = sum
		}
	}
	var coef [64]float64
	for v := 0; v < 8; v++ {
		for u := 0; u < 8; u++ {
			var sum float64
			for y := 0; y < phashSize; y++ {
				sum += tmp[y][u] * phashCos[v][y]
			}
			coef[v*8+u] = sum
		}
	}
	sorted := slices.Clone(coef[1:])
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	var h uint64
	for _, c := range coef {
		h <<= 1
		if c > median {
			h |= 1
		}
	}
	return PHash(h)
}
