package jpegscale

import "math"

// Inverse DCTs at 1/1, 1/2, 1/4 and 1/8 scale.
//
// A block's 8×8 coefficients describe a continuous surface; the usual
// 8-point IDCT samples it at 8×8 points. A block decoded at 1/d scale has
// (8/d)×(8/d) samples, and each is made the mean of the d×d full-size
// samples it covers, so a scaled decode is a box filter of the full one,
// as libjpeg's reduced-size transforms give and as the pipeline's own box
// pre-shrink would compute. How that mean is had from the coefficients
// directly, without the full transform, is described under "Box-equivalent
// scaling" below.
//
// All transforms take dequantised coefficients in natural (row-major)
// order, add the 128 level shift, clamp to 0..255 and write bs×bs samples
// at dst[0], dst[stride], …. They work in fixed point; corrupt input can
// overflow and wrap, which produces wrong pixels but never an
// out-of-range index, since every output goes through clamp.

const (
	constBits = 13
	pass1Bits = 2
)

// fix returns x in constBits fixed point.
func fix(x float64) int32 { return int32(x*(1<<constBits) + 0.5) }

var (
	fix0298631336 = fix(0.298631336)
	fix0390180644 = fix(0.390180644)
	fix0541196100 = fix(0.541196100)
	fix0765366865 = fix(0.765366865)
	fix0899976223 = fix(0.899976223)
	fix1175875602 = fix(1.175875602)
	fix1501321110 = fix(1.501321110)
	fix1847759065 = fix(1.847759065)
	fix1961570560 = fix(1.961570560)
	fix2053119869 = fix(2.053119869)
	fix2562915447 = fix(2.562915447)
	fix3072711026 = fix(3.072711026)

	// 4-point constants: C(u)/2 · cos(uπ/8), with C(0) = 1/√2, times √8 so
	// that the two passes together carry a factor 8, as in the 8-point
	// transform.
	fix4c1 = fix(1.306562965) // √8 · cos(π/8)/2
	fix4c2 = fix(1.0)         // √8 · cos(2π/8)/2
	fix4c3 = fix(0.541196100) // √8 · cos(3π/8)/2
)

func clamp(v int32) uint8 { return uint8(min(max(v, 0), 255)) }

// idct8 is the full-size transform: the Loeffler–Ligtenberg–Moschytz
// factorisation (12 multiplies per 8 points), columns then rows. After
// quantisation most blocks are sparse, so the column pass skips columns
// that are all zero and short-cuts those with only a DC term, and the row
// pass uses a 4-input kernel when the right half of the block is empty.
// The shortcuts give bit-identical results: they only drop terms that are
// zero.
func idct8(in *[64]int32, dst []uint8, stride int) {
	var ws [64]int32
	var cols uint8 // bit c: column c of the input has a non-zero term
	for c := 0; c < 8; c++ {
		ac := in[8+c] | in[16+c] | in[24+c] | in[32+c] | in[40+c] | in[48+c] | in[56+c]
		if ac == 0 {
			if in[c] == 0 {
				continue // ws is zero already
			}
			cols |= 1 << c
			dc := in[c] << pass1Bits
			ws[c], ws[8+c], ws[16+c], ws[24+c] = dc, dc, dc, dc
			ws[32+c], ws[40+c], ws[48+c], ws[56+c] = dc, dc, dc, dc
			continue
		}
		cols |= 1 << c
		o0, o1, o2, o3, o4, o5, o6, o7 := idct1D(in[c], in[8+c], in[16+c], in[24+c], in[32+c], in[40+c], in[48+c], in[56+c])
		const sh = constBits - pass1Bits
		const rnd = 1 << (sh - 1)
		ws[c] = (o0 + rnd) >> sh
		ws[8+c] = (o1 + rnd) >> sh
		ws[16+c] = (o2 + rnd) >> sh
		ws[24+c] = (o3 + rnd) >> sh
		ws[32+c] = (o4 + rnd) >> sh
		ws[40+c] = (o5 + rnd) >> sh
		ws[48+c] = (o6 + rnd) >> sh
		ws[56+c] = (o7 + rnd) >> sh
	}
	const sh = constBits + pass1Bits + 3
	const rnd = 1<<(sh-1) + 128<<sh
	half := cols&0xF0 == 0
	for r := 0; r < 8; r++ {
		w := (*[8]int32)(ws[r*8:])
		out := (*[8]uint8)(dst[r*stride:])
		if w[1]|w[2]|w[3]|w[4]|w[5]|w[6]|w[7] == 0 {
			v := clamp((w[0]<<constBits + rnd) >> sh)
			*out = [8]uint8{v, v, v, v, v, v, v, v}
			continue
		}
		var o0, o1, o2, o3, o4, o5, o6, o7 int32
		if half {
			o0, o1, o2, o3, o4, o5, o6, o7 = idct1D4(w[0], w[1], w[2], w[3])
		} else {
			o0, o1, o2, o3, o4, o5, o6, o7 = idct1D(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7])
		}
		out[0] = clamp((o0 + rnd) >> sh)
		out[1] = clamp((o1 + rnd) >> sh)
		out[2] = clamp((o2 + rnd) >> sh)
		out[3] = clamp((o3 + rnd) >> sh)
		out[4] = clamp((o4 + rnd) >> sh)
		out[5] = clamp((o5 + rnd) >> sh)
		out[6] = clamp((o6 + rnd) >> sh)
		out[7] = clamp((o7 + rnd) >> sh)
	}
}

// idct1D4 is idct1D with inputs 4 to 7 zero, the terms that vanish
// removed.
func idct1D4(i0, i1, i2, i3 int32) (o0, o1, o2, o3, o4, o5, o6, o7 int32) {
	z1 := i2 * fix0541196100
	t2 := z1
	t3 := z1 + i2*fix0765366865
	t0 := i0 << constBits
	t10, t13 := t0+t3, t0-t3
	t11, t12 := t0+t2, t0-t2

	z5 := (i3 + i1) * fix1175875602
	a2 := i3 * fix3072711026
	a3 := i1 * fix1501321110
	z1 = i1 * -fix0899976223
	z2 := i3 * -fix2562915447
	z3 := i3*-fix1961570560 + z5
	z4 := i1*-fix0390180644 + z5
	a0 := z1 + z3
	a1 := z2 + z4
	a2 += z2 + z3
	a3 += z1 + z4

	return t10 + a3, t11 + a2, t12 + a1, t13 + a0, t13 - a0, t12 - a1, t11 - a2, t10 - a3
}

// idct1D is one 8-point pass. Its outputs are √8 · 2^constBits times the
// true 1-D IDCT.
func idct1D(i0, i1, i2, i3, i4, i5, i6, i7 int32) (o0, o1, o2, o3, o4, o5, o6, o7 int32) {
	// Even part: i0, i2, i4, i6.
	z1 := (i2 + i6) * fix0541196100
	t2 := z1 - i6*fix1847759065
	t3 := z1 + i2*fix0765366865
	t0 := (i0 + i4) << constBits
	t1 := (i0 - i4) << constBits
	t10, t13 := t0+t3, t0-t3
	t11, t12 := t1+t2, t1-t2

	// Odd part: i7, i5, i3, i1.
	a0, a1, a2, a3 := i7, i5, i3, i1
	z1 = a0 + a3
	z2 := a1 + a2
	z3 := a0 + a2
	z4 := a1 + a3
	z5 := (z3 + z4) * fix1175875602
	a0 *= fix0298631336
	a1 *= fix2053119869
	a2 *= fix3072711026
	a3 *= fix1501321110
	z1 *= -fix0899976223
	z2 *= -fix2562915447
	z3 = z3*-fix1961570560 + z5
	z4 = z4*-fix0390180644 + z5
	a0 += z1 + z3
	a1 += z2 + z4
	a2 += z2 + z3
	a3 += z1 + z4

	return t10 + a3, t11 + a2, t12 + a1, t13 + a0, t13 - a0, t12 - a1, t11 - a2, t10 - a3
}

// Box-equivalent scaling.
//
// Output sample x of a block decoded at 1/d scale is the mean of the d×d
// full-size samples it covers. The mean of the 8-point basis function u
// over such a cell is itself a multiple of one N-point basis function
// (N = 8/d) or zero: frequencies at or above N fold back onto lower ones
// with a weight and a sign. So the 8×8 coefficients can be folded into
// N×N ones while they are dequantised, at no extra cost per coefficient,
// and the small transform then gives exactly the box average of the full
// decode, the same as libjpeg's reduced-size transforms and close to what
// the pipeline's box pre-shrink computes from a full decode. Keeping only
// the low frequencies instead (a sharper cut) would drift further from the
// full-decode result.

// scaleFrac is the fraction bits of folded coefficients: the fold weights
// are not integers.
const scaleFrac = 8

// foldMap says where coefficient frequency u (0..7) goes at one scale:
// to[u] is the N-point frequency (-1 for none) and w[u] the weight.
type foldMap struct {
	to [8]int
	w  [8]float64
}

// makeFold computes the fold for n output samples per block side by
// projecting each box-averaged basis function onto the n-point basis.
func makeFold(n int) foldMap {
	d := 8 / n
	basis := func(u, x, size int) float64 {
		c := 1.0
		if u == 0 {
			c = 1 / math.Sqrt2
		}
		return c / 2 * math.Cos(float64((2*x+1)*u)*math.Pi/float64(2*size))
	}
	var f foldMap
	for u := 0; u < 8; u++ {
		f.to[u] = -1
		for v := 0; v < n; v++ {
			var dot, norm float64
			for x := 0; x < n; x++ {
				var mean float64
				for j := 0; j < d; j++ {
					mean += basis(u, x*d+j, 8)
				}
				mean /= float64(d)
				p := basis(v, x, n)
				dot += mean * p
				norm += p * p
			}
			if w := dot / norm; math.Abs(w) > 1e-9 {
				f.to[u], f.w[u] = v, w
			}
		}
	}
	return f
}

var folds = map[int]foldMap{4: makeFold(4), 2: makeFold(2)}

// idct4 writes 4×4 samples from 4×4 folded coefficients (scaleFrac
// fraction bits). It works in 64-bit, which costs nothing on amd64 and
// leaves room for the fraction bits.
func idct4(in *[64]int32, dst []uint8, stride int) {
	var ws [16]int64
	for c := 0; c < 4; c++ {
		f0, f1, f2, f3 := int64(in[c]), int64(in[8+c]), int64(in[16+c]), int64(in[24+c])
		if f1|f2|f3 == 0 {
			dc := f0 << pass1Bits
			ws[c], ws[4+c], ws[8+c], ws[12+c] = dc, dc, dc, dc
			continue
		}
		o0, o1, o2, o3 := idct4_1D(f0, f1, f2, f3)
		const sh = constBits - pass1Bits
		const rnd = 1 << (sh - 1)
		ws[c] = (o0 + rnd) >> sh
		ws[4+c] = (o1 + rnd) >> sh
		ws[8+c] = (o2 + rnd) >> sh
		ws[12+c] = (o3 + rnd) >> sh
	}
	const sh = constBits + pass1Bits + 3 + scaleFrac
	const rnd = 1<<(sh-1) + 128<<sh
	for r := 0; r < 4; r++ {
		w := (*[4]int64)(ws[r*4:])
		out := (*[4]uint8)(dst[r*stride:])
		if w[1]|w[2]|w[3] == 0 {
			v := clamp64((w[0]<<constBits + rnd) >> sh)
			*out = [4]uint8{v, v, v, v}
			continue
		}
		o0, o1, o2, o3 := idct4_1D(w[0], w[1], w[2], w[3])
		out[0] = clamp64((o0 + rnd) >> sh)
		out[1] = clamp64((o1 + rnd) >> sh)
		out[2] = clamp64((o2 + rnd) >> sh)
		out[3] = clamp64((o3 + rnd) >> sh)
	}
}

func clamp64(v int64) uint8 { return uint8(min(max(v, 0), 255)) }

// idct4_1D is one 4-point pass, scaled like idct1D.
func idct4_1D(f0, f1, f2, f3 int64) (o0, o1, o2, o3 int64) {
	t0 := f0 << constBits
	t2 := f2 * int64(fix4c2)
	e0, e1 := t0+t2, t0-t2
	od0 := f1*int64(fix4c1) + f3*int64(fix4c3)
	od1 := f1*int64(fix4c3) - f3*int64(fix4c1)
	return e0 + od0, e1 + od1, e1 - od1, e0 - od0
}

// idct2 writes 2×2 samples from 2×2 folded coefficients: with two points
// the cosines are ±1/√2, so each sample is a signed sum over 8.
func idct2(in *[64]int32, dst []uint8, stride int) {
	const sh = 3 + scaleFrac
	f00, f01, f10, f11 := int64(in[0])+(128<<sh)+(1<<(sh-1)), int64(in[1]), int64(in[8]), int64(in[9])
	a, b := f00+f10, f00-f10
	c, d := f01+f11, f01-f11
	dst[0] = clamp64((a + c) >> sh)
	dst[1] = clamp64((a - c) >> sh)
	dst[stride] = clamp64((b + d) >> sh)
	dst[stride+1] = clamp64((b - d) >> sh)
}

// idct1 writes the block's mean, which is exactly the mean of the 64
// full-size samples: only the DC term has a non-zero mean.
func idct1(in *[64]int32, dst []uint8, _ int) {
	dst[0] = clamp((in[0] + (128 << 3) + 4) >> 3)
}
