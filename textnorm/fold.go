// Package textnorm is the one place where listing text is normalised for
// comparison: Unicode compatibility folding (NFKC), full-width to
// half-width, case folding, diacritics, traditional to simplified Chinese,
// numerals to digits, dropping white space, punctuation, symbols, emoji and
// invisible characters, splitting titles into chunks and joining phrases
// across CJK/Latin boundaries.
//
// Callers compare text in different ways (the compliance matcher must see
// through 顶\u200b级 and ＮＯ．１, the grounding check must keep rune offsets,
// the hashing embedder's vectors must never change), so the package offers
// small pieces that each caller composes, rather than one canonical form:
//
//   - Fold: rune-for-rune foldings (width, ideographic space, case,
//     diacritics). The output has as many runes as the input, so offsets
//     carry over.
//   - Normalizer: folding, traditional to simplified characters (from
//     OpenCC's tables, generated into script_table.go), numerals to digits,
//     NFKC and dropping runes of a class, producing a Form that maps every
//     byte back to the original text, so that a match in the normalised
//     text is reported where the seller wrote it.
//   - Chunks, Words, JoinWords: splitting and joining titles.
//   - LowerASCII, RemoveSpace, CollapseSpace, Squash, KeepASCIIAlnum: the
//     string keys that deduplicate lines and phrases.
//
// It depends on the standard library and golang.org/x/text only (the
// OpenCC converter is needed by go generate, not at run time), so that every
// layer (pipeline checks, adapters, test fakes) can import it.
package textnorm

import (
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Fold is a set of rune-for-rune foldings. Applying a Fold never adds or
// removes a rune, so an offset into folded runes is an offset into the
// input.
type Fold uint8

const (
	// FoldWidth turns the full-width forms of ASCII (U+FF01–U+FF5E, as in
	// ＡＢＣ１２３！) into ASCII. Other full-width and half-width forms are
	// left alone; Options.Compat covers them.
	FoldWidth Fold = 1 << iota
	// FoldSpace turns the ideographic space U+3000 into an ASCII space.
	FoldSpace
	// FoldASCIICase lower-cases A–Z only, leaving every other rune as it
	// is, for callers whose offsets or keys must not depend on Unicode's
	// case tables.
	FoldASCIICase
	// FoldCase lower-cases with unicode.ToLower.
	FoldCase
	// FoldMarks takes the diacritics off Latin letters (ā á ǎ à → a,
	// ü → u, É → E), so that pinyin written with tone marks (最dī价)
	// reads as the plain pinyin a word list holds.
	FoldMarks
)

// pre applies the foldings that come before dropping and NFKC: width,
// space and marks.
func (f Fold) pre(r rune) rune {
	switch {
	case f&FoldWidth != 0 && r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case f&FoldSpace != 0 && r == 0x3000:
		return ' '
	case f&FoldMarks != 0 && r >= 0xC0 && r < 0x1F00:
		if base, ok := latinBase()[r]; ok {
			return base
		}
	}
	return r
}

// latinBase maps each precomposed Latin letter whose canonical
// decomposition is an ASCII letter and combining marks to that letter.
var latinBase = sync.OnceValue(func() map[rune]rune {
	m := map[rune]rune{}
	for _, rg := range [][2]rune{{0xC0, 0x24F}, {0x1E00, 0x1EFF}} {
		for r := rg[0]; r <= rg[1]; r++ {
			d := []rune(norm.NFD.String(string(r)))
			if len(d) < 2 || !IsASCIILetter(d[0]) {
				continue
			}
			marks := true
			for _, c := range d[1:] {
				marks = marks && unicode.Is(unicode.Mn, c)
			}
			if marks {
				m[r] = d[0]
			}
		}
	}
	return m
})

// post applies the case foldings, which come last so that they also apply
// to what width folding and NFKC produce (Ａ → A → a).
func (f Fold) post(r rune) rune {
	switch {
	case f&FoldCase != 0:
		return unicode.ToLower(r)
	case f&FoldASCIICase != 0 && r >= 'A' && r <= 'Z':
		return r + 'a' - 'A'
	}
	return r
}

// Rune folds one rune: width, space and marks first, then case.
func (f Fold) Rune(r rune) rune { return f.post(f.pre(r)) }

// Runes returns rs folded, in a new slice of the same length.
func (f Fold) Runes(rs []rune) []rune {
	out := make([]rune, len(rs))
	for i, r := range rs {
		out[i] = f.Rune(r)
	}
	return out
}

// LowerASCII lower-cases the ASCII letters of s byte by byte. Every other
// byte, including invalid UTF-8, stays as it is, so byte offsets into s are
// offsets into the result.
func LowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// RemoveSpace drops every white space rune of s, so that lines that differ
// only in spacing compare equal.
func RemoveSpace(s string) string { return strings.Join(strings.Fields(s), "") }

// CollapseSpace trims s and turns every run of white space into one ASCII
// space, as a reader sees the text.
func CollapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// Squash is the key under which two lines count as the same line: white
// space removed, lower-cased (unicode.ToLower).
func Squash(s string) string { return strings.ToLower(RemoveSpace(s)) }

// KeepASCIIAlnum keeps the ASCII letters and digits of s, so that model
// numbers written with and without separators (DSC-W120P, dsc w120p,
// dscw120p) compare equal once case is folded.
func KeepASCIIAlnum(s string) string {
	var b strings.Builder
	for _, r := range s {
		if IsASCIIAlnum(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
