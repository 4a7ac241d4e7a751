package compliance

import (
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalized is text prepared for matching: NFKC (full-width → half-width,
// compatibility forms folded), lower-cased, with spaces, punctuation,
// symbols, emoji and invisible format characters removed, so that 最 好,
// 第-一, 顶\u200b级 and ＮＯ．１ match 最好, 第一, 顶级 and no.1. start maps every
// byte of text back to the byte offset of the original rune it came from,
// so violations are reported where the seller wrote them.
type normalized struct {
	text  []byte
	start []int32
}

// ignorable reports runes that sellers insert to dodge word lists and that
// carry no meaning inside a term.
func ignorable(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) ||
		unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Mn, r) || isEmoji(r) || r == utf8.RuneError
}

// asciiClass maps each ASCII byte to what normalize writes for it: the byte
// itself lower-cased, or 0 for an ignorable one (space, punctuation, control).
var asciiClass = func() (t [utf8.RuneSelf]byte) {
	for c := 0; c < utf8.RuneSelf; c++ {
		switch {
		case c >= 'A' && c <= 'Z':
			t[c] = byte(c) + 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			t[c] = byte(c)
		}
	}
	return t
}()

// isHan reports CJK unified ideographs, where NFKC and lower-casing are the
// identity: listing text is mostly these, so they take the fast path.
func isHan(r rune) bool { return r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF }

func normalize(s string) normalized {
	return normalizeInto(normalized{}, s)
}

// normalizeInto reuses n's buffers, so the matcher can pool them.
func normalizeInto(n normalized, s string) normalized {
	n.text, n.start = n.text[:0], n.start[:0]
	var scratch [32]byte
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if out := asciiClass[c]; out != 0 {
				n.text = append(n.text, out)
				n.start = append(n.start, int32(i))
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case isHan(r):
			n.text = append(n.text, s[i:i+size]...)
			for k := 0; k < size; k++ {
				n.start = append(n.start, int32(i))
			}
		case ignorable(r):
		default:
			for _, fr := range string(norm.NFKC.AppendString(scratch[:0], s[i:i+size])) {
				if ignorable(fr) {
					continue // NFKC can turn a letter-like rune into punctuation (． → .)
				}
				w := len(n.text)
				n.text = utf8.AppendRune(n.text, unicode.ToLower(fr))
				for k := w; k < len(n.text); k++ {
					n.start = append(n.start, int32(i))
				}
			}
		}
		i += size
	}
	return n
}

// span returns the original byte span of normalised bytes [from, to).
func (n normalized) span(orig string, from, to int) (int, int) {
	last := int(n.start[to-1])
	_, size := utf8.DecodeRuneInString(orig[last:])
	return int(n.start[from]), last + size
}

// normalizeTerm is normalize for dictionary entries.
func normalizeTerm(s string) string { return string(normalize(s).text) }

func isASCIILetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

var normalizedPool = sync.Pool{New: func() any { return new(normalized) }}
