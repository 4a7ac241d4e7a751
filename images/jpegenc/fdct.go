package jpegenc

import "math"

// The forward DCT works in image/jpeg's fixed point, operation for
// operation, so that the two encoders quantise to the same coefficients
// (TestSameBytesAsImageJPEG checks it against the Go release in use):
// columns in Q10.18 after the first pass, rows cut to Q13.0 (8× the
// orthonormal DCT) at the end.

// fix returns x with the given fraction bits, rounded.
func fix(x float64, bits int) int32 { return int32(math.Round(x * float64(int64(1)<<bits))) }

var (
	cos1_18, sin1_18 = fix(math.Cos(math.Pi/16), 18), fix(math.Sin(math.Pi/16), 18)
	cos3_18, sin3_18 = fix(math.Cos(3*math.Pi/16), 18), fix(math.Sin(3*math.Pi/16), 18)
	cos1_14, sin1_14 = fix(math.Cos(math.Pi/16), 14), fix(math.Sin(math.Pi/16), 14)
	cos3_14, sin3_14 = fix(math.Cos(3*math.Pi/16), 14), fix(math.Sin(3*math.Pi/16), 14)
	r2cos6_18        = fix(math.Sqrt2*math.Cos(6*math.Pi/16), 18)
	r2sin6_18        = fix(math.Sqrt2*math.Sin(6*math.Pi/16), 18)
	r2cos6_14        = fix(math.Sqrt2*math.Cos(6*math.Pi/16), 14)
	r2sin6_14        = fix(math.Sqrt2*math.Sin(6*math.Pi/16), 14)
	sqrt2_12         = fix(math.Sqrt2, 12)
	sqrt2_14         = fix(math.Sqrt2, 14)
)

// rotate returns (x0·c + x1·s, −x0·s + x1·c) with three multiplies.
func rotate(x0, x1, c, s int32) (int32, int32) {
	k := c * (x0 + x1)
	return k + (s-c)*x1, k - (c+s)*x0
}

// fdct transforms the 8×8 samples (0–255) of b in place into 8× their DCT
// coefficients, level shift included, in natural order.
func fdct(b *[64]int32) {
	for i := 0; i < 8; i++ {
		x0, x1, x2, x3 := b[i], b[8+i], b[16+i], b[24+i]
		x4, x5, x6, x7 := b[32+i], b[40+i], b[48+i], b[56+i]
		x0, x7 = x0+x7, x0-x7
		x1, x6 = x1+x6, x1-x6
		x2, x5 = x2+x5, x2-x5
		x3, x4 = x3+x4, x3-x4
		x4, x7 = rotate(x4, x7, cos3_18, sin3_18)
		x5, x6 = rotate(x5, x6, cos1_18, sin1_18)
		x0, x3 = x0+x3, x0-x3
		x1, x2 = x1+x2, x1-x2
		x2, x3 = rotate(x2, x3, r2cos6_18, r2sin6_18)
		x0, x1 = x0+x1, x0-x1
		b[i] = (x0 - 128*8) << 18
		b[32+i] = x1 << 18
		b[16+i] = x2
		b[48+i] = x3
		x4, x6 = x4+x6, x4-x6
		x7, x5 = x7+x5, x7-x5
		x5 = (x5 >> 12) * sqrt2_12
		x6 = (x6 >> 12) * sqrt2_12
		x7, x4 = x7+x4, x7-x4
		b[8+i] = x7
		b[24+i] = x5
		b[40+i] = x6
		b[56+i] = x4
	}
	for i := 0; i < 8; i++ {
		r := (*[8]int32)(b[8*i:])
		x0, x1, x2, x3, x4, x5, x6, x7 := r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
		x0, x7 = x0+x7, x0-x7
		x1, x6 = x1+x6, x1-x6
		x2, x5 = x2+x5, x2-x5
		x3, x4 = x3+x4, x3-x4
		x4, x7 = rotate(x4>>14, x7>>14, cos3_14, sin3_14)
		x5, x6 = rotate(x5>>14, x6>>14, cos1_14, sin1_14)
		x0, x3 = x0+x3, x0-x3
		x1, x2 = x1+x2, x1-x2
		x2, x3 = rotate(x2>>14, x3>>14, r2cos6_14, r2sin6_14)
		x0, x1 = x0+x1, x0-x1
		x4, x6 = x4+x6, x4-x6
		x7, x5 = x7+x5, x7-x5
		x5 = (x5 >> 14) * sqrt2_14
		x6 = (x6 >> 14) * sqrt2_14
		x7, x4 = x7+x4, x7-x4
		const rnd = 1 << 17
		*r = [8]int32{(x0 + rnd) >> 18, (x7 + rnd) >> 18, (x2 + rnd) >> 18, (x5 + rnd) >> 18,
			(x1 + rnd) >> 18, (x6 + rnd) >> 18, (x3 + rnd) >> 18, (x4 + rnd) >> 18}
	}
}
