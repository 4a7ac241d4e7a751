package textnorm

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// IsSeparator reports white space, punctuation and symbols: the runes that
// separate words but do not make them, full-width (，。【】) or not.
func IsSeparator(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
}

// IsIgnorable reports the runes that carry no meaning inside a term and
// that sellers insert to dodge word lists: separators, invisible format
// characters (zero-width space and joiner, byte-order mark, bidi marks),
// non-spacing marks, emoji and their parts, ASCII control characters and
// the replacement character that invalid UTF-8 decodes to.
func IsIgnorable(r rune) bool {
	return IsSeparator(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Mn, r) ||
		IsEmoji(r) || r == utf8.RuneError || r < 0x20 || r == 0x7F
}

// IsEmoji reports whether r is an emoji or a part of an emoji sequence
// (variation selector, zero-width joiner, keycap, skin tone, tag).
// Platforms refuse emoji in titles, and a term split by one is still the
// term.
func IsEmoji(r rune) bool {
	switch {
	case r >= 0x1F000 && r <= 0x1FAFF: // pictographs, emoticons, transport, flags, skin tones
		return true
	case r >= 0x2600 && r <= 0x27BF: // misc symbols and dingbats (☀ ✨ ❤)
		return true
	case r >= 0x2B00 && r <= 0x2BFF && r != 0x2B1C: // arrows and stars (⭐)
		return true
	case r >= 0x2190 && r <= 0x21FF, r >= 0x2300 && r <= 0x23FF: // arrows, technical (⌚ ⏰)
		return true
	case r == 0x200D, r == 0xFE0F, r == 0xFE0E, r == 0x20E3, r >= 0xE0020 && r <= 0xE007F:
		return true
	case r == 0x3030, r == 0x303D, r == 0x3297, r == 0x3299, r == 0x00A9, r == 0x00AE, r == 0x2122:
		return true
	}
	return false
}

// RemoveEmoji deletes every rune IsEmoji reports from s.
func RemoveEmoji(s string) string {
	return strings.Map(func(r rune) rune {
		if IsEmoji(r) {
			return -1
		}
		return r
	}, s)
}

// IsHan reports the CJK unified ideographs of the basic block and
// extension A: most listing text is made of them, and every folding of
// this package but Script and Numerals leaves them as they are, which lets
// a Normalizer copy them without looking them up, or with one array look-up
// when those options are set.
func IsHan(r rune) bool { return r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF }

// IsASCIILetter reports A–Z and a–z.
func IsASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// IsASCIIDigit reports 0–9.
func IsASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

// IsASCIIAlnum reports ASCII letters and digits: the runes of Latin words,
// model numbers and sizes inside Chinese text.
func IsASCIIAlnum(r rune) bool { return IsASCIILetter(r) || IsASCIIDigit(r) }
