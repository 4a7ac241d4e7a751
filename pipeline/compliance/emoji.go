package compliance

import "strings"

// isEmoji reports whether r is an emoji or a part of an emoji sequence
// (variation selector, zero-width joiner, keycap, skin tone, tag).
func isEmoji(r rune) bool {
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

// span is a byte range of a string.
type span struct{ start, end int }

// emojiRuns returns the byte ranges of runs of emoji in s.
func emojiRuns(s string) []span {
	var out []span
	start := -1
	for i, r := range s {
		if isEmoji(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, span{start: start, end: i})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, span{start: start, end: len(s)})
	}
	return out
}

// RemoveEmoji deletes every emoji from s.
func RemoveEmoji(s string) string {
	return strings.Map(func(r rune) rune {
		if isEmoji(r) {
			return -1
		}
		return r
	}, s)
}
