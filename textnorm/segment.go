package textnorm

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Chunks splits a title on white space and on punctuation and symbols,
// except punctuation inside an ASCII run, which is part of a size, a range
// or a model name (1.5m, 3-6岁, Type-C, 100%). Supplier titles are often
// already space-separated; the chunks are the phrases a rewriter may
// reorder without cutting a word.
func Chunks(s string) []string {
	rs := []rune(s)
	alnum := func(i int) bool { return i >= 0 && i < len(rs) && IsASCIIAlnum(rs[i]) }
	var chunks []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			chunks = append(chunks, string(cur))
			cur = cur[:0]
		}
	}
	for i, r := range rs {
		switch {
		case unicode.IsSpace(r):
			flush()
		case r == '%' && alnum(i-1):
			cur = append(cur, r)
		case strings.ContainsRune(".-+/", r) && alnum(i-1) && alnum(i+1):
			cur = append(cur, r)
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			flush()
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return chunks
}

// Words splits s into runs of letters and digits of any script; a run of
// CJK text is one word.
func Words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// JoinWords concatenates phrases the way Chinese titles are written: a
// space only where an ASCII letter or digit would otherwise run into the
// next phrase (iPhone 15 手机壳, but 手机壳防摔), since the script change
// already separates words and every space counts against a title limit.
func JoinWords(ws []string) string {
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			prev, _ := utf8.DecodeLastRuneInString(ws[i-1])
			next, _ := utf8.DecodeRuneInString(w)
			if IsASCIIAlnum(prev) || IsASCIIAlnum(next) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(w)
	}
	return b.String()
}
