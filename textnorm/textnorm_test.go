package textnorm

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The option sets the callers use, named after them.
var (
	matchOpts   = Options{Compat: true, Fold: FoldCase, Drop: DropIgnorable}
	embedOpts   = Options{Fold: FoldWidth | FoldCase, Drop: DropSeparators}
	clusterOpts = Options{Fold: FoldCase, Drop: DropSeparators}
)

func TestFold(t *testing.T) {
	t.Parallel()
	grounding := FoldWidth | FoldSpace | FoldASCIICase
	dedup := FoldWidth | FoldCase
	for _, tc := range []struct {
		fold    Fold
		in, out string
	}{
		{grounding, "ＡＢＣ１２３！", "abc123!"},
		{grounding, "容量　500ＭＬ", "容量 500ml"},
		{grounding, "ÀÉ İ Σ", "ÀÉ İ Σ"}, // ASCII case only
		{grounding, "ｶﾞ ｈｅｌｌｏ", "ｶﾞ hello"},
		{dedup, "ＰＯＬＯ衫　ÀÉ", "polo衫　àé"}, // no space folding
		{dedup, "DSC-W120P", "dsc-w120p"},
		{FoldWidth, "ＡＢＣ～＿", "ABC~_"},
		{FoldSpace, "a\u3000b", "a b"},
		{FoldCase, "ΣΑΣ İ", "σασ i"},
		{0, "Ａ\u3000", "Ａ\u3000"},
	} {
		rs := []rune(tc.in)
		got := tc.fold.Runes(rs)
		if len(got) != len(rs) {
			t.Errorf("%04b.Runes(%q) has %d runes, want %d", tc.fold, tc.in, len(got), len(rs))
		}
		if string(got) != tc.out && !strings.ContainsRune(tc.in, utf8.RuneError) && utf8.ValidString(tc.in) {
			t.Errorf("%04b.Runes(%q) = %q, want %q", tc.fold, tc.in, string(got), tc.out)
		}
	}
}

func TestStringKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		f        func(string) string
		in, want string
	}{
		{"LowerASCII", LowerASCII, "iPhone 手机壳 ÀÉ", "iphone 手机壳 ÀÉ"},
		{"LowerASCII", LowerASCII, "AB\xffC", "ab\xffc"}, // invalid bytes stay
		{"LowerASCII", LowerASCII, "already lower", "already lower"},
		{"RemoveSpace", RemoveSpace, " a b\u3000c\t\n", "abc"},
		{"CollapseSpace", CollapseSpace, "  a \u3000 b\t\tc  ", "a b c"},
		{"Squash", Squash, "法式 连衣裙 POLO\u3000Ä", "法式连衣裙poloä"},
		{"KeepASCIIAlnum", KeepASCIIAlnum, "dsc-w120p 相机 ＡＢ", "dscw120p"},
		{"RemoveEmoji", RemoveEmoji, "🔥爆款❤️新品👩\u200d👩\u200d👧", "爆款新品"},
	} {
		if got := tc.f(tc.in); got != tc.want {
			t.Errorf("%s(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestClasses(t *testing.T) {
	t.Parallel()
	// For ASCII, IsIgnorable leaves exactly the letters and digits: a
	// Latin term is matched on its letters and digits alone.
	for c := rune(0); c < utf8.RuneSelf; c++ {
		if IsIgnorable(c) == IsASCIIAlnum(c) {
			t.Errorf("IsIgnorable(%q) = %v", c, IsIgnorable(c))
		}
	}
	for _, r := range "，。【】！？ 、\u3000·~+$%" {
		if !IsSeparator(r) || !IsIgnorable(r) {
			t.Errorf("%q is not a separator", r)
		}
	}
	for _, r := range "\u200b\u200d\u2060\ufeff\u200e\u0301\ufe0f🔥❤⭐\uFFFD" {
		if !IsIgnorable(r) {
			t.Errorf("%U is not ignorable", r)
		}
	}
	for _, r := range "最aZ9①한ｶé" {
		if IsIgnorable(r) || IsSeparator(r) {
			t.Errorf("%q is ignorable", r)
		}
	}
	for _, r := range "😀🔥❤✨⭐⌚\u200d\ufe0f\u20e3©®™" {
		if !IsEmoji(r) {
			t.Errorf("IsEmoji(%U) = false", r)
		}
	}
	for _, r := range "a最①⬜" {
		if IsEmoji(r) {
			t.Errorf("IsEmoji(%U) = true", r)
		}
	}
}

// TestHanIsFixedPoint: the Normalizer copies IsHan runes without folding
// them, which is right only while every folding leaves them as they are.
func TestHanIsFixedPoint(t *testing.T) {
	t.Parallel()
	for r := rune(0x3400); r <= 0x9FFF; r++ {
		if !IsHan(r) {
			continue
		}
		s := string(r)
		if IsIgnorable(r) || IsSeparator(r) || unicode.ToLower(r) != r || (FoldWidth|FoldSpace).pre(r) != r || norm.NFKC.String(s) != s {
			t.Fatalf("%U changes under some folding", r)
		}
	}
}

// reference is what Options document, rune by rune, without a Form.
func reference(o Options, s string) string {
	var b strings.Builder
	mapped := func(r rune) rune {
		if o.Script {
			if to, ok := referenceScript()[r]; ok {
				r = to
			}
		}
		if o.Numerals {
			if to, ok := numeralRunes()[r]; ok {
				r = to
			}
		}
		return r
	}
	for _, in := range s {
		r := mapped(o.Fold.pre(in))
		if o.Drop.Has(r) {
			continue
		}
		out := []rune{r}
		if o.Compat && r == in {
			out = []rune(norm.NFKC.String(string(r)))
		}
		for _, x := range out {
			if x = mapped(x); !o.Drop.Has(x) {
				b.WriteRune(o.Fold.post(x))
			}
		}
	}
	return b.String()
}

// referenceScript is tradSimp as a map, read independently of the tables.
var referenceScript = sync.OnceValue(func() map[rune]rune {
	m := map[rune]rune{}
	rs := []rune(tradSimp)
	for i := 0; i+1 < len(rs); i += 2 {
		m[rs[i]] = rs[i+1]
	}
	return m
})

// TestNormalizerFollowsOptions checks the fast paths (ASCII table, Han
// copy) against the documented order of the options, for every option
// set and every rune of the Basic Multilingual Plane and beyond.
func TestNormalizerFollowsOptions(t *testing.T) {
	t.Parallel()
	var sets []Options
	for _, compat := range []bool{false, true} {
		for _, drop := range []Drop{KeepAll, DropSeparators, DropIgnorable} {
			for _, fold := range []Fold{0, FoldWidth | FoldSpace, FoldASCIICase, FoldWidth | FoldCase} {
				sets = append(sets, Options{Fold: fold, Compat: compat, Drop: drop})
			}
		}
	}
	for _, script := range []bool{false, true} {
		for _, numerals := range []bool{false, true} {
			if script || numerals {
				sets = append(sets, Options{Script: script, Numerals: numerals},
					Options{Compat: true, Fold: FoldCase | FoldMarks, Drop: DropIgnorable, Script: script, Numerals: numerals})
			}
		}
	}
	for _, o := range sets {
		n := New(o)
		for r := rune(0); r <= 0x2FFFF; r += 1 + r/0x8000*7 {
			if r >= 0xD800 && r <= 0xDFFF {
				continue
			}
			s := string(r)
			if got, want := n.String(s), reference(o, s); got != want {
				t.Fatalf("%+v: %U → %q, want %q", o, r, got, want)
			}
		}
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	match, embed, cluster := New(matchOpts), New(embedOpts), New(clusterOpts)
	for _, tc := range []struct {
		n       *Normalizer
		in, out string
	}{
		// Word-list dodges: spaces, punctuation, zero-width and emoji
		// inside a term, full-width and compatibility forms.
		{match, "最 好", "最好"},
		{match, "第-一", "第一"},
		{match, "顶\u200b级", "顶级"},
		{match, "极\ufeff品", "极品"},
		{match, "ＮＯ．１", "no1"},
		{match, "🔥爆款🔥", "爆款"},
		{match, "国👩\u200d👩\u200d👧家级", "国家级"},
		{match, "①号 Ⅻ ² ﬁne", "1号xii2fine"},
		{match, "e\u0301 É", "eé"},
		{match, "5㎏装", "5装"}, // Drop comes before NFKC: ㎏ is a symbol
		{match, "ｶﾞ", "カ"},   // one rune at a time: the voiced mark's NFKC is a combining mark
		{match, "İstanbul ΣΑΣ", "istanbulσασ"},
		// Mixed CJK and Latin.
		{match, "iPhone15 手机壳 Type-C", "iphone15手机壳typec"},
		{match, "ＡＢＣ　ｄｅｆ 한국", "abcdef한국"},
		// Invalid UTF-8 and control characters are dropped.
		{match, "\xff最\xfe好\x00\x7f", "最好"},
		{match, "", ""},
		// The hashing embedder folds only full-width ASCII and keeps
		// invisible characters and compatibility forms.
		{embed, "ＰＯＬＯ衫 polo衫", "polo衫polo衫"},
		{embed, "顶\u200b级 ① ﬁ", "顶\u200b级①ﬁ"},
		{embed, "\x00a\x7f\xff", "\x00a\x7f"},
		// Cluster keys do not fold width.
		{cluster, "ＰＯＬＯ 衫，Ab", "ｐｏｌｏ衫ab"},
	} {
		if got := tc.n.String(tc.in); got != tc.out {
			t.Errorf("%+v.String(%q) = %q, want %q", tc.n.opts, tc.in, got, tc.out)
		}
		f := tc.n.Normalize(tc.in)
		if string(f.Bytes()) != tc.out || f.Len() != len(tc.out) || f.Source() != tc.in {
			t.Errorf("Normalize(%q) = %q (source %q)", tc.in, f.Bytes(), f.Source())
		}
		checkForm(t, f)
		checkOffsets(t, tc.n, f)
	}
}

// TestSpan: a match in the normalised text maps back to the text the
// seller wrote, whole runes included.
func TestSpan(t *testing.T) {
	t.Parallel()
	match := New(matchOpts)
	for _, tc := range []struct {
		in, find, orig string
	}{
		{"新款 最 好 的", "最好", "最 好"},
		{"ＮＯ．１品质", "no1", "ＮＯ．１"},
		{"顶\u200b级面料", "顶级", "顶\u200b级"},
		{"🔥第🔥一🔥", "第一", "第🔥一"},
		{"全网①号", "1号", "①号"},
		{"Ｔｙｐｅ－Ｃ接口", "typec", "Ｔｙｐｅ－Ｃ"},
		{"加 V X 领券", "vx", "V X"},
		{"ﬁne", "fi", "ﬁ"}, // both bytes of fi come from one rune
		{"ﬁne", "i", "ﬁ"},  // a part of a rune maps to the whole rune
		{"\xff极\xfe品\xff", "极品", "极\xfe品"},
		{"e\u0301x", "ex", "e\u0301x"},
	} {
		f := match.Normalize(tc.in)
		i := strings.Index(string(f.Bytes()), tc.find)
		if i < 0 {
			t.Errorf("%q: %q not in %q", tc.in, tc.find, f.Bytes())
			continue
		}
		start, end := f.Span(i, i+len(tc.find))
		if got := tc.in[start:end]; got != tc.orig {
			t.Errorf("%q: span of %q = %q, want %q", tc.in, tc.find, got, tc.orig)
		}
		// Cover is the inverse: the normalised bytes of the span's runes,
		// which hold the match (all of ﬁ's, for the i of it).
		from, to := f.Cover(start, end)
		if s, e := f.Span(from, to); from > i || to < i+len(tc.find) || s != start || e != end {
			t.Errorf("%q: cover of %q = [%d, %d), for [%d, %d)", tc.in, tc.orig, from, to, i, i+len(tc.find))
		}
	}
}

// TestNormalizeIntoReuses: a reused Form holds nothing of the text before.
func TestNormalizeIntoReuses(t *testing.T) {
	t.Parallel()
	n := New(matchOpts)
	var f Form
	n.NormalizeInto(&f, "这是一段很长的文字 ＡＢＣ 顶级 no.1 一件代发")
	n.NormalizeInto(&f, "Ａ最")
	if string(f.Bytes()) != "a最" || f.Source() != "Ａ最" {
		t.Fatalf("reused form = %q from %q", f.Bytes(), f.Source())
	}
	if s, e := f.Span(0, f.Len()); s != 0 || e != len("Ａ最") {
		t.Fatalf("span = %d, %d", s, e)
	}
	checkForm(t, &f)
}

// checkOffsets checks a Form's offsets against normalising the source one
// rune at a time, which every option allows: each rune's output bytes map
// to that rune.
func checkOffsets(t *testing.T, n *Normalizer, f *Form) {
	t.Helper()
	src := f.Source()
	var want []int
	for o := 0; o < len(src); {
		_, size := utf8.DecodeRuneInString(src[o:])
		for range len(n.String(src[o : o+size])) {
			want = append(want, o)
		}
		o += size
	}
	if len(want) != f.Len() {
		t.Fatalf("%q: %d bytes normalised rune by rune, %d at once", src, len(want), f.Len())
	}
	for i, o := range want {
		if got := f.Offset(i); got != o {
			t.Fatalf("%q: byte %d of %q maps to %d, want %d", src, i, f.Bytes(), got, o)
		}
	}
}

// checkForm checks the invariants of a Form: one offset per byte, each the
// start of a rune of the source (as range decodes it, invalid bytes
// included), in order; every span on rune boundaries, inside the source.
func checkForm(t *testing.T, f *Form) {
	t.Helper()
	src := f.Source()
	starts := map[int]bool{len(src): true}
	for i := range src {
		starts[i] = true
	}
	for i := 0; i < f.Len(); i++ {
		o := f.Offset(i)
		if o < 0 || o >= len(src) || !starts[o] || i > 0 && o < f.Offset(i-1) {
			t.Fatalf("%q: offset %d of byte %d", src, o, i)
		}
	}
	for from := 0; from < f.Len(); from++ {
		for to := from + 1; to <= f.Len(); to++ {
			s, e := f.Span(from, to)
			if s < 0 || s >= e || e > len(src) || !starts[s] || !starts[e] {
				t.Fatalf("%q: Span(%d, %d) = [%d, %d)", src, from, to, s, e)
			}
		}
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		split func(string) []string
		in    string
		want  []string
	}{
		{"Chunks", Chunks, "2024夏季新款 法式复古碎花连衣裙", []string{"2024夏季新款", "法式复古碎花连衣裙"}},
		{"Chunks", Chunks, "1.5m数据线 3-6岁 Type-C 100%棉", []string{"1.5m数据线", "3-6岁", "Type-C", "100%棉"}},
		{"Chunks", Chunks, "【包邮】保温杯/500ml，大容量！", []string{"包邮", "保温杯", "500ml", "大容量"}},
		{"Chunks", Chunks, "A/B 10/100 a.b .5 x- -y", []string{"A/B", "10/100", "a.b", "5", "x", "y"}},
		{"Chunks", Chunks, "连衣裙-夏季 ＡＢ－Ｃ", []string{"连衣裙", "夏季", "ＡＢ", "Ｃ"}},
		{"Chunks", Chunks, "🔥爆款🔥\u3000新品", []string{"爆款", "新品"}},
		{"Chunks", Chunks, "顶\u200b级", []string{"顶\u200b级"}},
		{"Chunks", Chunks, "  ，。 ", nil},
		{"Chunks", Chunks, "", nil},
		{"Words", Words, "iPhone15 手机壳,防摔", []string{"iPhone15", "手机壳", "防摔"}},
		{"Words", Words, "ＡＢ１２-é", []string{"ＡＢ１２", "é"}},
		{"Words", Words, "🔥①…", nil},
	} {
		if got := tc.split(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%s(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestJoinWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"Nike", "运动鞋", "air", "max"}, "Nike 运动鞋 air max"},
		{[]string{"法式", "连衣裙", "女"}, "法式连衣裙女"},
		{[]string{"500ml", "保温杯", "3-6岁"}, "500ml 保温杯 3-6岁"},
		{[]string{"连衣裙", "【新款】"}, "连衣裙【新款】"},
		{[]string{"", "a", ""}, " a "},
		{nil, ""},
	} {
		if got := JoinWords(tc.in); got != tc.want {
			t.Errorf("JoinWords(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// scriptOpts are the compliance matcher's options with the script,
// numeral and diacritic foldings.
var scriptOpts = Options{Compat: true, Fold: FoldCase | FoldMarks, Drop: DropIgnorable, Script: true, Numerals: true}

func TestScriptAndNumerals(t *testing.T) {
	t.Parallel()
	n := New(scriptOpts)
	for _, tc := range []struct{ in, out string }{
		// Traditional and variant characters fold to simplified ones.
		{"極品 國家級 獨家 全網最低價", "极品国家级独家全网最低价"},
		{"爲您 裏面 綫", "为您里面线"},
		{"國風 漢服", "国风汉服"},
		{"著名", "著名"}, // 著 is simplified too
		// Every way of writing a digit.
		{"第壹 第一 第1 第① 第Ⅰ 第ⅰ 第❶ 第⑴ 第➀", "第1第1第1第1第1第1第1第1第1"},
		{"NO⒈ No.１ 貳 陸", "no1no126"},
		{"零风险 〇 幺三八", "0风险0138"},
		{"⑩ Ⅻ", "10xii"}, // no one-digit form: NFKC spells them out
		// Enclosed letters and tone marks.
		{"加ⓥ 加🅥 加Ⓥ 加⒱", "加v加v加v加v"},
		{"最dī价 zuì 佳 Lǜ", "最di价zui佳lu"},
	} {
		f := n.Normalize(tc.in)
		if got := string(f.Bytes()); got != tc.out {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.out)
		}
		checkForm(t, f)
		checkOffsets(t, n, f)
	}
	// Spans point at the characters as written.
	f := n.Normalize("全網最低價，第①名")
	for _, tc := range []struct{ find, orig string }{{"全网最低价", "全網最低價"}, {"第1", "第①"}} {
		i := strings.Index(string(f.Bytes()), tc.find)
		if i < 0 {
			t.Fatalf("%q not in %q", tc.find, f.Bytes())
		}
		if s, e := f.Span(i, i+len(tc.find)); f.Source()[s:e] != tc.orig {
			t.Errorf("span of %q = %q, want %q", tc.find, f.Source()[s:e], tc.orig)
		}
	}
}

// TestScriptTable: the generated table folds one character to one other,
// idempotently, and never touches what the callers without Script compare.
func TestScriptTable(t *testing.T) {
	t.Parallel()
	m := referenceScript()
	if len(m) < 3000 {
		t.Fatalf("only %d characters in the table", len(m))
	}
	for from, to := range m {
		if from == to {
			t.Errorf("%c maps to itself", from)
		}
		if again, ok := m[to]; ok {
			t.Errorf("%c → %c → %c: not idempotent", from, to, again)
		}
		if from < 0x2E80 || to < 0x2E80 {
			t.Errorf("%U → %U is not CJK", from, to)
		}
	}
	for _, r := range "最好第一国家级极品独家网低价风" {
		if _, ok := m[r]; ok {
			t.Errorf("simplified %c is in the table", r)
		}
	}
}
