package rules

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/listinggen/listinggen/textnorm"
)

// token is one phrase of a title with its class.
type token struct {
	text  string
	class class
}

// unitRunes may follow a number as its unit ("3-6岁", "2米", "8支").
const unitRunes = "岁米支件个寸克斤升码层只片套瓦毫厘"

// segment splits a cleaned title into phrases. Spaces and punctuation split
// first (textnorm.Chunks) (many supplier titles are already space-separated); each chunk is
// then cut by forward maximum matching against the lexicon. CJK text that
// matches nothing stays one phrase rather than being cut into guesses, so a
// reordered title never splits a word the lexicon does not know.
func segment(title string, lx *lexicon) []token {
	var out []token
	for _, chunk := range textnorm.Chunks(title) {
		out = append(out, matchChunk([]rune(chunk), lx)...)
	}
	return out
}

func matchChunk(rs []rune, lx *lexicon) []token {
	var out []token
	var unknown []rune
	flushUnknown := func() {
		if len(unknown) > 0 {
			out = append(out, token{text: string(unknown), class: classUnknown})
			unknown = unknown[:0]
		}
	}
	for i := 0; i < len(rs); {
		if n, c := lx.longestAt(rs, i); n > 0 {
			flushUnknown()
			out = append(out, token{text: string(rs[i : i+n]), class: c})
			i += n
			continue
		}
		if rs[i] < utf8.RuneSelf {
			// An ASCII run (model numbers, sizes) and a unit that follows it.
			// It stops where a lexicon phrase starts, so 120WType-C is two phrases.
			j := i + 1
			for j < len(rs) && rs[j] < utf8.RuneSelf {
				if n, _ := lx.longestAt(rs, j); n > 0 && !textnorm.IsASCIIAlnum(rs[j-1]) || n > 0 && rs[j] >= 'A' && rs[j] <= 'Z' {
					break
				}
				if isMeasure(rs[i:j]) && unicode.IsDigit(rs[j]) {
					break // 120W2米6A is three measures: 120W, 2米, 6A
				}
				j++
			}
			if j < len(rs) && strings.ContainsRune(unitRunes, rs[j]) {
				j++
			}
			flushUnknown()
			out = append(out, token{text: string(rs[i:j]), class: classUnknown})
			i = j
			continue
		}
		unknown = append(unknown, rs[i])
		i++
	}
	flushUnknown()
	return out
}

// isMeasure reports whether rs is a number and a short unit of letters
// (120W, 6A, 1.5m, 500ml): a digit after it starts the next measure, as in
// supplier titles that glue them together. Model numbers start with
// letters (DSC-W120P) or carry more than a unit (RTX4090) and stay whole.
func isMeasure(rs []rune) bool {
	i := 0
	for i < len(rs) && (unicode.IsDigit(rs[i]) || rs[i] == '.' && i > 0) {
		i++
	}
	letters := len(rs) - i
	if i == 0 || letters < 1 || letters > 3 {
		return false
	}
	for _, r := range rs[i:] {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// longestAt returns the length and class of the longest lexicon phrase
// starting at rs[i], or 0.
func (lx *lexicon) longestAt(rs []rune, i int) (int, class) {
	max := lx.maxLen
	if len(rs)-i < max {
		max = len(rs) - i
	}
	for n := max; n >= 1; n-- {
		if c, ok := lx.phrases[textnorm.LowerASCII(string(rs[i:i+n]))]; ok {
			// An ASCII phrase must not end inside a longer ASCII word.
			if end := i + n; end < len(rs) && rs[end-1] < utf8.RuneSelf && rs[end] < utf8.RuneSelf &&
				(unicode.IsLetter(rs[end]) || unicode.IsDigit(rs[end])) {
				continue
			}
			return n, c
		}
	}
	return 0, classUnknown
}
