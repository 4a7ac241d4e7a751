package images

import (
	"math"

	"github.com/disintegration/imaging"
)

// The resizer works on 8-bit planes (Y, Cb, Cr), not on RGBA pixels: a JPEG
// decodes to YCbCr planes, the JPEG encoder reads YCbCr, and the colour
// conversion between them is affine, so filtering commutes with it. Working
// on planes skips two full-size colour conversions and, for 4:2:0 sources,
// filters 1.5 samples per pixel instead of 4.
//
// A large reduction is done in two steps, as libvips does: an integer box
// (area) average down to between 1.5× and 3× the target, then a separable
// convolution with a proper filter (Catmull-Rom by default) for the rest.
// The box step reads every source sample once with integer adds; the filter
// step then needs few taps.

// plane is one 8-bit channel.
type plane struct {
	w, h, stride int
	pix          []byte
}

func newPlane(w, h int) plane {
	return plane{w: w, h: h, stride: w, pix: make([]byte, w*h)}
}

func (p plane) row(y int) []byte { return p.pix[y*p.stride : y*p.stride+p.w] }

// sub returns the w×h window of p at (x, y), sharing its pixels.
func (p plane) sub(x, y, w, h int) plane {
	return plane{w: w, h: h, stride: p.stride, pix: p.pix[y*p.stride+x:]}
}

// fillOutside sets every sample of p outside the w×h window at (x, y) to v.
func (p plane) fillOutside(x, y, w, h int, v byte) {
	for j := 0; j < p.h; j++ {
		row := p.row(j)
		if j < y || j >= y+h {
			fillBytes(row, v)
			continue
		}
		fillBytes(row[:x], v)
		fillBytes(row[x+w:], v)
	}
}

func fillBytes(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

// halfWhite mixes the chosen edge columns and rows of a chroma plane half
// and half with white's 128: samples that are half margin.
func (p plane) halfWhite(left, right, top, bottom bool) {
	mix := func(b *byte) { *b = uint8((uint16(*b) + 128 + 1) >> 1) }
	for y := 0; y < p.h; y++ {
		row := p.row(y)
		if top && y == 0 || bottom && y == p.h-1 {
			for x := range row {
				mix(&row[x])
			}
		}
		if left {
			mix(&row[0])
		}
		if right {
			mix(&row[len(row)-1])
		}
	}
}

func (p plane) fill(v byte) {
	for y := 0; y < p.h; y++ {
		fillBytes(p.row(y), v)
	}
}

// rect is a region of a plane in continuous coordinates: pixel i covers
// [i, i+1).
type rect struct{ x0, y0, x1, y1 float64 }

func (r rect) scale(sx, sy float64) rect {
	return rect{r.x0 * sx, r.y0 * sy, r.x1 * sx, r.y1 * sy}
}

// boxFactor is the integer pre-shrink for a reduction by scale (source
// samples per output sample): the largest k leaving at least 1.5× for the
// filter step.
func boxFactor(scale float64) int {
	k := int(scale / 1.5)
	if k < 1 {
		return 1
	}
	return k
}

// boxShrink averages kx×ky blocks into a plane from the pool. Edge blocks
// average the samples that exist, so the result covers exactly the source
// area.
func boxShrink(src plane, kx, ky int) plane {
	ow := (src.w + kx - 1) / kx
	oh := (src.h + ky - 1) / ky
	dst := getPlane(ow, oh)
	if kx == 2 && ky == 2 && src.w%2 == 0 && src.h%2 == 0 {
		for oy := 0; oy < oh; oy++ {
			a, b := src.row(2*oy), src.row(2*oy+1)
			out := dst.row(oy)
			a, b = a[:2*len(out)], b[:2*len(out)]
			for x := range out {
				out[x] = uint8((uint32(a[2*x]) + uint32(a[2*x+1]) + uint32(b[2*x]) + uint32(b[2*x+1]) + 2) >> 2)
			}
		}
		return dst
	}
	sums := make([]uint32, ow)
	fullW := src.w / kx // blocks with kx samples
	for oy := 0; oy < oh; oy++ {
		clear(sums)
		y0 := oy * ky
		y1 := min(y0+ky, src.h)
		for y := y0; y < y1; y++ {
			row := src.row(y)
			// Sum columns block by block; the inner loop runs over the
			// block's samples.
			for bx := 0; bx < fullW; bx++ {
				var s uint32
				for _, v := range row[bx*kx : bx*kx+kx] {
					s += uint32(v)
				}
				sums[bx] += s
			}
			if fullW < ow {
				var s uint32
				for _, v := range row[fullW*kx:] {
					s += uint32(v)
				}
				sums[fullW] += s
			}
		}
		rows := uint32(y1 - y0)
		out := dst.row(oy)
		for bx := range out {
			n := uint32(kx) * rows
			if bx == fullW {
				n = uint32(src.w-fullW*kx) * rows
			}
			out[bx] = uint8((sums[bx] + n/2) / n)
		}
	}
	return dst
}

const weightBits = 14

// weights is a precomputed 1-D filter: output i is the sum over k < n of
// w[i*n+k] * src[start[i]+k], in fixed point with weightBits fraction bits.
type weights struct {
	n     int
	start []int
	w     []int32
}

// makeWeights maps the source interval [x0, x1) of a line of srcLen samples
// onto dstLen samples with filter f. Taps outside the line are clamped to
// the edge sample.
//
// With pad, the window is widened (with zero weights) to 4, 8 or 12 taps so
// that horizontalPass can use its unrolled loops.
func makeWeights(srcLen int, x0, x1 float64, dstLen int, f imaging.ResampleFilter, pad bool) weights {
	scale := (x1 - x0) / float64(dstLen)
	fscale := math.Max(scale, 1)
	support := f.Support * fscale
	// The filters are zero at ±support, so the taps are the samples whose
	// centres lie strictly inside the window: at most ceil(2·support).
	n := max(int(math.Ceil(2*support)), 1)
	if pad && n <= 12 {
		n = (n + 3) &^ 3
	}
	if n > srcLen {
		n = srcLen
	}
	ws := weights{n: n, start: make([]int, dstLen), w: make([]int32, n*dstLen)}
	fw := make([]float64, n)
	for i := 0; i < dstLen; i++ {
		center := x0 + (float64(i)+0.5)*scale
		lo := int(math.Floor(center-support-0.5)) + 1
		hi := int(math.Ceil(center+support-0.5)) - 1
		start := min(max(lo, 0), srcLen-n)
		clear(fw)
		var sum float64
		for j := lo; j <= hi; j++ {
			v := f.Kernel((float64(j) + 0.5 - center) / fscale)
			if v == 0 {
				continue
			}
			jc := min(max(j, 0), srcLen-1)
			fw[jc-start] += v
			sum += v
		}
		if sum == 0 { // degenerate: nearest sample
			jc := min(max(int(center), 0), srcLen-1)
			fw[jc-start] = 1
			sum = 1
		}
		ws.start[i] = start
		row := ws.w[i*n : i*n+n]
		var total, big int32
		bigK := 0
		for k, v := range fw {
			q := int32(math.Round(v / sum * (1 << weightBits)))
			row[k] = q
			total += q
			if q > big {
				big, bigK = q, k
			}
		}
		row[bigK] += 1<<weightBits - total // exact unity gain
	}
	return ws
}

func clamp8(v int32) uint8 {
	v = (v + 1<<(weightBits-1)) >> weightBits
	return uint8(min(max(v, 0), 255)) // branch-free (CMOV)
}

// boxAverage returns the kx×ky box average (as boxShrink computes it) of
// a w×h image whose pixels src holds at 1/d scale, each sample the mean of
// the d×d full-size ones it covers (a shrink-on-load decode). A box that
// cuts through a sample takes the part it covers, counting that sample's
// full-size pixels as equal; so with d dividing kx and ky, and at d = 1,
// the result is the box average of the full-size image itself. The
// perceptual hash uses it to see the same averages whatever scale the
// image was decoded at.
func boxAverage(src plane, d, w, h, kx, ky int) plane {
	ow, oh := (w+kx-1)/kx, (h+ky-1)/ky
	xs, ys := boxTaps(w, kx, d, src.w), boxTaps(h, ky, d, src.h)
	dst := getPlane(ow, oh)
	acc := make([]uint32, src.w)
	for oy := 0; oy < oh; oy++ {
		clear(acc)
		ny := uint32(0)
		for t, wt := range ys.w[oy*ys.n : oy*ys.n+ys.n] {
			if wt == 0 {
				continue
			}
			ny += uint32(wt)
			row := src.row(ys.start[oy] + t)
			for x, v := range row {
				acc[x] += uint32(wt) * uint32(v)
			}
		}
		out := dst.row(oy)
		for ox := range out {
			var sum, nx uint32
			for t, wt := range xs.w[ox*xs.n : ox*xs.n+xs.n] {
				sum += uint32(wt) * acc[xs.start[ox]+t]
				nx += uint32(wt)
			}
			n := nx * ny
			out[ox] = uint8((sum + n/2) / n)
		}
	}
	return dst
}

// boxTaps lays out boxes of k full-size samples along a line of length
// full-size samples held as n samples at 1/d scale: box i covers [i·k,
// min((i+1)·k, length)), and the weight of a scaled sample is how many of
// its d full-size samples fall in the box.
func boxTaps(length, k, d, n int) weights {
	boxes := (length + k - 1) / k
	taps := (k+d-2)/d + 1 // the most scaled samples a box can touch
	taps = min(taps, n)
	ws := weights{n: taps, start: make([]int, boxes), w: make([]int32, boxes*taps)}
	for i := range boxes {
		a, b := i*k, min((i+1)*k, length)
		start := min(a/d, n-taps)
		ws.start[i] = start
		for j := a / d; j*d < b; j++ {
			ws.w[i*taps+j-start] = int32(min(b, (j+1)*d) - max(a, j*d))
		}
	}
	return ws
}

// convolve is the separable filter step from region r of src to all of
// dst. The vertical pass runs first, over whole rows of the columns the
// horizontal pass needs: its inner loop is a contiguous multiply-add,
// several times faster per tap than the gathering horizontal loop, so it
// should do the larger share of the work.
func convolve(dst, src plane, r rect, f imaging.ResampleFilter) {
	dw, dh := dst.w, dst.h
	if identity(src, r, dw, dh) {
		x0, y0 := int(r.x0), int(r.y0)
		for y := 0; y < dh; y++ {
			copy(dst.row(y), src.pix[(y0+y)*src.stride+x0:])
		}
		return
	}
	hw := makeWeights(src.w, r.x0, r.x1, dw, f, true)
	vw := makeWeights(src.h, r.y0, r.y1, dh, f, false)
	colLo := hw.start[0]
	colHi := hw.start[dw-1] + hw.n
	mid := getPlane(colHi-colLo, dh)
	verticalPass(mid, src, colLo, vw)
	horizontalPass(dst, mid, colLo, hw)
	putPlane(mid)
}

// verticalPass filters columns [colLo, colLo+dst.w) of src into dst.
func verticalPass(dst, src plane, colLo int, vw weights) {
	w := dst.w
	acc := make([]int32, w)
	n := vw.n
	for y := 0; y < dst.h; y++ {
		s := vw.start[y]
		ws := vw.w[y*n : y*n+n]
		row := func(k int) []byte {
			off := (s+k)*src.stride + colLo
			return src.pix[off : off+w : off+w]
		}
		out := dst.row(y)
		out = out[:len(acc)]
		switch n {
		case 4, 8:
			// The common windows (see makeWeights) go straight to the
			// output, without the accumulator row.
			r0, r1, r2, r3 := row(0), row(1), row(2), row(3)
			r0, r1, r2, r3 = r0[:len(out)], r1[:len(out)], r2[:len(out)], r3[:len(out)]
			w0, w1, w2, w3 := ws[0], ws[1], ws[2], ws[3]
			if n == 4 {
				for x := range out {
					out[x] = clamp8(w0*int32(r0[x]) + w1*int32(r1[x]) + w2*int32(r2[x]) + w3*int32(r3[x]))
				}
				continue
			}
			r4, r5, r6, r7 := row(4), row(5), row(6), row(7)
			r4, r5, r6, r7 = r4[:len(out)], r5[:len(out)], r6[:len(out)], r7[:len(out)]
			w4, w5, w6, w7 := ws[4], ws[5], ws[6], ws[7]
			for x := range out {
				out[x] = clamp8(w0*int32(r0[x]) + w1*int32(r1[x]) + w2*int32(r2[x]) + w3*int32(r3[x]) +
					w4*int32(r4[x]) + w5*int32(r5[x]) + w6*int32(r6[x]) + w7*int32(r7[x]))
			}
			continue
		}
		// Other windows apply taps four, two and one rows at a time, so
		// the accumulator row is loaded and stored once per four taps.
		k := 0
		clear(acc)
		for ; k+3 < n; k += 4 {
			w0, w1, w2, w3 := ws[k], ws[k+1], ws[k+2], ws[k+3]
			r0, r1, r2, r3 := row(k), row(k+1), row(k+2), row(k+3)
			r0, r1, r2, r3 = r0[:len(acc)], r1[:len(acc)], r2[:len(acc)], r3[:len(acc)]
			for x := range acc {
				acc[x] += w0*int32(r0[x]) + w1*int32(r1[x]) + w2*int32(r2[x]) + w3*int32(r3[x])
			}
		}
		for ; k+1 < n; k += 2 {
			w0, w1 := ws[k], ws[k+1]
			r0, r1 := row(k), row(k+1)
			r0, r1 = r0[:len(acc)], r1[:len(acc)]
			for x := range acc {
				acc[x] += w0*int32(r0[x]) + w1*int32(r1[x])
			}
		}
		if k < n {
			w0 := ws[k]
			r0 := row(k)
			r0 = r0[:len(acc)]
			for x := range acc {
				acc[x] += w0 * int32(r0[x])
			}
		}
		for x, v := range acc {
			out[x] = clamp8(v)
		}
	}
}

// horizontalPass filters each row of src (whose column 0 is source column
// colLo) into dst. Windows of 4, 8 and 12 taps (the common cases, see
// makeWeights) run fully unrolled without bounds checks.
func horizontalPass(dst, src plane, colLo int, hw weights) {
	n := hw.n
	for y := 0; y < dst.h; y++ {
		in := src.row(y)
		out := dst.row(y)
		switch n {
		case 4:
			for x := range out {
				t := (*[4]byte)(in[hw.start[x]-colLo:])
				w := (*[4]int32)(hw.w[x*4:])
				out[x] = clamp8(w[0]*int32(t[0]) + w[1]*int32(t[1]) + w[2]*int32(t[2]) + w[3]*int32(t[3]))
			}
		case 8:
			for x := range out {
				t := (*[8]byte)(in[hw.start[x]-colLo:])
				w := (*[8]int32)(hw.w[x*8:])
				out[x] = clamp8(w[0]*int32(t[0]) + w[1]*int32(t[1]) + w[2]*int32(t[2]) + w[3]*int32(t[3]) +
					w[4]*int32(t[4]) + w[5]*int32(t[5]) + w[6]*int32(t[6]) + w[7]*int32(t[7]))
			}
		case 12:
			for x := range out {
				t := (*[12]byte)(in[hw.start[x]-colLo:])
				w := (*[12]int32)(hw.w[x*12:])
				out[x] = clamp8(w[0]*int32(t[0]) + w[1]*int32(t[1]) + w[2]*int32(t[2]) + w[3]*int32(t[3]) +
					w[4]*int32(t[4]) + w[5]*int32(t[5]) + w[6]*int32(t[6]) + w[7]*int32(t[7]) +
					w[8]*int32(t[8]) + w[9]*int32(t[9]) + w[10]*int32(t[10]) + w[11]*int32(t[11]))
			}
		default:
			for x := range out {
				s := hw.start[x] - colLo
				taps := in[s : s+n]
				w := hw.w[x*n : x*n+n]
				w = w[:len(taps)]
				var acc int32
				for k, v := range taps {
					acc += w[k] * int32(v)
				}
				out[x] = clamp8(acc)
			}
		}
	}
}

// identity reports a 1:1 copy of whole pixels.
func identity(src plane, r rect, dw, dh int) bool {
	return r.x1-r.x0 == float64(dw) && r.y1-r.y0 == float64(dh) &&
		r.x0 == math.Trunc(r.x0) && r.y0 == math.Trunc(r.y0) &&
		r.x0 >= 0 && r.y0 >= 0 && int(r.x0)+dw <= src.w && int(r.y0)+dh <= src.h
}

// orientInto writes p, transformed from stored to display orientation, into
// dst, whose size must be the transformed size.
func orientInto(dst, p plane, o Orientation) {
	w, h := p.w, p.h
	for y := 0; y < dst.h; y++ {
		out := dst.row(y)
		for x := range out {
			var sx, sy int
			switch o {
			case OrientFlipH:
				sx, sy = w-1-x, y
			case OrientRotate180:
				sx, sy = w-1-x, h-1-y
			case OrientFlipV:
				sx, sy = x, h-1-y
			case OrientTranspose:
				sx, sy = y, x
			case OrientRotate90:
				sx, sy = y, h-1-x
			case OrientTransverse:
				sx, sy = w-1-y, h-1-x
			case OrientRotate270:
				sx, sy = w-1-y, x
			default:
				sx, sy = x, y
			}
			out[x] = p.pix[sy*p.stride+sx]
		}
	}
}

// orient returns p in display orientation (p itself when upright).
func orient(p plane, o Orientation) plane {
	if o <= OrientNormal || o > OrientRotate270 {
		return p
	}
	dw, dh := p.w, p.h
	if o.swapsAxes() {
		dw, dh = dh, dw
	}
	dst := newPlane(dw, dh)
	orientInto(dst, p, o)
	return dst
}
