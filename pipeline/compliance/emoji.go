package compliance

import "github.com/listinggen/listinggen/textnorm"

// span is a byte range of a string.
type span struct{ start, end int }

// emojiRuns returns the byte ranges of runs of emoji in s.
func emojiRuns(s string) []span {
	var out []span
	start := -1
	for i, r := range s {
		if textnorm.IsEmoji(r) {
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
