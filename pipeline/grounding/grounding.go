// Package grounding checks that generated copy states only facts found in
// the source product: numbers with their units (sizes, capacities, weights,
// percentages, counts such as 8支), materials, and brand names (Latin words
// in Chinese copy, known Chinese brand names) must all appear in the
// product's title, attributes, description, category or brand.
//
// Text is compared after folding full-width characters to ASCII and ASCII
// to lower case; quantities are compared by value within a dimension, so
// 500ML, 500毫升 and 0.5L are the same fact. A bare number in the source
// grounds the same number with a unit in the copy (容量: 500 → 500ml).
package grounding

import (
	_ "embed"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/htmltext"
	"github.com/listinggen/listinggen/textnorm"
)

// Kind is the kind of fact a problem is about.
type Kind string

const (
	KindNumber   Kind = "number"
	KindMaterial Kind = "material"
	KindBrand    Kind = "brand"
)

// Problem is one term of the copy the source does not back.
type Problem struct {
	// Field is where the term is: title, selling_points[i], description or
	// keywords[i] (the compliance report's field names).
	Field string `json:"field"`
	// Term is the ungrounded term as the copy writes it.
	Term string `json:"term"`
	Kind Kind   `json:"kind"`
}

// String is the problem as a reviewer and a repair prompt read it.
func (p Problem) String() string {
	return fmt.Sprintf("%s: %q is not in the source product (%s)", p.Field, p.Term, p.Kind)
}

// Reasons returns the problems as strings, for review reasons and the
// repair round.
func Reasons(problems []Problem) []string {
	out := make([]string, len(problems))
	for i, p := range problems {
		out[i] = p.String()
	}
	return out
}

//go:embed data/materials.txt
var materialsData string

//go:embed data/brands.txt
var brandsData string

var (
	materials = termList(materialsData) // longest first
	brands    = termList(brandsData)
)

func termList(data string) []string {
	var out []string
	for _, line := range strings.Split(data, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, string(fold.Runes([]rune(line))))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return utf8.RuneCountInString(out[i]) > utf8.RuneCountInString(out[j]) })
	return out
}

// Check returns every term of cp that product does not back, in field
// order; nil when the copy is grounded.
func Check(product *listinggen.Product, cp listinggen.Copy) []Problem {
	src := NewSource(product)
	return src.Check(cp)
}

// Source is a product's text prepared for checking; build it once to check
// several copies of the same product.
type Source struct {
	text     string    // normalised: full-width folded, ASCII lower-cased
	mentions []mention // the quantities it states
}

// NewSource prepares product's facts.
func NewSource(p *listinggen.Product) *Source {
	var b strings.Builder
	for _, s := range []string{p.Title, htmltext.PlainText(p.Description), p.Category, p.Brand} {
		b.WriteString(s)
		b.WriteString("\n")
	}
	for _, at := range p.Attributes {
		b.WriteString(at.Name)
		b.WriteString(": ")
		b.WriteString(strings.Join(at.Values, " / "))
		b.WriteString("\n")
		// "容量(ml): 500" states 500ml.
		if u := unitIn(at.Name); u != "" {
			for _, v := range at.Values {
				b.WriteString(v + u + "\n")
			}
		}
	}
	text := fold.Runes([]rune(b.String()))
	return &Source{text: string(text), mentions: numbers(text, text, true)}
}

// Check returns every term of cp the source does not back.
func (s *Source) Check(cp listinggen.Copy) []Problem {
	var out []Problem
	out = append(out, s.field("title", cp.Title)...)
	for i, sp := range cp.SellingPoints {
		out = append(out, s.field(fmt.Sprintf("selling_points[%d]", i), sp)...)
	}
	out = append(out, s.field("description", cp.Description)...)
	for i, kw := range cp.Keywords {
		out = append(out, s.field(fmt.Sprintf("keywords[%d]", i), kw)...)
	}
	return out
}

func (s *Source) field(name, text string) []Problem {
	orig := []rune(text)
	norm := fold.Runes(orig)
	var out []Problem
	seen := map[string]bool{}
	add := func(term string, kind Kind) {
		if !seen[term] {
			seen[term] = true
			out = append(out, Problem{Field: name, Term: term, Kind: kind})
		}
	}
	for _, m := range numbers(orig, norm, false) {
		if !s.backs(m) {
			add(m.text, KindNumber)
		}
	}
	for _, t := range s.materials(orig, norm) {
		add(t, KindMaterial)
	}
	for _, t := range s.brands(orig, norm) {
		add(t, KindBrand)
	}
	return out
}

// fold is how copy and source are compared: full-width forms as ASCII, the
// ideographic space as a space, ASCII letters in lower case. It works rune
// for rune, so offsets into folded text are offsets into the original.
const fold = textnorm.FoldWidth | textnorm.FoldSpace | textnorm.FoldASCIICase

// materials returns the material terms of a field the source lacks. At each
// position the longest material is tried first and, if the source lacks it,
// the shorter ones starting there, so that two source words placed side by
// side (棉 + 麻料 → 棉麻料) do not make a material the source never named.
func (s *Source) materials(orig, norm []rune) []string {
	var out []string
	for i := 0; i < len(norm); {
		rest := string(norm[i:])
		var longest string
		matched := 0
		for _, m := range materials {
			if !strings.HasPrefix(rest, m) {
				continue
			}
			if longest == "" {
				longest = m
			}
			if strings.Contains(s.text, m) {
				matched = utf8.RuneCountInString(m)
				break
			}
		}
		switch {
		case matched > 0:
			i += matched
		case longest != "" && !asciiInside(norm, i, utf8.RuneCountInString(longest)):
			n := utf8.RuneCountInString(longest)
			out = append(out, string(orig[i:i+n]))
			i += n
		default:
			i++
		}
	}
	return out
}

// asciiInside reports a match that starts or ends inside an ASCII word
// (pc in "pcs"), which is not the material.
func asciiInside(rs []rune, i, n int) bool {
	alnum := func(j int) bool { return j >= 0 && j < len(rs) && textnorm.IsASCIIAlnum(rs[j]) }
	return textnorm.IsASCIIAlnum(rs[i]) && alnum(i-1) || textnorm.IsASCIIAlnum(rs[i+n-1]) && alnum(i+n)
}

// brands returns the brand-like terms of a field the source lacks: known
// Chinese brand names, and Latin words (Chinese copy has few Latin words
// that are not a brand, model or size; in mostly-Latin copy only words that
// look like names are checked: all capitals, inner capitals, letters mixed
// with digits, or a capital not starting a sentence).
func (s *Source) brands(orig, norm []rune) []string {
	var out []string
	text := string(norm)
	for _, b := range brands {
		if strings.Contains(text, b) && !strings.Contains(s.text, b) {
			i := strings.Index(text, b)
			start := utf8.RuneCountInString(text[:i])
			out = append(out, string(orig[start:start+utf8.RuneCountInString(b)]))
		}
	}
	latin := mostlyLatin(orig)
	for _, w := range latinWords(orig) {
		word := string(norm[w.start:w.end])
		if allowLatin[word] || !hasLetters(word, 2) {
			continue
		}
		if latin && !nameLike(orig, w) {
			continue
		}
		if !containsWord(s.text, word) {
			out = append(out, string(orig[w.start:w.end]))
		}
	}
	return out
}

// allowLatin are Latin words Chinese copy uses without stating a fact.
var allowLatin = map[string]bool{"ins": true, "diy": true}

type span struct{ start, end int }

// latinWords finds runs of ASCII letters and digits (with inner - . + &
// '), that start with a letter: numbers are checked as quantities.
func latinWords(rs []rune) []span {
	var out []span
	for i := 0; i < len(rs); {
		if !textnorm.IsASCIILetter(rs[i]) || i > 0 && textnorm.IsASCIIAlnum(rs[i-1]) {
			i++
			continue
		}
		j := i + 1
		for j < len(rs) && (textnorm.IsASCIIAlnum(rs[j]) || strings.ContainsRune("-.+&'", rs[j]) && j+1 < len(rs) && textnorm.IsASCIIAlnum(rs[j+1])) {
			j++
		}
		out = append(out, span{i, j})
		i = j
	}
	return out
}

func nameLike(rs []rune, w span) bool {
	upper, digits := 0, 0
	for k := w.start; k < w.end; k++ {
		switch {
		case rs[k] >= 'A' && rs[k] <= 'Z' || rs[k] >= 0xFF21 && rs[k] <= 0xFF3A:
			upper++
			if k > w.start {
				return true // iPhone, McDonald's, POLO
			}
		case rs[k] >= '0' && rs[k] <= '9':
			digits++
		}
	}
	if digits > 0 || upper == 0 {
		return digits > 0
	}
	// One leading capital: a name unless it starts a sentence.
	k := w.start - 1
	for k >= 0 && rs[k] == ' ' {
		k--
	}
	return k >= 0 && !strings.ContainsRune(".!?\n:;\"(", rs[k])
}

func mostlyLatin(rs []rune) bool {
	latin, other := 0, 0
	for _, r := range rs {
		if textnorm.IsASCIILetter(r) {
			latin++
		} else if r > 0x2E80 && unicode.IsLetter(r) {
			other++
		}
	}
	return latin > 2*other
}

func hasLetters(s string, n int) bool {
	for _, r := range s {
		if textnorm.IsASCIILetter(r) {
			if n--; n == 0 {
				return true
			}
		}
	}
	return false
}

// containsWord reports w in text, not glued to other ASCII letters (digits
// may follow: iphone in iphone15).
func containsWord(text, w string) bool {
	for off := 0; ; {
		i := strings.Index(text[off:], w)
		if i < 0 {
			return false
		}
		i += off
		before, _ := utf8.DecodeLastRuneInString(text[:i])
		after, _ := utf8.DecodeRuneInString(text[i+len(w):])
		if !textnorm.IsASCIILetter(before) && !textnorm.IsASCIILetter(after) {
			return true
		}
		off = i + 1
	}
}

// ---- quantities ----

// unit is a canonical unit: quantities of one dimension compare by value
// times factor; counters (支, 件, 岁 …) are their own dimension.
type unit struct {
	name   string
	dim    string
	factor float64
}

var units = func() map[string]unit {
	m := map[string]unit{}
	def := func(dim string, factor float64, names ...string) {
		for _, n := range names {
			m[n] = unit{name: n, dim: dim, factor: factor}
		}
	}
	def("volume", 1, "ml", "毫升", "cc")
	def("volume", 1000, "l", "升", "公升")
	def("mass", 0.001, "mg", "毫克")
	def("mass", 1, "g", "克")
	def("mass", 1000, "kg", "公斤", "千克")
	def("mass", 500, "斤")
	def("length", 1, "mm", "毫米")
	def("length", 10, "cm", "厘米", "公分")
	def("length", 1000, "m", "米")
	def("length", 25.4, "inch", "英寸", "寸")
	def("power", 1, "w", "瓦")
	def("power", 1000, "kw", "千瓦")
	def("charge", 1, "mah", "毫安", "毫安时")
	def("voltage", 1, "v", "伏")
	def("current", 1, "a", "安")
	def("frequency", 1, "hz", "赫兹")
	def("data", 1, "gb")
	def("data", 1024, "tb")
	def("percent", 1, "%")
	def("temperature", 1, "℃", "°c", "度")
	for _, c := range strings.Split("支 个 件 只 片 套 层 码 岁 双 包 瓶 袋 盒 条 张 粒 颗 根 本 卷 对 枚 台 块 色 款 天 小时 分钟 秒 年 月 周 人 位 种 格 抽 页 匹 档 挡 孔 口 头 节 组 瓣 寸", " ") {
		if _, ok := m[c]; !ok {
			def(c, 1, c)
		}
	}
	return m
}()

// unitNames is every unit name, longest first.
var unitNames = func() []string {
	var out []string
	for n := range units {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := utf8.RuneCountInString(out[i]), utf8.RuneCountInString(out[j]); a != b {
			return a > b
		}
		return out[i] < out[j]
	})
	return out
}()

// unitIn finds a unit in an attribute name such as 容量(ml) or 重量/克.
func unitIn(name string) string {
	n := string(fold.Runes([]rune(name)))
	for _, sep := range []string{"(", "（", "/", "["} {
		if _, rest, ok := strings.Cut(n, sep); ok {
			rest = strings.Trim(rest, ")）] ")
			if _, ok := units[rest]; ok {
				return rest
			}
		}
	}
	return ""
}

// mention is a number, or a list or range of numbers sharing one unit
// (3-6岁, 80x90cm, 8/14支), in a text.
type mention struct {
	values []float64
	raw    []string // the numbers as written
	unit   string   // "" for a bare number
	text   string   // the mention as the original text writes it
}

// numbers finds the quantities of norm (orig is the same text before
// normalisation, for reporting). Digits glued to a preceding Latin letter
// (USB3.0, A4) belong to a model name and are left to the brand check; list
// markers (1、 2. at the start of a line) are skipped. In a source
// (lenient) a Latin unit may run into the next word, as in 6AType-C:
// reading more quantities into the source only avoids false alarms; for
// the same reason a number glued to the quantity before it (120W2米6A) is
// a quantity of its own there.
func numbers(orig, norm []rune, lenient bool) []mention {
	var out []mention
	lastEnd := -1
	for i := 0; i < len(norm); {
		glued := lenient && i == lastEnd
		if !textnorm.IsASCIIDigit(norm[i]) || i > 0 && (textnorm.IsASCIIAlnum(norm[i-1]) || norm[i-1] == '.') && !glued {
			i++
			continue
		}
		start := i
		var m mention
		j := i
		for {
			k, raw, v, ok := number(norm, j)
			if !ok {
				break
			}
			m.values = append(m.values, v)
			m.raw = append(m.raw, raw)
			j = k
			// A separator followed by another number continues the list.
			if j < len(norm) && strings.ContainsRune("-~～至到x×*/", norm[j]) && j+1 < len(norm) && textnorm.IsASCIIDigit(norm[j+1]) {
				j++
				continue
			}
			// 8支/14支: a unit, a slash and another number.
			break
		}
		end := j
		// Skip spaces before a unit.
		k := j
		for k < len(norm) && norm[k] == ' ' {
			k++
		}
		if u, n := unitAt(norm, k, lenient); n > 0 {
			m.unit = u
			end = k + n
		} else if j < len(norm) && textnorm.IsASCIILetter(norm[j]) {
			// 3d, 4k, 2in1: a code, not a quantity.
			for j < len(norm) && textnorm.IsASCIIAlnum(norm[j]) {
				j++
			}
			i = j
			continue
		}
		if m.unit == "" && len(m.values) == 1 && listMarker(norm, start, end) {
			i = end
			continue
		}
		m.text = strings.TrimSpace(string(orig[start:end]))
		out = append(out, m)
		i, lastEnd = end, end
	}
	return out
}

// number parses digits with an optional decimal part and thousands commas
// at rs[i:].
func number(rs []rune, i int) (end int, raw string, v float64, ok bool) {
	j := i
	var b strings.Builder
	for j < len(rs) {
		switch {
		case textnorm.IsASCIIDigit(rs[j]):
			b.WriteRune(rs[j])
			j++
			continue
		case rs[j] == ',' && b.Len() > 0 && !strings.Contains(b.String(), ".") && allDigits(rs, j+1, j+4) && (j+4 == len(rs) || !textnorm.IsASCIIDigit(rs[j+4])):
			j++
			continue
		case rs[j] == '.' && j+1 < len(rs) && textnorm.IsASCIIDigit(rs[j+1]) && !strings.Contains(b.String(), "."):
			b.WriteRune('.')
			j++
			continue
		}
		break
	}
	if j == i {
		return i, "", 0, false
	}
	v, err := strconv.ParseFloat(b.String(), 64)
	return j, b.String(), v, err == nil
}

func allDigits(rs []rune, from, to int) bool {
	if to > len(rs) {
		return false
	}
	for k := from; k < to; k++ {
		if !textnorm.IsASCIIDigit(rs[k]) {
			return false
		}
	}
	return true
}

// unitAt returns the longest unit at rs[i:]; a Latin unit must not run on
// into a Latin word (5g but not 5gold).
func unitAt(rs []rune, i int, lenient bool) (string, int) {
	rest := string(rs[i:])
	for _, n := range unitNames {
		if !strings.HasPrefix(rest, n) {
			continue
		}
		k := i + utf8.RuneCountInString(n)
		last, _ := utf8.DecodeLastRuneInString(n)
		if !lenient && textnorm.IsASCIILetter(last) && k < len(rs) && textnorm.IsASCIILetter(rs[k]) {
			continue
		}
		return n, utf8.RuneCountInString(n)
	}
	return "", 0
}

// listMarker reports a small number that numbers a list item: at the start
// of a line (or after a space or sentence end) and followed by 、 . ) or ）.
func listMarker(rs []rune, start, end int) bool {
	if end >= len(rs) || !strings.ContainsRune("、.)）", rs[end]) || end+1 < len(rs) && textnorm.IsASCIIDigit(rs[end+1]) {
		return false
	}
	return start == 0 || strings.ContainsRune("\n \t。；;:：", rs[start-1])
}

// backs reports whether the source states every number of m.
func (s *Source) backs(m mention) bool {
	for i, v := range m.values {
		if !s.backsValue(v, m.raw[i], m.unit) {
			return false
		}
	}
	return true
}

func (s *Source) backsValue(v float64, raw, u string) bool {
	cu, hasUnit := units[u]
	for _, sm := range s.mentions {
		for _, sv := range sm.values {
			switch {
			case u == "":
				// A bare number is backed by the same number in any unit.
				if sv == v {
					return true
				}
			case sm.unit == "":
				if sv == v {
					return true
				}
			default:
				su := units[sm.unit]
				if hasUnit && su.dim == cu.dim && almostEqual(sv*su.factor, v*cu.factor) {
					return true
				}
			}
		}
	}
	// The digits inside a model name (iPhone15, USB3.0) back a bare number.
	return u == "" && containsNumber(s.text, raw)
}

func almostEqual(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

func containsNumber(text, raw string) bool {
	for off := 0; ; {
		i := strings.Index(text[off:], raw)
		if i < 0 {
			return false
		}
		i += off
		before, _ := utf8.DecodeLastRuneInString(text[:i])
		after, _ := utf8.DecodeRuneInString(text[i+len(raw):])
		if !textnorm.IsASCIIDigit(before) && before != '.' && !textnorm.IsASCIIDigit(after) {
			return true
		}
		off = i + 1
	}
}
