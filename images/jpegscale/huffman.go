package jpegscale

import "encoding/binary"

// Entropy decoding works on the whole file in memory rather than on an
// io.Reader: the caller (the image pipeline) already holds the bytes, and a
// slice lets the bit reader refill with plain indexing instead of a call per
// byte, which is where image/jpeg spends much of its time.

// lutBits is the width of the Huffman look-up tables. Nine bits resolve
// almost every code of a photo's tables in one step while a table still
// fits in a few cache lines per entry kind.
const lutBits = 9

// huffTable is one decoded DHT table with look-up tables for short codes
// and the canonical limits for the rest.
type huffTable struct {
	// lut maps the next lutBits bits to length<<8 | symbol, or 0 when the
	// code is longer than lutBits.
	lut [1 << lutBits]uint16
	// fastAC, for AC tables, maps the next lutBits bits to a whole
	// coefficient when its code and its extra bits both fit:
	// value<<16 | run<<4 | bits used. Zero means "not available". Photos'
	// AC coefficients are mostly small, so this skips the separate
	// receive-and-extend step for most of them.
	fastAC [1 << lutBits]int32
	// maxCode[l] is one past the last code of length l (the would-be first
	// code when there is none), so a code of length l is valid when it is
	// below it; valOff[l] turns such a code into an index into vals.
	maxCode [17]int32
	valOff  [17]int32
	vals    [256]uint8
	nvals   int
}

// build fills the tables from the DHT code counts (counts[l-1] codes of
// length l) and symbols. It reports false when the counts do not describe
// a valid prefix code.
func (h *huffTable) build(counts *[16]uint8, vals []uint8, ac bool) bool {
	*h = huffTable{}
	h.nvals = copy(h.vals[:], vals)
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		if code+n > 1<<l {
			return false // more codes than the length can hold
		}
		h.valOff[l] = k - code
		for i := int32(0); i < n; i++ {
			if l <= lutBits {
				sym := h.vals[k+i]
				first := (code + i) << (lutBits - l)
				for j := int32(0); j < 1<<(lutBits-l); j++ {
					h.lut[first+j] = uint16(l)<<8 | uint16(sym)
				}
			}
		}
		code += n
		k += n
		h.maxCode[l] = code
		code <<= 1
	}
	if ac {
		h.buildFastAC()
	}
	return true
}

func (h *huffTable) buildFastAC() {
	for p, e := range h.lut {
		if e == 0 {
			continue
		}
		l := int(e >> 8)
		rs := uint8(e)
		run, size := int(rs>>4), int(rs&15)
		if size == 0 || l+size > lutBits {
			continue
		}
		v := int32(p>>(lutBits-l-size)) & (1<<size - 1)
		if v < 1<<(size-1) {
			v += -1<<size + 1
		}
		h.fastAC[p] = v<<16 | int32(run)<<4 | int32(l+size)
	}
}

// bitReader reads the entropy-coded data of a scan MSB first, removing the
// 0x00 stuffed after each 0xFF data byte. It stops at a marker and from
// then on feeds zero bits, counting them in fake: decoding that consumes
// one of them has run past the data, which is reported as truncation.
type bitReader struct {
	data []byte
	pos  int
	acc  uint64 // valid bits left-aligned at bit 63
	n    uint   // valid bits in acc (real and fake)
	fake uint   // trailing bits of acc that are zero padding past a marker
}

// fill tops acc up to at least 57 bits.
func (br *bitReader) fill() {
	// Fast path: the next 8 bytes hold no 0xFF (so no stuffing and no
	// marker): take as many whole bytes as fit in one go.
	if br.fake == 0 && br.pos+8 <= len(br.data) {
		w := binary.BigEndian.Uint64(br.data[br.pos:])
		if x := ^w; (x-0x0101010101010101)&^x&0x8080808080808080 == 0 {
			k := (64 - br.n) / 8 // whole bytes that fit
			w = w >> (64 - 8*k) << (64 - 8*k)
			br.acc |= w >> br.n
			br.n += 8 * k
			br.pos += int(k)
			return
		}
	}
	for br.n <= 56 {
		var b byte
		if br.fake == 0 && br.pos < len(br.data) {
			b = br.data[br.pos]
			if b == 0xFF {
				if br.pos+1 < len(br.data) && br.data[br.pos+1] == 0x00 {
					br.pos += 2
				} else {
					// A marker (or the end of the file): stay on it.
					b = 0
					br.fake += 8
				}
			} else {
				br.pos++
			}
		} else {
			br.fake += 8
		}
		br.acc |= uint64(b) << (56 - br.n)
		br.n += 8
	}
}

// overrun reports whether decoding consumed bits that are not in the data.
func (br *bitReader) overrun() bool { return br.fake > br.n }

// reset drops any buffered bits, as at a restart marker or the end of a
// scan. Bits buffered but not consumed are padding; bytes read ahead of the
// marker are never more than the padding, since fill stops at markers.
func (br *bitReader) reset() {
	br.acc, br.n, br.fake = 0, 0, 0
}

// bits returns the next s bits (s <= 16) as an unsigned value. The caller
// has made sure at least s bits are buffered.
func (br *bitReader) bits(s uint) int32 {
	v := int32(br.acc >> (64 - s))
	br.acc <<= s
	br.n -= s
	return v
}

func (br *bitReader) bit() bool {
	if br.n < 1 {
		br.fill()
	}
	v := br.acc>>63 != 0
	br.acc <<= 1
	br.n--
	return v
}

// decode returns the next Huffman symbol of t, or -1 for a code that is not
// in the table. The caller has made sure at least 16 bits are buffered.
func (br *bitReader) decode(t *huffTable) int32 {
	if e := t.lut[br.acc>>(64-lutBits)]; e != 0 {
		l := uint(e >> 8)
		br.acc <<= l
		br.n -= l
		return int32(e & 0xFF)
	}
	for l := uint(lutBits + 1); l <= 16; l++ {
		code := int32(br.acc >> (64 - l))
		if code < t.maxCode[l] {
			i := code + t.valOff[l]
			if i < 0 || int(i) >= t.nvals {
				return -1
			}
			br.acc <<= l
			br.n -= l
			return int32(t.vals[i])
		}
	}
	return -1
}

// extend turns the s-bit magnitude category value v into a signed value
// (JPEG F.2.2.1).
func extend(v int32, s uint) int32 {
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}
