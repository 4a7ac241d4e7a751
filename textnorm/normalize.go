package textnorm

import (
	"sort"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Drop names a class of runes that a Normalizer leaves out.
type Drop uint8

const (
	// KeepAll drops nothing.
	KeepAll Drop = iota
	// DropSeparators drops what IsSeparator reports.
	DropSeparators
	// DropIgnorable drops what IsIgnorable reports.
	DropIgnorable
)

// Has reports whether d drops r.
func (d Drop) Has(r rune) bool {
	switch d {
	case DropSeparators:
		return IsSeparator(r)
	case DropIgnorable:
		return IsIgnorable(r)
	}
	return false
}

// Options say how a Normalizer turns each rune of the input into zero or
// more runes of the output. For each rune, in order:
//
//  1. Fold's width, space and marks foldings;
//  2. Numerals and Script replace the rune by its digit, letter or
//     simplified character;
//  3. the rune is dropped if Drop has it;
//  4. with Compat, NFKC replaces a rune that steps 1 and 2 left as it was
//     by its compatibility form (NFKC turns ．into ., a letter-like rune
//     into punctuation); Numerals and Script apply to the runes of that
//     form, and the ones Drop has are dropped;
//  5. Fold's case folding applies to what is left.
//
// Drop applies before NFKC, so a symbol with a compatibility form (㎏) is
// dropped by DropSeparators and DropIgnorable rather than spelt out.
// Numerals applies before Drop, so that a numeral written as a symbol or
// an emoji (❶, 🅥) is read rather than dropped. Every option works one
// input rune at a time, so that each output byte comes from exactly one
// input rune and a Form can map it back.
type Options struct {
	Fold Fold
	// Compat applies Unicode NFKC to each rune: full-width and half-width
	// forms, circled and super- or subscript digits, ligatures and unit
	// symbols (㎏) become the plain characters they stand for.
	Compat bool
	Drop   Drop
	// Script folds each traditional or variant Chinese character to the
	// simplified character OpenCC converts it to (極 → 极, 國 → 国, 爲 → 为),
	// one character for one, so that a word list in simplified characters
	// finds terms written in traditional ones. It is character by
	// character, not phrase by phrase: text compared this way is folded on
	// both sides, and a Form keeps its map back to the original.
	Script bool
	// Numerals folds every way of writing a digit to the ASCII digit:
	// Chinese numerals (〇 一 … 九, 零, the financial 壹 … 玖, 幺),
	// enclosed and dingbat digits (① ⑴ ⒈ ❶ ➀), Roman numerals Ⅰ–Ⅸ; and the
	// enclosed Latin letters (Ⓐ ⓥ ⒱ 🅥 🅰) to the ASCII letter. Sellers write
	// 第壹, 第①, 第Ⅰ and 加ⓥ to slip past 第一 and 加v.
	Numerals bool
}

// Normalizer applies Options to text. It is immutable and safe for
// concurrent use; build one per set of options and keep it.
type Normalizer struct {
	opts Options
	// ascii is what each ASCII byte becomes, or dropASCII: ASCII is most of
	// the non-Han text in listings and needs no decoding or NFKC.
	ascii [utf8.RuneSelf]byte
	// maps holds the Numerals and Script foldings, nil without them.
	maps *scriptTables
	// cacheTable holds the outcome of every rune of cachedRanges, built
	// once, on first use.
	cacheOnce  sync.Once
	cacheTable []rune
}

const dropASCII = 0xFF

// New returns a Normalizer for o.
func New(o Options) *Normalizer {
	n := &Normalizer{opts: o, maps: tablesFor(o.Script, o.Numerals)}
	for c := rune(0); c < utf8.RuneSelf; c++ {
		r := o.Fold.pre(c)
		if o.Drop.Has(r) {
			n.ascii[c] = dropASCII
			continue
		}
		// NFKC and the width and space foldings leave ASCII as it is.
		n.ascii[c] = byte(o.Fold.post(r))
	}
	return n
}

// Form is text as a Normalizer leaves it, with, for every byte of the
// normalised text, the byte offset in the original of the rune it came
// from. A Form can be reused through NormalizeInto to spare allocations.
//
// The offsets are kept as segments rather than one per byte: most of a
// listing's text (Han characters, ASCII) comes out as long as it went in,
// rune for rune, and such a run is one segment, which keeps normalising
// about as cheap as copying.
type Form struct {
	src  string
	text []byte
	segs []segment
	nfkc []byte // NFKC of one rune, kept to spare an allocation per call
}

// segment maps the normalised bytes from norm up to the next segment's
// norm back to the source. A positional segment is a run of runes that
// came out with as many bytes as they went in, so that normalised byte i
// lies in the rune of source byte src + i - norm; any other segment holds
// the output of the one rune at src.
type segment struct {
	norm, src  int32
	positional bool
}

// Bytes returns the normalised text. It is valid until the Form is reused.
func (f *Form) Bytes() []byte { return f.text }

// Len returns the length in bytes of the normalised text.
func (f *Form) Len() int { return len(f.text) }

// Source returns the original text.
func (f *Form) Source() string { return f.src }

// Offset returns the byte offset in the original text of the rune that
// byte i of the normalised text comes from.
func (f *Form) Offset(i int) int {
	k := sort.Search(len(f.segs), func(k int) bool { return int(f.segs[k].norm) > i }) - 1
	sg := f.segs[k]
	if !sg.positional {
		return int(sg.src)
	}
	p := int(sg.src) + i - int(sg.norm)
	for p > int(sg.src) && !utf8.RuneStart(f.src[p]) {
		p--
	}
	return p
}

// Span returns the byte span of the original text that normalised bytes
// [from, to) come from: from the start of the first byte's rune to the end
// of the last byte's rune, so that the span always cuts the original on
// rune boundaries. It needs from < to <= Len().
func (f *Form) Span(from, to int) (start, end int) {
	last := f.Offset(to - 1)
	_, size := utf8.DecodeRuneInString(f.src[last:])
	return f.Offset(from), last + size
}

// Cover returns the normalised bytes [from, to) that come from the runes
// of the original span [start, end): the inverse of Span, for a match
// found in the original text. It is empty (from == to) if normalising
// dropped the whole span.
func (f *Form) Cover(start, end int) (from, to int) {
	from = sort.Search(f.Len(), func(i int) bool { return f.Offset(i) >= start })
	to = from + sort.Search(f.Len()-from, func(i int) bool { return f.Offset(from+i) >= end })
	return from, to
}

// formWriter builds a Form's text and segments.
type formWriter struct {
	text []byte
	segs []segment
}

// positional records that the bytes appended from norm on come rune for
// rune, byte for byte, from the source at src.
func (w *formWriter) positional(norm, src int) {
	if k := len(w.segs) - 1; k >= 0 && w.segs[k].positional && int(w.segs[k].src)+norm-int(w.segs[k].norm) == src {
		return
	}
	w.segs = append(w.segs, segment{norm: int32(norm), src: int32(src), positional: true})
}

// appendRune appends r, the output of the source rune at src.
func (w *formWriter) appendRune(r rune, src int) {
	if k := len(w.segs) - 1; k < 0 || w.segs[k].positional || int(w.segs[k].src) != src {
		w.segs = append(w.segs, segment{norm: int32(len(w.text)), src: int32(src)})
	}
	w.text = utf8.AppendRune(w.text, r)
}

// Normalize returns the Form of s.
func (n *Normalizer) Normalize(s string) *Form {
	f := &Form{}
	n.NormalizeInto(f, s)
	return f
}

// String returns the normalised text of s.
func (n *Normalizer) String(s string) string {
	var f Form
	n.NormalizeInto(&f, s)
	return string(f.text)
}

// NormalizeInto makes f the Form of s, reusing f's buffers. Offsets are
// int32: the text must be shorter than 2 GiB.
func (n *Normalizer) NormalizeInto(f *Form, s string) {
	w := formWriter{text: f.text[:0], segs: f.segs[:0]}
	nfkc := f.nfkc[:0]
	for i := 0; i < len(s); {
		// The fast path: a run of ASCII the table keeps and of Han
		// characters that stay the same length, appended as one segment,
		// unchanged stretches of it in one copy.
		run, same, start := i, i, len(w.text)
		for i < len(s) {
			c := s[i]
			if c < utf8.RuneSelf {
				out := n.ascii[c]
				if out == dropASCII {
					break
				}
				if out != c {
					w.text = append(append(w.text, s[same:i]...), out)
					same = i + 1
				}
				i++
				continue
			}
			r, ok := han3(s, i)
			if !ok {
				break
			}
			if n.maps != nil {
				if to := n.maps.han[r-hanBase]; to != 0 {
					if to < 0x800 || to > 0xFFFF {
						break // a digit or a rune of another length
					}
					w.text = utf8.AppendRune(append(w.text, s[same:i]...), to)
					same = i + 3
				}
			}
			i += 3
		}
		if i > run {
			w.positional(start, run)
			w.text = append(w.text, s[same:i]...)
		}
		if i >= len(s) {
			break
		}
		// The slow path: one rune that is dropped, folded to another
		// length or spelt out by NFKC.
		c := s[i]
		if c < utf8.RuneSelf {
			i++ // dropped
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if IsHan(r) && n.maps != nil && n.maps.han[r-hanBase] != 0 {
			// Mapped to a digit or to a character of another length: the
			// results are left alone by every later step.
			w.appendRune(n.maps.han[r-hanBase], i)
			i += size
			continue
		}
		if v := n.cached(r); v != 0 {
			if v != dropRune {
				w.appendRune(v, i)
			}
			i += size
			continue
		}
		nfkc = n.rune(&w, nfkc, s[i:i+size], r, i)
		i += size
	}
	f.src, f.text, f.segs, f.nfkc = s, w.text, w.segs, nfkc
}

// rune appends to w what the options make of r, written as src in the
// source at offset at, and returns the NFKC buffer for reuse.
func (n *Normalizer) rune(w *formWriter, nfkc []byte, src string, r rune, at int) []byte {
	fr := n.mapRune(n.opts.Fold.pre(r))
	switch {
	case n.opts.Drop.Has(fr):
	case n.opts.Compat && fr == r:
		// The foldings of steps 1 and 2 produce ASCII, digits and
		// simplified characters, which NFKC leaves as they are, so only an
		// unfolded rune needs it.
		nfkc = norm.NFKC.AppendString(nfkc[:0], src)
		for _, cr := range string(nfkc) {
			if cr = n.mapRune(cr); !n.opts.Drop.Has(cr) {
				w.appendRune(n.opts.Fold.post(cr), at)
			}
		}
	default:
		w.appendRune(n.opts.Fold.post(fr), at)
	}
	return nfkc
}

// cachedRanges are the blocks of the runes that listings put between
// words (general punctuation, symbols, arrows, dingbats, CJK symbols and
// kana, full-width forms), whose outcome a Normalizer caches.
var cachedRanges = [...][2]rune{{0x2000, 0x2C00}, {0x3000, 0x3400}, {0xFE30, 0xFE50}, {0xFF00, 0xFFF0}}

// dropRune marks a cached rune that the options drop.
const dropRune = -1

// cached returns what the options make of r if r is in cachedRanges and
// becomes one rune (or dropRune), else 0.
func (n *Normalizer) cached(r rune) rune {
	k := 0
	for _, rg := range cachedRanges {
		if r >= rg[0] && r < rg[1] {
			return n.cache()[k+int(r-rg[0])]
		}
		k += int(rg[1] - rg[0])
	}
	return 0
}

// cache is built on first use: the slow path run once on every rune of
// cachedRanges, keeping the outcomes that are one rune or none.
func (n *Normalizer) cache() []rune {
	n.cacheOnce.Do(func() {
		var w formWriter
		var nfkc []byte
		for _, rg := range cachedRanges {
			for r := rg[0]; r < rg[1]; r++ {
				w.text, w.segs = w.text[:0], w.segs[:0]
				nfkc = n.rune(&w, nfkc, string(r), r, 0)
				out, size := utf8.DecodeRune(w.text)
				switch {
				case len(w.text) == 0:
					out = dropRune
				case size != len(w.text):
					out = 0
				}
				n.cacheTable = append(n.cacheTable, out)
			}
		}
	})
	return n.cacheTable
}

// han3 decodes the three-byte rune at s[i] if it is a Han character.
func han3(s string, i int) (rune, bool) {
	if i+2 >= len(s) {
		return 0, false
	}
	c, c1, c2 := s[i], s[i+1], s[i+2]
	if c < 0xE3 || c > 0xE9 || c1&0xC0 != 0x80 || c2&0xC0 != 0x80 {
		return 0, false
	}
	r := rune(c&0x0F)<<12 | rune(c1&0x3F)<<6 | rune(c2&0x3F)
	return r, IsHan(r)
}

// mapRune applies Numerals and Script to a rune outside the Han fast path.
func (n *Normalizer) mapRune(r rune) rune {
	if n.maps != nil {
		if to, ok := n.maps.mapRune(r); ok {
			return to
		}
	}
	return r
}
