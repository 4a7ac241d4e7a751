package jpegscale

import (
	"errors"
	"fmt"
	"image"
	"io"
	"math"
)

// Marker codes (JPEG Table B.1).
const (
	mSOF0 = 0xC0 // baseline
	mSOF1 = 0xC1 // extended sequential, Huffman
	mSOF2 = 0xC2 // progressive, Huffman
	mDHT  = 0xC4
	mRST0 = 0xD0
	mRST7 = 0xD7
	mSOI  = 0xD8
	mEOI  = 0xD9
	mSOS  = 0xDA
	mDQT  = 0xDB
	mDRI  = 0xDD
	mAPP0 = 0xE0
	mAPPE = 0xEE
	mAPPF = 0xEF
	mCOM  = 0xFE
)

// FormatError reports input that is not a valid JPEG.
type FormatError string

func (e FormatError) Error() string { return "jpegscale: invalid JPEG: " + string(e) }

var (
	errShortData  = FormatError("short entropy-coded data (truncated file?)")
	errBadHuffman = FormatError("bad Huffman code")
	errBadCoef    = FormatError("coefficient index out of range")
	errNoImage    = FormatError("missing SOF or SOS marker")
	errUnexpected = fmt.Errorf("jpegscale: %w", io.ErrUnexpectedEOF)
)

// maxScans bounds the scans of one file. Each scan visits every block of
// its components, and an AC scan can cover them all with an end-of-band run
// of a few bytes, so a small file of many scans could otherwise cost far
// more than its size suggests. Encoders write one scan per component, or
// about ten for a progressive file.
const maxScans = 256

// errFallback means the file is valid as far as read but uses a feature
// this decoder leaves to image/jpeg (see Decode).
var errFallback = errors.New("jpegscale: fall back to image/jpeg")

// zigzag[k] is the natural (row-major) index of the k-th coefficient in
// zig-zag order. It is built by walking the anti-diagonals, alternately
// up and down.
var zigzag = func() (zz [64]uint8) {
	k := 0
	for s := 0; s <= 14; s++ {
		lo, hi := max(0, s-7), min(s, 7)
		for i := lo; i <= hi; i++ {
			r := i
			if s%2 == 0 {
				r = lo + hi - i // even diagonals run bottom-left to top-right
			}
			zz[k] = uint8(r*8 + (s - r))
			k++
		}
	}
	return zz
}()

// component is one colour component of the frame and its output plane.
type component struct {
	id     uint8
	h, v   int   // sampling factors
	tq     uint8 // quantisation table
	td, ta uint8 // Huffman tables of the current scan

	bw, bh   int // blocks in the MCU-padded grid
	sbw, sbh int // blocks a single-component scan covers
	sc       *scale
	mul      [64]int32 // by zig-zag index: quantiser × fold weight at sc
	pred     int32
	pix      []uint8 // samples at the output scale, stride bw*bs
	stride   int
	coefs    []int16 // progressive: quantised coefficients, 64 per block
}

// scan is the part of an SOS header the block decoders need.
type scan struct {
	comps          []int
	ss, se, ah, al int
}

// decoder holds one decode's state: the file, its tables, the chosen scale
// and the bit reader.
type decoder struct {
	data []byte
	pos  int

	width, height int
	ncomp         int
	comp          [4]component
	sof           bool
	progressive   bool
	hmax, vmax    int
	mcusX, mcusY  int

	quant    [4][64]int32 // by zig-zag index, as stored in DQT
	quantSet [4]bool
	huff     [2][4]*huffTable // [0] DC, [1] AC
	ri       int

	jfif           bool
	adobe          bool
	adobeTransform uint8

	minW, minH int
	maxPixels  int64
	halfChroma bool
	denom      int
	// scales are the luma's and, when it differs (Options.HalfChroma),
	// the chroma's.
	scales     [2]scale
	chromaHalf bool
	allocated  bool
	scans      int

	br     bitReader
	eobrun int32
	blk    [65]int32 // dequantised coefficients, natural order; [64] is a sink
}

func (d *decoder) u8() (byte, error) {
	if d.pos >= len(d.data) {
		return 0, errUnexpected
	}
	b := d.data[d.pos]
	d.pos++
	return b, nil
}

// segment returns the payload of the marker segment at d.pos (after its
// length) and moves past it.
func (d *decoder) segment() ([]byte, error) {
	if d.pos+2 > len(d.data) {
		return nil, errUnexpected
	}
	n := int(d.data[d.pos])<<8 | int(d.data[d.pos+1])
	if n < 2 {
		return nil, FormatError("short segment length")
	}
	if d.pos+n > len(d.data) {
		return nil, errUnexpected
	}
	p := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return p, nil
}

// decode runs the marker loop to EOI and returns the image.
func (d *decoder) decode() (image.Image, error) {
	if len(d.data) < 2 || d.data[0] != 0xFF || d.data[1] != mSOI {
		return nil, FormatError("missing SOI marker")
	}
	d.pos = 2
	for {
		// Find the next marker. Bytes that are not one are skipped, as
		// libjpeg and image/jpeg do, and any number of 0xFF fill bytes
		// may precede the marker code.
		b, err := d.u8()
		if err != nil {
			return nil, err
		}
		if b != 0xFF {
			continue
		}
		m, err := d.u8()
		if err != nil {
			return nil, err
		}
		for m == 0xFF {
			if m, err = d.u8(); err != nil {
				return nil, err
			}
		}
		switch {
		case m == 0x00: // stuffed data outside a scan: extraneous
			continue
		case m == mEOI:
			return d.finish()
		case m >= mRST0 && m <= mRST7: // a stray restart marker
			continue
		case m == mSOI:
			return nil, FormatError("repeated SOI marker")
		}
		seg, err := d.segment()
		if err != nil {
			return nil, err
		}
		switch {
		case m == mSOF0 || m == mSOF1 || m == mSOF2:
			err = d.processSOF(seg, m == mSOF2)
		case m == mDHT:
			err = d.processDHT(seg)
		case m == mDQT:
			err = d.processDQT(seg)
		case m == mDRI:
			err = d.processDRI(seg)
		case m == mSOS:
			err = d.processSOS(seg)
		case m == mAPP0:
			d.jfif = d.jfif || len(seg) >= 5 && string(seg[:5]) == "JFIF\x00"
		case m == mAPPE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobe, d.adobeTransform = true, seg[11]
			}
		case m > mAPP0 && m <= mAPPF || m == mCOM:
			// Metadata; EXIF orientation is read from the raw bytes by the
			// caller, which this decoder never modifies.
		case m >= 0xC0 && m <= 0xCF:
			// Lossless, hierarchical and arithmetic-coded frames: image/jpeg
			// decides (it refuses them with its own message).
			return nil, errFallback
		default:
			return nil, FormatError(fmt.Sprintf("unknown marker 0x%02X", m))
		}
		if err != nil {
			return nil, err
		}
	}
}

func (d *decoder) processSOF(p []byte, progressive bool) error {
	if d.sof {
		return FormatError("multiple SOF markers")
	}
	d.sof = true
	d.progressive = progressive
	if len(p) < 6 {
		return FormatError("short SOF")
	}
	d.height = int(p[1])<<8 | int(p[2])
	d.width = int(p[3])<<8 | int(p[4])
	d.ncomp = int(p[5])
	// The size is checked first, so that no path, the fallback included,
	// allocates pixels for a file above the limit.
	if px := int64(d.width) * int64(d.height); px > d.maxPixels {
		return &TooLargeError{Width: d.width, Height: d.height, MaxPixels: d.maxPixels}
	}
	switch {
	case p[0] != 8: // 12-bit
		return errFallback
	case d.ncomp != 1 && d.ncomp != 3: // CMYK, YCCK, two components
		return errFallback
	case d.width == 0 || d.height == 0: // height defined by a DNL marker
		return errFallback
	}
	if len(p) != 6+3*d.ncomp {
		return FormatError("SOF has wrong length")
	}
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		c.id = p[6+3*i]
		for j := 0; j < i; j++ {
			if d.comp[j].id == c.id {
				return FormatError("repeated component identifier")
			}
		}
		c.h, c.v = int(p[7+3*i]>>4), int(p[7+3*i]&15)
		c.tq = p[8+3*i]
		if c.tq > 3 {
			return FormatError("bad quantisation table selector")
		}
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return FormatError("bad sampling factors")
		}
		if d.ncomp == 1 {
			// A single-component frame is never interleaved, so its
			// blocks run in plain raster order whatever the factors say.
			c.h, c.v = 1, 1
		}
	}
	if d.ncomp == 3 {
		y, cb, cr := d.comp[0], d.comp[1], d.comp[2]
		if cb.h != cr.h || cb.v != cr.v || y.h%cb.h != 0 || y.v%cb.v != 0 {
			return errFallback
		}
		if _, ok := ratioOf(y.h/cb.h, y.v/cb.v); !ok {
			return errFallback
		}
	}
	d.hmax, d.vmax = 1, 1
	for i := 0; i < d.ncomp; i++ {
		d.hmax, d.vmax = max(d.hmax, d.comp[i].h), max(d.vmax, d.comp[i].v)
	}
	d.mcusX = (d.width + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcusY = (d.height + 8*d.vmax - 1) / (8 * d.vmax)
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		c.bw, c.bh = d.mcusX*c.h, d.mcusY*c.v
		cw := (d.width*c.h + d.hmax - 1) / d.hmax
		ch := (d.height*c.v + d.vmax - 1) / d.vmax
		c.sbw, c.sbh = (cw+7)/8, (ch+7)/8
	}
	d.setScale()
	return nil
}

// ratioOf maps luma:chroma sampling to the image.YCbCr ratio.
func ratioOf(dx, dy int) (image.YCbCrSubsampleRatio, bool) {
	switch [2]int{dx, dy} {
	case [2]int{1, 1}:
		return image.YCbCrSubsampleRatio444, true
	case [2]int{2, 1}:
		return image.YCbCrSubsampleRatio422, true
	case [2]int{2, 2}:
		return image.YCbCrSubsampleRatio420, true
	case [2]int{1, 2}:
		return image.YCbCrSubsampleRatio440, true
	case [2]int{4, 1}:
		return image.YCbCrSubsampleRatio411, true
	case [2]int{4, 2}:
		return image.YCbCrSubsampleRatio410, true
	}
	return 0, false
}

// scale is what decoding at one scale needs: the transform and which
// coefficients it keeps, with their fold weights.
type scale struct {
	bs        int       // samples per block side
	slot      [64]uint8 // zig-zag index → slot in blk (64: not needed)
	fold      [64]float64
	frac      uint // fraction bits of the folded coefficients
	maxKeptZZ int
	idct      func(*[64]int32, []uint8, int)
}

func newScale(denom int) scale {
	sc := scale{bs: 8 / denom}
	switch sc.bs {
	case 8:
		sc.idct = idct8
	case 4:
		sc.idct = idct4
	case 2:
		sc.idct = idct2
	default:
		sc.idct = idct1
	}
	fm, folded := folds[sc.bs]
	if folded {
		sc.frac = scaleFrac
	}
	for k, nat := range zigzag {
		v, u := int(nat/8), int(nat%8)
		sc.slot[k] = 64
		switch {
		case folded && fm.to[v] >= 0 && fm.to[u] >= 0:
			sc.slot[k] = uint8(fm.to[v]*8 + fm.to[u])
			sc.fold[k] = fm.w[v] * fm.w[u]
		case !folded && v < sc.bs && u < sc.bs:
			sc.slot[k], sc.fold[k] = nat, 1
		}
		if sc.slot[k] < 64 {
			sc.maxKeptZZ = k
		}
	}
	return sc
}

// setScale picks the denominator and the transforms for it: the chroma's
// is twice the luma's when Options.HalfChroma asks for it and the file's
// chroma is at full resolution (4:4:4).
func (d *decoder) setScale() {
	d.denom = Denom(d.width, d.height, d.minW, d.minH)
	d.scales[0] = newScale(d.denom)
	d.chromaHalf = d.halfChroma && d.ncomp == 3 && d.denom < 8 &&
		d.comp[0].h == d.comp[1].h && d.comp[0].v == d.comp[1].v
	if d.chromaHalf {
		d.scales[1] = newScale(2 * d.denom)
	} else {
		d.scales[1] = d.scales[0]
	}
	for i := 0; i < d.ncomp; i++ {
		d.comp[i].sc = &d.scales[min(i, 1)]
	}
}

// prepareQuant computes each component's multipliers that dequantise and
// fold in one step, from the tables in force.
func (d *decoder) prepareQuant() {
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		for k, q := range d.quant[c.tq] {
			if c.sc.frac == 0 {
				c.mul[k] = q
				continue
			}
			c.mul[k] = int32(math.Round(float64(q) * c.sc.fold[k] * (1 << scaleFrac)))
		}
	}
}

func (d *decoder) processDQT(p []byte) error {
	for len(p) > 0 {
		pq, tq := p[0]>>4, p[0]&15
		if tq > 3 || pq > 1 {
			return FormatError("bad DQT")
		}
		n := 64 << pq
		if len(p) < 1+n {
			return FormatError("short DQT")
		}
		for k := 0; k < 64; k++ {
			var q int32
			if pq == 0 {
				q = int32(p[1+k])
			} else {
				q = int32(p[1+2*k])<<8 | int32(p[2+2*k])
			}
			d.quant[tq][k] = q
		}
		d.quantSet[tq] = true
		p = p[1+n:]
	}
	return nil
}

func (d *decoder) processDHT(p []byte) error {
	for len(p) > 0 {
		if len(p) < 17 {
			return FormatError("short DHT")
		}
		tc, th := p[0]>>4, p[0]&15
		if tc > 1 || th > 3 {
			return FormatError("bad DHT table class or index")
		}
		var counts [16]uint8
		copy(counts[:], p[1:17])
		total := 0
		for _, n := range counts {
			total += int(n)
		}
		if total == 0 || total > 256 || len(p) < 17+total {
			return FormatError("bad DHT code counts")
		}
		t := d.huff[tc][th]
		if t == nil {
			t = new(huffTable)
			d.huff[tc][th] = t
		}
		if !t.build(&counts, p[17:17+total], tc == 1) {
			d.huff[tc][th] = nil
			return FormatError("bad Huffman table")
		}
		p = p[17+total:]
	}
	return nil
}

func (d *decoder) processDRI(p []byte) error {
	if len(p) != 2 {
		return FormatError("DRI has wrong length")
	}
	d.ri = int(p[0])<<8 | int(p[1])
	return nil
}

func (d *decoder) processSOS(p []byte) error {
	if !d.sof {
		return FormatError("SOS before SOF")
	}
	if len(p) < 1 {
		return FormatError("short SOS")
	}
	ns := int(p[0])
	if ns < 1 || ns > 4 || ns > d.ncomp || len(p) != 4+2*ns {
		return FormatError("SOS has wrong length or component count")
	}
	var sc scan
	var idx [4]int
	blocksPerMCU := 0
	for i := 0; i < ns; i++ {
		id, t := p[1+2*i], p[2+2*i]
		ci := -1
		for j := 0; j < d.ncomp; j++ {
			if d.comp[j].id == id {
				ci = j
			}
		}
		if ci < 0 {
			return FormatError("SOS names an unknown component")
		}
		for _, prev := range idx[:i] {
			if prev == ci {
				return FormatError("SOS repeats a component")
			}
		}
		idx[i] = ci
		c := &d.comp[ci]
		c.td, c.ta = t>>4, t&15
		if c.td > 3 || c.ta > 3 {
			return FormatError("bad Huffman table selector")
		}
		blocksPerMCU += c.h * c.v
	}
	if ns > 1 && blocksPerMCU > 10 {
		return FormatError("too many blocks per MCU")
	}
	sc.comps = idx[:ns]
	q := p[1+2*ns:]
	sc.ss, sc.se, sc.ah, sc.al = int(q[0]), int(q[1]), int(q[2]>>4), int(q[2]&15)
	if d.progressive {
		if sc.ss > sc.se || sc.se > 63 || (sc.ss == 0) != (sc.se == 0) || sc.ah > 13 || sc.al > 13 {
			return FormatError("bad progressive scan parameters")
		}
		if sc.ss > 0 && ns != 1 {
			return FormatError("interleaved AC scan")
		}
	} else {
		sc.ss, sc.se, sc.ah, sc.al = 0, 63, 0, 0
	}
	for _, ci := range sc.comps {
		c := &d.comp[ci]
		needDC := sc.ss == 0 && sc.ah == 0
		needAC := sc.se > 0 || !d.progressive
		if needDC && d.huff[0][c.td] == nil || needAC && d.huff[1][c.ta] == nil {
			return FormatError("scan uses an undefined Huffman table")
		}
		if !d.progressive && !d.quantSet[c.tq] {
			return FormatError("scan uses an undefined quantisation table")
		}
	}
	if !d.allocated {
		if d.ncomp == 3 && d.isRGB() {
			return errFallback // RGB colour: image/jpeg decides
		}
		d.allocate()
	}
	d.scans++
	if d.scans > maxScans {
		return FormatError("too many scans")
	}
	d.prepareQuant()
	if d.progressive && sc.ss > d.comp[sc.comps[0]].sc.maxKeptZZ {
		// Every coefficient of this band is above the output scale's
		// Nyquist limit: skip its entropy-coded data to the next marker.
		d.skipScan()
		return nil
	}
	return d.decodeScan(&sc)
}

// isRGB follows image/jpeg: no JFIF marker and either an Adobe marker
// with transform 0 or components named R, G, B.
func (d *decoder) isRGB() bool {
	if d.jfif {
		return false
	}
	if d.adobe && d.adobeTransform == 0 {
		return true
	}
	return d.comp[0].id == 'R' && d.comp[1].id == 'G' && d.comp[2].id == 'B'
}

func (d *decoder) allocate() {
	d.allocated = true
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		if d.progressive {
			c.coefs = make([]int16, c.bw*c.bh*64)
		} else {
			c.stride = c.bw * c.sc.bs
			c.pix = make([]uint8, c.stride*c.bh*c.sc.bs)
		}
	}
}

// skipScan moves d.pos to the next marker that is not a restart marker.
func (d *decoder) skipScan() {
	p := d.pos
	for p+1 < len(d.data) {
		if d.data[p] == 0xFF {
			m := d.data[p+1]
			if m != 0x00 && m != 0xFF && (m < mRST0 || m > mRST7) {
				break
			}
		}
		p++
	}
	d.pos = p
}

// decodeScan decodes one scan's entropy-coded data, block by block, in
// MCU order (interleaved scans) or raster order (single component).
func (d *decoder) decodeScan(sc *scan) error {
	d.br = bitReader{data: d.data, pos: d.pos}
	for _, ci := range sc.comps {
		d.comp[ci].pred = 0
	}
	d.eobrun = 0

	var block func(c *component, bx, by int) error
	switch {
	case !d.progressive:
		block = d.blockSequential
	case sc.ss == 0 && sc.ah == 0:
		block = func(c *component, bx, by int) error { return d.blockDCFirst(c, bx, by, sc.al) }
	case sc.ss == 0:
		block = func(c *component, bx, by int) error { return d.blockDCRefine(c, bx, by, sc.al) }
	case sc.ah == 0:
		block = func(c *component, bx, by int) error { return d.blockACFirst(c, bx, by, sc) }
	default:
		block = func(c *component, bx, by int) error { return d.blockACRefine(c, bx, by, sc) }
	}

	var mcusX, mcusY int
	single := len(sc.comps) == 1
	if single {
		c := &d.comp[sc.comps[0]]
		mcusX, mcusY = c.sbw, c.sbh
	} else {
		mcusX, mcusY = d.mcusX, d.mcusY
	}
	total := mcusX * mcusY
	rst := 0
	for my := 0; my < mcusY; my++ {
		for mx := 0; mx < mcusX; mx++ {
			if single {
				if err := block(&d.comp[sc.comps[0]], mx, my); err != nil {
					return err
				}
			} else {
				for _, ci := range sc.comps {
					c := &d.comp[ci]
					for v := 0; v < c.v; v++ {
						for h := 0; h < c.h; h++ {
							if err := block(c, mx*c.h+h, my*c.v+v); err != nil {
								return err
							}
						}
					}
				}
			}
			if d.br.overrun() {
				return errShortData
			}
			if n := my*mcusX + mx + 1; d.ri > 0 && n%d.ri == 0 && n < total {
				if err := d.restart(mRST0 + uint8(rst)); err != nil {
					return err
				}
				rst = (rst + 1) & 7
				for _, ci := range sc.comps {
					d.comp[ci].pred = 0
				}
				d.eobrun = 0
			}
		}
	}
	d.pos = d.br.pos
	return nil
}

// restart expects the restart marker m after the bits of the interval just
// decoded. Data bytes before it are skipped, as image/jpeg does; any other
// marker is an error.
func (d *decoder) restart(m uint8) error {
	d.br.reset()
	p := d.br.pos
	for p+1 < len(d.data) {
		if d.data[p] != 0xFF {
			p++
			continue
		}
		switch n := d.data[p+1]; {
		case n == m:
			d.br.pos = p + 2
			return nil
		case n == 0x00 || n == 0xFF:
			p++
		default:
			return FormatError("bad restart marker")
		}
	}
	return errShortData
}

// blockSequential decodes one block of a baseline or extended sequential
// scan and writes its samples at the output scale. Only the coefficients
// the scale needs are dequantised and stored (folded, below full scale);
// the rest are decoded and dropped into blk[64].
//
// This is the hot loop of a decode. The bit buffer lives in locals for the
// whole block (the compiler keeps them in registers) and goes back to the
// bitReader only around a refill or a long code.
func (d *decoder) blockSequential(c *component, bx, by int) error {
	br := &d.br
	acT := d.huff[1][c.ta]
	qz := &c.mul
	blk := &d.blk
	slot := &c.sc.slot

	if err := d.decodeDC(c); err != nil {
		return err
	}
	blk[0] = c.pred * qz[0] // slot[0] is 0 at every scale
	nz := false
	acc, n := br.acc, br.n
	for k := 1; k < 64; {
		if n < 32 {
			br.acc, br.n = acc, n
			br.fill()
			acc, n = br.acc, br.n
		}
		if f := acT.fastAC[acc>>(64-lutBits)]; f != 0 {
			l := uint(f & 15)
			k += int(f>>4) & 15
			if k > 63 {
				return errBadCoef
			}
			acc <<= l
			n -= l
			i := slot[k]
			blk[i] += (f >> 16) * qz[k]
			if i < 64 {
				nz = true
			}
			k++
			continue
		}
		var rs int32
		if e := acT.lut[acc>>(64-lutBits)]; e != 0 {
			l := uint(e >> 8)
			acc <<= l
			n -= l
			rs = int32(e & 0xFF)
		} else {
			br.acc, br.n = acc, n
			rs = br.decode(acT)
			acc, n = br.acc, br.n
			if rs < 0 {
				return errBadHuffman
			}
		}
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			if r != 15 {
				break // end of block
			}
			k += 16
			continue
		}
		k += r
		if k > 63 {
			return errBadCoef
		}
		v := int32(acc >> (64 - s))
		acc <<= s
		n -= s
		i := slot[k]
		blk[i] += extend(v, s) * qz[k]
		if i < 64 {
			nz = true
		}
		k++
	}
	br.acc, br.n = acc, n
	d.output(c, bx, by, nz)
	return nil
}

// output transforms d.blk into block (bx, by) of c's plane and clears the
// slots it used.
func (d *decoder) output(c *component, bx, by int, nz bool) {
	bs := c.sc.bs
	off := by*bs*c.stride + bx*bs
	dst := c.pix[off:]
	blk := &d.blk
	if !nz {
		// Only the mean is non-zero: every sample is the same, exactly the
		// value the transforms would give.
		sh := 3 + c.sc.frac
		v := clamp((blk[0] + 128<<sh + 1<<(sh-1)) >> sh)
		for r := 0; r < bs; r++ {
			row := dst[r*c.stride : r*c.stride+bs]
			for i := range row {
				row[i] = v
			}
		}
		blk[0] = 0
		return
	}
	c.sc.idct((*[64]int32)(blk[:64]), dst, c.stride)
	// Clear the slots this scale uses, with plain stores: a clear() call
	// per row costs more than the stores themselves.
	switch bs {
	case 8:
		*blk = [65]int32{}
	case 4:
		*(*[4]int32)(blk[0:]) = [4]int32{}
		*(*[4]int32)(blk[8:]) = [4]int32{}
		*(*[4]int32)(blk[16:]) = [4]int32{}
		*(*[4]int32)(blk[24:]) = [4]int32{}
	default:
		blk[0], blk[1], blk[8], blk[9] = 0, 0, 0, 0
	}
}

func (d *decoder) coefBlock(c *component, bx, by int) *[64]int16 {
	i := (by*c.bw + bx) * 64
	return (*[64]int16)(c.coefs[i : i+64])
}

// decodeDC decodes a block's DC difference and adds it to c's prediction;
// sequential and first progressive DC scans code it the same way.
func (d *decoder) decodeDC(c *component) error {
	br := &d.br
	if br.n < 32 {
		br.fill()
	}
	s := br.decode(d.huff[0][c.td])
	if s < 0 {
		return errBadHuffman
	}
	if s > 0 {
		if s > 15 {
			return FormatError("bad DC magnitude")
		}
		c.pred += extend(br.bits(uint(s)), uint(s))
	}
	return nil
}

func (d *decoder) blockDCFirst(c *component, bx, by int, al int) error {
	if err := d.decodeDC(c); err != nil {
		return err
	}
	d.coefBlock(c, bx, by)[0] = int16(c.pred * (1 << al))
	return nil
}

func (d *decoder) blockDCRefine(c *component, bx, by int, al int) error {
	if d.br.bit() {
		d.coefBlock(c, bx, by)[0] |= 1 << al
	}
	return nil
}

func (d *decoder) blockACFirst(c *component, bx, by int, sc *scan) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	br := &d.br
	t := d.huff[1][c.ta]
	b := d.coefBlock(c, bx, by)
	for k := sc.ss; k <= sc.se; k++ {
		if br.n < 32 {
			br.fill()
		}
		rs := br.decode(t)
		if rs < 0 {
			return errBadHuffman
		}
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			if r < 15 {
				d.eobrun = 1<<r - 1
				if r > 0 {
					d.eobrun += br.bits(uint(r))
				}
				break
			}
			k += 15
			continue
		}
		k += r
		if k > sc.se {
			return errBadCoef
		}
		b[zigzag[k]] = int16(extend(br.bits(s), s) * (1 << sc.al))
	}
	return nil
}

// blockACRefine is the successive-approximation refinement of an AC band
// (JPEG G.1.2.3): coefficients already non-zero get one correction bit
// each; runs count only the zero ones; a new coefficient is ±1 at this bit
// position.
func (d *decoder) blockACRefine(c *component, bx, by int, sc *scan) error {
	br := &d.br
	t := d.huff[1][c.ta]
	b := d.coefBlock(c, bx, by)
	p1 := int16(1) << sc.al
	refine := func(z uint8) {
		if v := b[z]; v != 0 && br.bit() && v&p1 == 0 {
			if v >= 0 {
				b[z] = v + p1
			} else {
				b[z] = v - p1
			}
		}
	}
	k := sc.ss
	if d.eobrun == 0 {
		for ; k <= sc.se; k++ {
			if br.n < 32 {
				br.fill()
			}
			rs := br.decode(t)
			if rs < 0 {
				return errBadHuffman
			}
			r, s := int(rs>>4), uint(rs&15)
			var val int16
			switch {
			case s == 0 && r < 15:
				d.eobrun = 1 << r
				if r > 0 {
					d.eobrun += br.bits(uint(r))
				}
			case s == 0: // ZRL: 16 zero coefficients
			case s == 1:
				val = p1
				if !br.bit() {
					val = -p1
				}
			default:
				return FormatError("bad magnitude in AC refinement")
			}
			if d.eobrun > 0 {
				break
			}
			// Skip r zero coefficients, refining the non-zero ones met on
			// the way, then place val at the next zero one.
			for ; k <= sc.se; k++ {
				z := zigzag[k]
				if b[z] != 0 {
					refine(z)
					continue
				}
				if r == 0 {
					if val != 0 {
						b[z] = val
					}
					break
				}
				r--
			}
		}
	}
	if d.eobrun > 0 {
		for ; k <= sc.se; k++ {
			refine(zigzag[k])
		}
		d.eobrun--
	}
	return nil
}

// finish runs at EOI: progressive coefficients are transformed, and the
// planes become the image.
func (d *decoder) finish() (image.Image, error) {
	if !d.sof || !d.allocated || d.scans == 0 {
		return nil, errNoImage
	}
	if d.progressive {
		for i := 0; i < d.ncomp; i++ {
			c := &d.comp[i]
			if !d.quantSet[c.tq] {
				return nil, FormatError("undefined quantisation table")
			}
			c.stride = c.bw * c.sc.bs
			c.pix = make([]uint8, c.stride*c.bh*c.sc.bs)
			d.prepareQuant()
			q, sc := &c.mul, c.sc
			for by := 0; by < c.bh; by++ {
				for bx := 0; bx < c.bw; bx++ {
					b := d.coefBlock(c, bx, by)
					nz := false
					for k := 1; k <= sc.maxKeptZZ; k++ {
						if v := b[zigzag[k]]; v != 0 && sc.slot[k] < 64 {
							d.blk[sc.slot[k]] += int32(v) * q[k]
							nz = true
						}
					}
					d.blk[0] = int32(b[0]) * q[0]
					d.output(c, bx, by, nz)
				}
			}
			c.coefs = nil
		}
	}
	w := (d.width + d.denom - 1) / d.denom
	h := (d.height + d.denom - 1) / d.denom
	r := image.Rect(0, 0, w, h)
	if d.ncomp == 1 {
		c := &d.comp[0]
		return &image.Gray{Pix: c.pix, Stride: c.stride, Rect: r}, nil
	}
	y, cb := &d.comp[0], &d.comp[1]
	ratio, _ := ratioOf(y.h/cb.h, y.v/cb.v)
	if d.chromaHalf {
		ratio = image.YCbCrSubsampleRatio420
	}
	return &image.YCbCr{
		Y: y.pix, Cb: cb.pix, Cr: d.comp[2].pix,
		YStride: y.stride, CStride: cb.stride,
		SubsampleRatio: ratio,
		Rect:           r,
	}, nil
}
