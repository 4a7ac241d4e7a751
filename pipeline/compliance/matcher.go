package compliance

import (
	"bytes"
	"errors"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/listinggen/listinggen/textnorm"
)

// matchForm is how text and terms are compared: NFKC (full-width →
// half-width, compatibility forms folded), lower-cased, diacritics off
// Latin letters, traditional characters folded to simplified ones,
// numerals to digits, with spaces, punctuation, symbols, emoji and
// invisible format characters removed, so that 最 好, 第-一, 顶\u200b级,
// ＮＯ．１, 極品, 第壹 and 最dī价 match 最好, 第一, 顶级, no.1, 极品, 第一 and 最di价.
// The Form's map back to the original reports violations where the seller
// wrote them.
var matchForm = textnorm.New(textnorm.Options{Compat: true, Fold: textnorm.FoldCase | textnorm.FoldMarks,
	Drop: textnorm.DropIgnorable, Script: true, Numerals: true})

// literalForm is matchForm without numeral folding: a term whose numerals
// are part of a name (三星) must read the same under it, so that 3星 is not
// taken for the brand.
var literalForm = textnorm.New(textnorm.Options{Compat: true, Fold: textnorm.FoldCase | textnorm.FoldMarks,
	Drop: textnorm.DropIgnorable, Script: true})

// edgeFold reads the rune at the edge of a match as the ASCII letter or
// digit it stands for, if any, to judge word boundaries.
const edgeFold = textnorm.FoldWidth | textnorm.FoldMarks | textnorm.FoldASCIICase

// formPool spares the matcher a Form allocation per text.
var formPool = sync.Pool{New: func() any { return new(textnorm.Form) }}

// Matcher finds word-list terms, pinyin spellings of them, contact numbers
// and contact patterns in text.
//
// Terms and allow-terms (最近, 第一次, 最大承重) are patterns of one
// Aho–Corasick automaton over text normalised by matchForm, and the
// leftmost-longest selection in Find lets an allow-term that covers a
// banned term win, which is what stops 最 in 最近 or 第一 in 第一次 from
// crying wolf. A term whose edge is a Latin letter or digit in the text
// matches only on a word boundary there (QQ, VX but not VXE3000).
//
// A Matcher is layered: With adds a tenant's or shop's words as a small
// automaton of their own on top of the built-in ones, which are shared, so
// a shop's matcher costs its own words only. Immutable after construction;
// safe for concurrent use.
type Matcher struct {
	layers []*layer
	// pinyin finds the pinyin spellings of terms (zui佳, 最di价); it runs
	// only around runs of Latin letters, where a pinyin spelling must be,
	// within width bytes of them.
	pinyin *layer
	width  int
	// numbers and patterns find contact details (phone and QQ numbers,
	// ＋v) that no fixed term describes.
	numbers  []*NumberRule
	patterns []*TextPattern
}

// layer is one automaton and what each of its patterns stands for.
type layer struct {
	ac      *automaton
	entries []matcherEntry
	// rank breaks ties between equal spans: a later layer (a shop's own
	// word) wins over the built-in one it repeats.
	rank int
}

type matcherEntry struct {
	term *Term // nil for an allow-term
	// literal, when set, is the term under literalForm, which a match must
	// also read (terms whose numerals are part of a name).
	literal string
	// pinyin marks a pinyin spelling: its Latin part must be lower case in
	// the text (PI发热膜 is polyimide, not 批发).
	pinyin bool
}

// Hit is one match, as a byte span of the original text.
type Hit struct {
	Term       *Term
	Start, End int
}

// NewMatcher builds the automata for terms and allow-terms; terms marked
// for pinyin also get their pinyin spellings. A pattern that is both a term
// and an allow-term is allowed; duplicate terms keep the first.
func NewMatcher(terms []Term, allow []string) *Matcher {
	m := &Matcher{layers: []*layer{newLayer(terms, allow, 0)}}
	var variants []matcherEntry
	var patterns []string
	seen := map[string]bool{}
	for i := range terms {
		t := &terms[i]
		if !t.pinyin {
			continue
		}
		for _, v := range pinyinVariants(t.Term) {
			if seen[v] {
				continue
			}
			seen[v] = true
			patterns = append(patterns, v)
			variants = append(variants, matcherEntry{term: t, pinyin: true})
			m.width = max(m.width, len(v))
		}
	}
	if len(patterns) > 0 {
		m.pinyin = &layer{ac: newAutomaton(patterns), entries: variants}
	}
	return m
}

// With returns a matcher that also finds terms and allows allow, sharing
// m's automata. Its terms win over m's at the same span.
func (m *Matcher) With(terms []Term, allow []string) *Matcher {
	d := *m
	d.layers = append(append([]*layer(nil), m.layers...), newLayer(terms, allow, len(m.layers)))
	return &d
}

// withRules returns m with contact number rules and text patterns.
func (m *Matcher) withRules(numbers []*NumberRule, patterns []*TextPattern) *Matcher {
	d := *m
	d.numbers, d.patterns = numbers, patterns
	return &d
}

func newLayer(terms []Term, allow []string, rank int) *layer {
	l := &layer{rank: rank}
	index := map[string]int{}
	var patterns []string
	add := func(pattern string, t *Term) {
		if pattern == "" {
			return
		}
		if i, ok := index[pattern]; ok {
			if t == nil {
				l.entries[i].term = nil
			}
			return
		}
		index[pattern] = len(patterns)
		patterns = append(patterns, pattern)
		e := matcherEntry{term: t}
		if t != nil && t.literalNumerals {
			if lit := literalForm.String(t.Term); lit != pattern {
				e.literal = lit
			}
		}
		l.entries = append(l.entries, e)
	}
	for _, a := range allow {
		add(matchForm.String(a), nil)
	}
	for i := range terms {
		add(matchForm.String(terms[i].Term), &terms[i])
	}
	l.ac = newAutomaton(patterns)
	return l
}

// cand is a match before selection, as a byte span of the original text.
type cand struct {
	start, end int
	term       *Term // nil for an allow-term
	rank       int
}

// Find returns the banned terms in text, in order, as spans of text.
//
// It takes every (overlapping) match from the automata, drops those that
// are not on word boundaries, and then keeps the leftmost-longest
// non-overlapping set (an allow-term winning a tie), doing that selection
// here rather than in the automaton so the boundary filter runs first and
// cannot hide a valid shorter match.
func (m *Matcher) Find(text string) []Hit {
	n := formPool.Get().(*textnorm.Form)
	defer formPool.Put(n)
	matchForm.NormalizeInto(n, text)
	norm := n.Bytes()
	var cands []cand
	if len(norm) > 0 {
		for _, l := range m.layers {
			cands = l.find(norm, 0, n, text, cands)
		}
		cands = m.findPinyin(norm, n, text, cands)
		cands = m.findNumbers(norm, n, text, cands)
	}
	cands = m.findPatterns(text, cands)
	if len(cands) == 0 {
		return nil
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.start != b.start {
			return a.start < b.start
		}
		if a.end != b.end {
			return a.end > b.end
		}
		if (a.term == nil) != (b.term == nil) {
			return a.term == nil
		}
		return a.rank > b.rank
	})
	var hits []Hit
	covered := 0
	for _, c := range cands {
		if c.start < covered {
			continue
		}
		covered = c.end
		if c.term != nil {
			hits = append(hits, Hit{Term: c.term, Start: c.start, End: c.end})
		}
	}
	return hits
}

// find adds the layer's matches in norm[off:] (the whole normalised text
// is n) to cands.
func (l *layer) find(norm []byte, off int, n *textnorm.Form, text string, cands []cand) []cand {
	l.ac.each(norm, func(p, start, end int) {
		e := l.entries[p]
		os, oe := n.Span(off+start, off+end)
		if glued(text, os, oe) {
			return
		}
		if e.literal != "" && literalForm.String(text[os:oe]) != e.literal {
			return
		}
		if e.pinyin && hasUpper(text[os:oe]) {
			return
		}
		cands = append(cands, cand{start: os, end: oe, term: e.term, rank: l.rank})
	})
	return cands
}

// findPinyin runs the pinyin automaton over the windows of norm that reach
// a run of Latin letters, merged where they overlap.
func (m *Matcher) findPinyin(norm []byte, n *textnorm.Form, text string, cands []cand) []cand {
	if m.pinyin == nil {
		return cands
	}
	from, to := -1, -1
	flush := func() {
		if from >= 0 {
			cands = m.pinyin.find(norm[from:to], from, n, text, cands)
		}
	}
	for i := 0; i < len(norm); i++ {
		if c := norm[i]; c < 'a' || c > 'z' {
			continue
		}
		j := i + 1
		for j < len(norm) && norm[j] >= 'a' && norm[j] <= 'z' {
			j++
		}
		lo, hi := max(0, i-m.width), min(len(norm), j+m.width)
		if lo <= to {
			to = hi
		} else {
			flush()
			from, to = lo, hi
		}
		i = j
	}
	flush()
	return cands
}

// glued reports whether the match text[start:end] continues a word: its
// first or last rune is an ASCII letter or digit (as written or in full
// width) that runs on into its neighbour, a letter into a letter (VX in
// VXE3000), a digit into a letter or digit (no.1 in no.1ne, top1 in
// top10). A letter followed by digits still matches (QQ in QQ123456).
func glued(text string, start, end int) bool {
	if start > 0 {
		first, _ := utf8.DecodeRuneInString(text[start:])
		prev, _ := utf8.DecodeLastRuneInString(text[:start])
		if gluedTo(edgeByte(first), edgeByte(prev)) {
			return true
		}
	}
	if end < len(text) {
		last, _ := utf8.DecodeLastRuneInString(text[:end])
		next, _ := utf8.DecodeRuneInString(text[end:])
		if gluedTo(edgeByte(last), edgeByte(next)) {
			return true
		}
	}
	return false
}

// edgeByte is the ASCII letter or digit r stands for (lower case), or 0.
func edgeByte(r rune) byte {
	r = edgeFold.Rune(r)
	if r < utf8.RuneSelf && textnorm.IsASCIIAlnum(r) {
		return byte(r)
	}
	return 0
}

func gluedTo(edge, neighbour byte) bool {
	switch {
	case isASCIILetter(edge):
		return isASCIILetter(neighbour)
	case edge >= '0' && edge <= '9':
		return isASCIILetter(neighbour) || neighbour >= '0' && neighbour <= '9'
	}
	return false
}

func isASCIILetter(b byte) bool { return textnorm.IsASCIILetter(rune(b)) }

func hasUpper(s string) bool { return strings.IndexFunc(s, unicode.IsUpper) >= 0 }

// NumberRule finds a run of digits that is a contact number: a phone
// number by its length and prefix, a QQ number by the word before it.
// Numbers are read in the normalised text, so 138 1234 5678, 138-1234-5678
// and 幺三八一二三四五六七八 are the same number.
type NumberRule struct {
	Name   string `json:"name"`
	Digits [2]int `json:"digits"`
	// Prefix is a regular expression the digits must match (^1[3-9]).
	Prefix string `json:"prefix,omitempty"`
	// After lists words one of which must come right before the digits
	// (QQ, 扣扣); the match then spans the word too.
	After  []string `json:"after,omitempty"`
	Source string   `json:"source,omitempty"`
	prefix *regexp.Regexp
	after  [][]byte
	term   Term
}

// findNumbers adds the contact numbers among the digit runs of norm.
func (m *Matcher) findNumbers(norm []byte, n *textnorm.Form, text string, cands []cand) []cand {
	if len(m.numbers) == 0 {
		return cands
	}
	for i := 0; i < len(norm); i++ {
		if norm[i] < '0' || norm[i] > '9' {
			continue
		}
		j := i + 1
		for j < len(norm) && norm[j] >= '0' && norm[j] <= '9' {
			j++
		}
		for _, r := range m.numbers {
			if l := j - i; l < r.Digits[0] || l > r.Digits[1] || r.prefix != nil && !r.prefix.Match(norm[i:j]) {
				continue
			}
			start := i
			if len(r.after) > 0 {
				start = -1
				for _, w := range r.after {
					if bytes.HasSuffix(norm[:i], w) {
						start = i - len(w)
						break
					}
				}
				if start < 0 {
					continue
				}
			}
			os, oe := n.Span(start, j)
			if glued(text, os, oe) {
				continue
			}
			cands = append(cands, cand{start: os, end: oe, term: &r.term})
			break
		}
		i = j
	}
	return cands
}

// TextPattern is a regular expression over the text as written, for
// contact details that normalising would erase (the plus of ＋v). It runs
// only on windows of the text around the characters of Prefilter, one of
// which every match contains within patternReach bytes of its edges, which
// keeps it off almost every text; a match must not be preceded or followed
// by an ASCII letter or digit.
type TextPattern struct {
	Name      string `json:"name"`
	Regexp    string `json:"regexp"`
	Prefilter string `json:"prefilter"`
	// Left and Right, when set, list characters one of which must stand
	// right before (Left) or after (Right) the prefilter character, white
	// space aside, as the keyword of every match does (v: before the colon,
	// +v after the plus); lower case stands for both cases.
	Left   string `json:"left,omitempty"`
	Right  string `json:"right,omitempty"`
	Source string `json:"source,omitempty"`
	re     *regexp.Regexp
	term   Term
}

// near reports whether text around the prefilter character text[i:j]
// has a character of Left before it and of Right after it.
func (p *TextPattern) near(text string, i, j int) bool {
	if p.Left != "" {
		k := strings.TrimRightFunc(text[:i], unicode.IsSpace)
		r, _ := utf8.DecodeLastRuneInString(k)
		if !strings.ContainsRune(p.Left, unicode.ToLower(edgeFold.Rune(r))) {
			return false
		}
	}
	if p.Right != "" {
		k := strings.TrimLeftFunc(text[j:], unicode.IsSpace)
		r, _ := utf8.DecodeRuneInString(k)
		if !strings.ContainsRune(p.Right, unicode.ToLower(edgeFold.Rune(r))) {
			return false
		}
	}
	return true
}

// patternReach is how far from a prefilter character a match can reach,
// in bytes: a keyword, a few spaces and an id of up to 20 characters.
const patternReach = 32

func (p *TextPattern) compile() error {
	var err error
	if p.re, err = regexp.Compile(p.Regexp); err != nil {
		return err
	}
	if p.Prefilter == "" {
		return errors.New("no prefilter")
	}
	return nil
}

// findPatterns adds the matches of the text patterns found in windows of
// text around their prefilter characters, merged where they overlap.
func (m *Matcher) findPatterns(text string, cands []cand) []cand {
	var at []int
	for _, p := range m.patterns {
		at = at[:0]
		for _, r := range p.Prefilter {
			needle := string(r)
			for i := 0; ; {
				j := strings.Index(text[i:], needle)
				if j < 0 {
					break
				}
				if p.near(text, i+j, i+j+len(needle)) {
					at = append(at, i+j)
				}
				i += j + len(needle)
			}
		}
		if len(at) == 0 {
			continue
		}
		sort.Ints(at)
		from, to := -1, -1
		flush := func() {
			if from < 0 {
				return
			}
			for _, loc := range p.re.FindAllStringIndex(text[from:to], -1) {
				start, end := from+loc[0], from+loc[1]
				if start < end && !touchesAlnum(text, start, end) {
					cands = append(cands, cand{start: start, end: end, term: &p.term})
				}
			}
		}
		for _, i := range at {
			lo, hi := runeStart(text, max(0, i-patternReach)), runeStart(text, min(len(text), i+patternReach))
			if lo <= to {
				to = max(to, hi)
			} else {
				flush()
				from, to = lo, hi
			}
		}
		flush()
	}
	return cands
}

// runeStart moves i back to the start of the rune it falls in.
func runeStart(s string, i int) int {
	for i > 0 && i < len(s) && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}

// touchesAlnum reports whether text[start:end] has an ASCII letter or
// digit (as written or in full width) right before or after it.
func touchesAlnum(text string, start, end int) bool {
	if start > 0 {
		if r, _ := utf8.DecodeLastRuneInString(text[:start]); edgeByte(r) != 0 {
			return true
		}
	}
	if end < len(text) {
		if r, _ := utf8.DecodeRuneInString(text[end:]); edgeByte(r) != 0 {
			return true
		}
	}
	return false
}
