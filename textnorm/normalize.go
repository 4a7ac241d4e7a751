package textnorm

import (
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
type Form struct {
	src   string
	text  []byte
	start []int32
	nfkc  []byte // NFKC of one rune, kept to spare an allocation per call
}

// Bytes returns the normalised text. It is valid until the Form is reused.
func (f *Form) Bytes() []byte { return f.text }

// Len returns the length in bytes of the normalised text.
func (f *Form) Len() int { return len(f.text) }

// Source returns the original text.
func (f *Form) Source() string { return f.src }

// Offset returns the byte offset in the original text of the rune that
// byte i of the normalised text comes from.
func (f *Form) Offset(i int) int { return int(f.start[i]) }

// Span returns the byte span of the original text that normalised bytes
// [from, to) come from: from the start of the first byte's rune to the end
// of the last byte's rune, so that the span always cuts the original on
// rune boundaries. It needs from < to <= Len().
func (f *Form) Span(from, to int) (start, end int) {
	last := int(f.start[to-1])
	_, size := utf8.DecodeRuneInString(f.src[last:])
	return int(f.start[from]), last + size
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
	text, start, nfkc := f.text[:0], f.start[:0], f.nfkc[:0]
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if out := n.ascii[c]; out != dropASCII {
				text = append(text, out)
				start = append(start, int32(i))
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if IsHan(r) {
			if n.maps != nil {
				if to := n.maps.han[r-hanBase]; to != 0 {
					// Digits and simplified characters are left alone by
					// every later step but case folding of a digit.
					text, start = appendRune(text, start, to, i)
					i += size
					continue
				}
			}
			text = append(text, s[i:i+size]...)
			for k := 0; k < size; k++ {
				start = append(start, int32(i))
			}
			i += size
			continue
		}
		fr := n.mapRune(n.opts.Fold.pre(r))
		switch {
		case n.opts.Drop.Has(fr):
		case n.opts.Compat && fr == r:
			// The foldings of steps 1 and 2 produce ASCII, digits and
			// simplified characters, which NFKC leaves as they are, so only
			// an unfolded rune needs it.
			nfkc = norm.NFKC.AppendString(nfkc[:0], s[i:i+size])
			for _, cr := range string(nfkc) {
				if cr = n.mapRune(cr); !n.opts.Drop.Has(cr) {
					text, start = appendRune(text, start, n.opts.Fold.post(cr), i)
				}
			}
		default:
			text, start = appendRune(text, start, n.opts.Fold.post(fr), i)
		}
		i += size
	}
	f.src, f.text, f.start, f.nfkc = s, text, start, nfkc
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

// appendRune appends r to text and, for each of its bytes, the offset of
// the original rune to start.
func appendRune(text []byte, start []int32, r rune, at int) ([]byte, []int32) {
	w := len(text)
	text = utf8.AppendRune(text, r)
	for k := w; k < len(text); k++ {
		start = append(start, int32(at))
	}
	return text, start
}
