package textnorm

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzNormalize: whatever the text, no option set panics, every byte of a
// Form maps into the source on a rune start, every span lies inside the
// source on rune boundaries, rune-for-rune folds keep the rune count, and
// chunks hold no white space.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"最近很火的连衣裙 第一品牌 一件代发🔥", "最 好", "第-一", "顶\u200b级", "ＮＯ．１", "①号 Ⅻ ² ﬁ ㎏",
		"e\u0301 ｶﾞ İ ΣΑΣ", "👩\u200d👩\u200d👧", "全網最低價 第壹 ❶ Ⅻ 加🅥 zuì", "iPhone15 手机壳 Type-C 1.5m 100%棉",
		"\xff\xfe", "a\x80b\xc3", "\x00\x7f\u0085", "",
	} {
		f.Add(s)
	}
	var normalizers []*Normalizer
	for _, compat := range []bool{false, true} {
		for _, drop := range []Drop{KeepAll, DropSeparators, DropIgnorable} {
			normalizers = append(normalizers,
				New(Options{Compat: compat, Drop: drop, Fold: FoldCase}),
				New(Options{Compat: compat, Drop: drop, Fold: FoldWidth | FoldSpace | FoldASCIICase}),
				New(Options{Compat: compat, Drop: drop, Fold: FoldCase | FoldMarks, Script: true, Numerals: true}))
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		starts := map[int]bool{len(s): true}
		for i := range s {
			starts[i] = true
		}
		var reused Form
		for _, n := range normalizers {
			n.NormalizeInto(&reused, s)
			fresh := n.Normalize(s)
			checkOffsets(t, n, fresh)
			if string(fresh.Bytes()) != string(reused.Bytes()) || n.String(s) != string(fresh.Bytes()) {
				t.Fatalf("%+v: Normalize, NormalizeInto and String differ on %q", n.opts, s)
			}
			prev := 0
			for i := 0; i < fresh.Len(); i++ {
				o := fresh.Offset(i)
				if o < prev || o >= len(s) || !starts[o] {
					t.Fatalf("%+v: byte %d of %q maps to %d", n.opts, i, s, o)
				}
				prev = o
			}
			// Every span from a byte to the end, and from the start to a
			// byte, so the check stays linear in the text's length.
			for i := 0; i < fresh.Len(); i++ {
				for _, sp := range [][2]int{{i, fresh.Len()}, {0, i + 1}, {i, i + 1}} {
					a, b := fresh.Span(sp[0], sp[1])
					if a < 0 || a >= b || b > len(s) || !starts[a] || !starts[b] {
						t.Fatalf("%+v: Span(%d, %d) of %q = [%d, %d)", n.opts, sp[0], sp[1], s, a, b)
					}
				}
			}
		}
		rs := []rune(s)
		for _, fold := range []Fold{FoldWidth | FoldSpace | FoldASCIICase, FoldWidth | FoldCase} {
			if got := fold.Runes(rs); len(got) != len(rs) {
				t.Fatalf("%04b.Runes changed the rune count of %q", fold, s)
			}
		}
		if got := LowerASCII(s); len(got) != len(s) {
			t.Fatalf("LowerASCII changed the length of %q", s)
		}
		for _, c := range Chunks(s) {
			if c == "" || strings.IndexFunc(c, unicode.IsSpace) >= 0 {
				t.Fatalf("Chunks(%q) has chunk %q", s, c)
			}
		}
	})
}
