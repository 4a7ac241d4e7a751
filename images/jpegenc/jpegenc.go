// Package jpegenc writes baseline JPEGs from 8-bit Y, Cb, Cr planes, the
// form the image pipeline renders variants in.
//
// Given the same pixels it writes the same file as image/jpeg's Encode:
// the same forward DCT arithmetic, quantisation tables and rounding,
// standard Huffman tables, 4:2:0 chroma averaged the same way, the same
// markers. What differs is how: blocks are read straight from the planes,
// an 8×8 block of one value (the white margins of a padded variant) skips
// the transform, quantisation multiplies by reciprocals instead of
// dividing, and the entropy coder skips runs of zero coefficients with a
// bit mask and writes through a 64-bit buffer. Encoding is a large share
// of making a variant once decoding shrinks on load, and image/jpeg spends
// most of its encoding time in per-pixel reads, divisions and per-byte
// writes.
//
// The input may also carry chroma already at 4:2:0 (half width and
// height), which saves the renderer and the encoder the full-resolution
// chroma planes; that file has no image/jpeg counterpart to match.
package jpegenc

import (
	"errors"
	"image"
	"math/bits"
)

// Append encodes m at quality (1–100, as image/jpeg's Options.Quality) and
// appends the file to dst. m must be 4:4:4 or 4:2:0 and smaller than
// 65536 pixels on each side.
func Append(dst []byte, m *image.YCbCr, quality int) ([]byte, error) {
	b := m.Rect
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return dst, errors.New("jpegenc: empty image")
	}
	if b.Dx() >= 1<<16 || b.Dy() >= 1<<16 {
		return dst, errors.New("jpegenc: image is too large to encode")
	}
	if m.SubsampleRatio != image.YCbCrSubsampleRatio444 && m.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return dst, errors.New("jpegenc: chroma must be 4:4:4 or 4:2:0")
	}
	e := encoder{out: dst}
	e.setQuality(quality)
	e.writeHeaders(b.Dx(), b.Dy())
	e.writeScan(m)
	e.out = append(e.out, 0xFF, 0xD9) // EOI
	return e.out, nil
}

// encoder holds one encode's output, bit buffer and tables.
type encoder struct {
	out  []byte
	acc  uint64 // pending bits, the last n of them valid
	n    uint
	dqt  [2][64]byte // quantisers in zig-zag order, as written in DQT
	luma quant
	chr  quant
}

// quant is one quantisation table prepared for the block coder, in
// natural order: a coefficient c (8× the DCT, as fdct gives it) becomes
// round(c / div) with halves rounded away from zero, as image/jpeg rounds.
type quant struct {
	div   [64]uint32
	half  [64]uint32
	recip [64]uint64 // ceil(2^40 / div): u / div == u * recip >> 40 for u < 2^29
	// dc is the quantised DC of a block of one value v, by v.
	dc [256]int32
}

const recipShift = 40

// setQuality scales the Annex K tables as image/jpeg (and libjpeg) do.
func (e *encoder) setQuality(quality int) {
	quality = min(max(quality, 1), 100)
	scale := 200 - quality*2
	if quality < 50 {
		scale = 5000 / quality
	}
	for t, q := range [2]*quant{&e.luma, &e.chr} {
		for k := 0; k < 64; k++ {
			x := (int(unscaledQuant[t][k])*scale + 50) / 100
			x = min(max(x, 1), 255)
			e.dqt[t][k] = uint8(x)
			nat := unzig[k]
			d := uint32(8 * x)
			q.div[nat] = d
			q.half[nat] = d >> 1
			q.recip[nat] = (1<<recipShift + uint64(d) - 1) / uint64(d)
		}
		for v := range q.dc {
			q.dc[v] = q.quantize(0, 64*(int32(v)-128))
		}
	}
}

// quantize divides coefficient c by the quantiser at natural index i,
// rounding halves away from zero.
func (q *quant) quantize(i int, c int32) int32 {
	u := uint32(c)
	if c < 0 {
		u = uint32(-c)
	}
	u += q.half[i]
	if u < q.div[i] {
		return 0
	}
	v := int32(uint64(u) * q.recip[i] >> recipShift)
	if c < 0 {
		return -v
	}
	return v
}

// writeHeaders writes SOI, DQT, SOF0 (three components, 4:2:0), DHT and
// SOS, byte for byte as image/jpeg does.
func (e *encoder) writeHeaders(w, h int) {
	e.out = append(e.out, 0xFF, 0xD8)
	e.out = append(e.out, 0xFF, 0xDB, 0, 2+2*65)
	for t := range e.dqt {
		e.out = append(e.out, byte(t))
		e.out = append(e.out, e.dqt[t][:]...)
	}
	e.out = append(e.out, 0xFF, 0xC0, 0, 17, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 3,
		1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)
	n := 2
	for _, s := range huffSpecs {
		n += 17 + len(s.values)
	}
	e.out = append(e.out, 0xFF, 0xC4, byte(n>>8), byte(n))
	for i, s := range huffSpecs {
		e.out = append(e.out, "\x00\x10\x01\x11"[i])
		e.out = append(e.out, s.counts[:]...)
		e.out = append(e.out, s.values...)
	}
	e.out = append(e.out, 0xFF, 0xDA, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0)
}

// writeScan codes the MCUs: four luma blocks, then Cb and Cr, for each
// 16×16 area, with edge pixels repeated past the image as image/jpeg does.
func (e *encoder) writeScan(m *image.YCbCr) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	y0, c0 := m.YOffset(m.Rect.Min.X, m.Rect.Min.Y), m.COffset(m.Rect.Min.X, m.Rect.Min.Y)
	yp := planeView{pix: m.Y[y0:], stride: m.YStride, w: w, h: h}
	cw, ch := w, h
	sub := m.SubsampleRatio == image.YCbCrSubsampleRatio420
	if sub {
		cw, ch = (w+1)/2, (h+1)/2
	}
	cb := planeView{pix: m.Cb[c0:], stride: m.CStride, w: cw, h: ch}
	cr := planeView{pix: m.Cr[c0:], stride: m.CStride, w: cw, h: ch}
	var blk [64]int32
	var prevY, prevCb, prevCr int32
	for my := 0; my < h; my += 16 {
		for mx := 0; mx < w; mx += 16 {
			for i := 0; i < 4; i++ {
				x, y := mx+(i&1)*8, my+(i&2)*4
				prevY = e.block(&blk, yp.load(&blk, x, y), &e.luma, &lumaDC, &lumaAC, prevY)
			}
			if sub {
				prevCb = e.block(&blk, cb.load(&blk, mx/2, my/2), &e.chr, &chromaDC, &chromaAC, prevCb)
				prevCr = e.block(&blk, cr.load(&blk, mx/2, my/2), &e.chr, &chromaDC, &chromaAC, prevCr)
			} else {
				prevCb = e.block(&blk, cb.loadHalved(&blk, mx, my), &e.chr, &chromaDC, &chromaAC, prevCb)
				prevCr = e.block(&blk, cr.loadHalved(&blk, mx, my), &e.chr, &chromaDC, &chromaAC, prevCr)
			}
		}
	}
	// Pad the last byte with ones; a partial byte left after that is
	// dropped, as image/jpeg does.
	e.emit(0x7F, 7)
	for ; e.n >= 8; e.n -= 8 {
		e.put(byte(e.acc >> (e.n - 8)))
	}
}

// planeView is one plane of the image, its origin at the image's.
type planeView struct {
	pix    []byte
	stride int
	w, h   int
}

// load fills blk with the 8×8 samples at (x, y), repeating the last row
// and column past the edge. It returns the block's value when all 64
// samples are equal, or -1.
func (p planeView) load(blk *[64]int32, x, y int) int {
	if x+8 <= p.w && y+8 <= p.h {
		first := p.pix[y*p.stride+x]
		uniform := true
		for r := 0; r < 8; r++ {
			row := (*[8]byte)(p.pix[(y+r)*p.stride+x:])
			uniform = uniform && *row == [8]byte{first, first, first, first, first, first, first, first}
			b := (*[8]int32)(blk[r*8:])
			b[0], b[1], b[2], b[3] = int32(row[0]), int32(row[1]), int32(row[2]), int32(row[3])
			b[4], b[5], b[6], b[7] = int32(row[4]), int32(row[5]), int32(row[6]), int32(row[7])
		}
		if uniform {
			return int(first)
		}
		return -1
	}
	for r := 0; r < 8; r++ {
		row := p.pix[min(y+r, p.h-1)*p.stride:]
		for c := 0; c < 8; c++ {
			blk[r*8+c] = int32(row[min(x+c, p.w-1)])
		}
	}
	return -1
}

// loadHalved fills blk with the 16×16 full-resolution chroma samples at
// (x, y) averaged 2×2, rounding as image/jpeg does, with the edge repeated
// at full resolution first.
func (p planeView) loadHalved(blk *[64]int32, x, y int) int {
	inside := x+16 <= p.w && y+16 <= p.h
	for r := 0; r < 8; r++ {
		y0, y1 := y+2*r, y+2*r+1
		if !inside {
			y0, y1 = min(y0, p.h-1), min(y1, p.h-1)
		}
		a, b := p.pix[y0*p.stride:], p.pix[y1*p.stride:]
		for c := 0; c < 8; c++ {
			x0, x1 := x+2*c, x+2*c+1
			if !inside {
				x0, x1 = min(x0, p.w-1), min(x1, p.w-1)
			}
			blk[r*8+c] = (int32(a[x0]) + int32(a[x1]) + int32(b[x0]) + int32(b[x1]) + 2) >> 2
		}
	}
	return -1
}

// block codes one block, whose samples are in blk or, when uniform is not
// -1, all that value, and returns its quantised DC for the next block's
// prediction.
func (e *encoder) block(blk *[64]int32, uniform int, q *quant, dcT, acT *huffTable, prevDC int32) int32 {
	if uniform >= 0 {
		dc := q.dc[uniform]
		e.emitDC(dcT, dc-prevDC)
		e.emit(uint64(acT.code[0x00]), uint(acT.size[0x00])) // end of block
		return dc
	}
	fdct(blk)
	dc := q.quantize(0, blk[0])
	e.emitDC(dcT, dc-prevDC)
	var zz [64]int32
	var nz uint64 // bit k: zig-zag coefficient k is not zero
	for k := 1; k < 64; k++ {
		i := unzig[k]
		if v := q.quantize(i, blk[i]); v != 0 {
			zz[k] = v
			nz |= 1 << k
		}
	}
	last := 0
	for nz != 0 {
		k := bits.TrailingZeros64(nz)
		nz &= nz - 1
		run := k - last - 1
		for run > 15 {
			e.emit(uint64(acT.code[0xF0]), uint(acT.size[0xF0]))
			run -= 16
		}
		v := zz[k]
		s, b := magnitude(v)
		rs := run<<4 | int(s)
		e.emit(uint64(acT.code[rs])<<s|uint64(b), uint(acT.size[rs])+s)
		last = k
	}
	if last < 63 {
		e.emit(uint64(acT.code[0x00]), uint(acT.size[0x00]))
	}
	return dc
}

func (e *encoder) emitDC(t *huffTable, diff int32) {
	s, b := magnitude(diff)
	e.emit(uint64(t.code[s])<<s|uint64(b), uint(t.size[s])+s)
}

// magnitude returns the JPEG size category of v and its s extra bits (v,
// or v-1 in s bits when negative).
func magnitude(v int32) (s uint, b uint32) {
	a := v
	if v < 0 {
		a = -v
		v--
	}
	s = uint(bits.Len32(uint32(a)))
	return s, uint32(v) & (1<<s - 1)
}

// emit appends the low n bits of b (n ≤ 32) to the stream, byte-stuffing
// each 0xFF with a 0x00.
func (e *encoder) emit(b uint64, n uint) {
	e.acc = e.acc<<n | b
	e.n += n
	if e.n < 32 {
		return
	}
	w := uint32(e.acc >> (e.n - 32))
	e.n -= 32
	if x := ^w; (x-0x01010101)&^x&0x80808080 == 0 { // no 0xFF byte
		e.out = append(e.out, byte(w>>24), byte(w>>16), byte(w>>8), byte(w))
		return
	}
	for sh := 24; sh >= 0; sh -= 8 {
		e.put(byte(w >> sh))
	}
}

// put appends one byte of entropy-coded data.
func (e *encoder) put(c byte) {
	e.out = append(e.out, c)
	if c == 0xFF {
		e.out = append(e.out, 0)
	}
}
