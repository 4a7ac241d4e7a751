package compliance

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
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

// scratch is what Find needs per text, pooled to spare the allocations.
type scratch struct {
	form  textnorm.Form
	cands []cand
	at    []int
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

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
	// only around runs of Latin letters, where a pinyin spelling must be.
	pinyin *layer
	// before and after bound how far a pinyin spelling reaches from its
	// Latin letters, in bytes; vowels is false if some spelling has a
	// syllable without a vowel (ng), which turns off skipping runs of
	// letters that have none (cm, ml).
	before, after int
	vowels        bool
	// numbers and patterns find contact details (phone and QQ numbers,
	// ＋v) that no fixed term describes; prefilter has every pattern's
	// prefilter characters, firstBytes their first bytes.
	numbers    []*NumberRule
	patterns   []*TextPattern
	prefilter  string
	firstBytes []byte
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
	// the text but for a capital first letter (Zui佳), since a capital
	// further on makes an abbreviation (PI发热膜 is polyimide, not 批发).
	pinyin bool
	// latin is set when the pattern begins or ends with an ASCII letter or
	// digit: only then can a match continue a word of the text, since an
	// ASCII letter or digit of the text always normalises to one.
	latin bool
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
	m := &Matcher{layers: []*layer{newLayer(terms, allow, 0)}, vowels: true}
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
			variants = append(variants, matcherEntry{term: t, pinyin: true, latin: latinEdge(v)})
			first := strings.IndexFunc(v, isLowerLetter)
			last := strings.LastIndexFunc(v, isLowerLetter)
			m.before, m.after = max(m.before, first), max(m.after, len(v)-last-1)
			for _, seg := range strings.FieldsFunc(v, func(r rune) bool { return !isLowerLetter(r) }) {
				m.vowels = m.vowels && strings.ContainsAny(seg, "aeiouv")
			}
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
	d.prefilter, d.firstBytes = "", nil
	for _, p := range patterns {
		d.prefilter += p.Prefilter
		for _, r := range p.Prefilter {
			if b := string(r)[0]; !slices.Contains(d.firstBytes, b) {
				d.firstBytes = append(d.firstBytes, b)
			}
		}
	}
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
		e := matcherEntry{term: t, latin: latinEdge(pattern)}
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

func isLowerLetter(r rune) bool { return r >= 'a' && r <= 'z' }

// latinEdge reports whether a normalised pattern begins or ends with an
// ASCII letter or digit.
func latinEdge(p string) bool {
	return textnorm.IsASCIIAlnum(rune(p[0])) || textnorm.IsASCIIAlnum(rune(p[len(p)-1]))
}

// cand is a match before selection, as a byte span of the normalised text;
// a text pattern's match also keeps its span of the original (src), which
// may hold runes normalising drops (the plus of ＋v).
type cand struct {
	start, end int
	term       *Term // nil for an allow-term
	rank       int
	src        *[2]int
}

// Find returns the banned terms in text, in order, as spans of text.
//
// It takes every (overlapping) match from the automata, drops those that
// are not on word boundaries, and then keeps the leftmost-longest
// non-overlapping set (an allow-term winning a tie), doing that selection
// here rather than in the automaton so the boundary filter runs first and
// cannot hide a valid shorter match.
func (m *Matcher) Find(text string) []Hit {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	n := &sc.form
	matchForm.NormalizeInto(n, text)
	norm := n.Bytes()
	cands := sc.cands[:0]
	if len(norm) > 0 {
		for _, l := range m.layers {
			cands = l.find(norm, 0, n, text, cands)
		}
		cands = m.findPinyin(norm, n, text, cands)
		cands = m.findNumbers(norm, n, text, cands)
	}
	cands = m.findPatterns(text, n, cands, sc)
	sc.cands = cands
	if len(cands) == 0 {
		return nil
	}
	slices.SortFunc(cands, func(a, b cand) int {
		switch {
		case a.start != b.start:
			return a.start - b.start
		case a.end != b.end:
			return b.end - a.end
		case (a.term == nil) != (b.term == nil):
			if a.term == nil {
				return -1
			}
			return 1
		}
		return b.rank - a.rank
	})
	var hits []Hit
	covered := 0
	for _, c := range cands {
		if c.start < covered {
			continue
		}
		covered = c.end
		if c.term == nil {
			continue
		}
		if c.src != nil {
			hits = append(hits, Hit{Term: c.term, Start: c.src[0], End: c.src[1]})
			continue
		}
		start, end := n.Span(c.start, c.end)
		hits = append(hits, Hit{Term: c.term, Start: start, End: end})
	}
	return hits
}

// find adds the layer's matches in norm[off:] (the whole normalised text
// is n) to cands.
func (l *layer) find(norm []byte, off int, n *textnorm.Form, text string, cands []cand) []cand {
	l.ac.each(norm, func(p, start, end int) {
		e := l.entries[p]
		start, end = off+start, off+end
		if e.latin || e.literal != "" || e.pinyin {
			os, oe := n.Span(start, end)
			if e.latin && glued(text, os, oe) ||
				e.literal != "" && literalForm.String(text[os:oe]) != e.literal ||
				e.pinyin && capitalAfterFirst(text[os:oe]) {
				return
			}
		}
		cands = append(cands, cand{start: start, end: end, term: e.term, rank: l.rank})
	})
	return cands
}

// findPinyin runs the pinyin automaton over the windows of norm that reach
// a run of Latin letters, merged where they overlap: a pinyin spelling
// holds letters, and reaches at most m.before bytes before them and
// m.after after them.
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
		j, vowel := i, false
		for ; j < len(norm) && norm[j] >= 'a' && norm[j] <= 'z'; j++ {
			vowel = vowel || isVowel[norm[j]]
		}
		if vowel || !m.vowels {
			lo, hi := max(0, i-m.before), min(len(norm), j+m.after)
			if lo <= to {
				to = hi
			} else {
				flush()
				from, to = lo, hi
			}
		}
		i = j
	}
	flush()
	return cands
}

var isVowel = [256]bool{'a': true, 'e': true, 'i': true, 'o': true, 'u': true, 'v': true}

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

// capitalAfterFirst reports an upper-case letter anywhere in s but its
// first rune.
func capitalAfterFirst(s string) bool {
	_, size := utf8.DecodeRuneInString(s)
	return strings.IndexFunc(s[size:], unicode.IsUpper) >= 0
}

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
			if os, oe := n.Span(start, j); glued(text, os, oe) {
				continue
			}
			cands = append(cands, cand{start: start, end: j, term: &r.term})
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
// text around their prefilter characters, merged where they overlap, as
// the normalised bytes they cover. One pass over the bytes finds the
// prefilter characters of every pattern.
func (m *Matcher) findPatterns(text string, n *textnorm.Form, cands []cand, sc *scratch) []cand {
	if len(m.patterns) == 0 {
		return cands
	}
	at := sc.at[:0]
	for _, b := range m.firstBytes {
		for i := 0; ; i++ {
			j := strings.IndexByte(text[i:], b)
			if j < 0 {
				break
			}
			i += j
			if r, _ := utf8.DecodeRuneInString(text[i:]); strings.ContainsRune(m.prefilter, r) {
				at = append(at, i)
			}
		}
	}
	slices.Sort(at)
	sc.at = at
	for _, p := range m.patterns {
		from, to := -1, -1
		flush := func() {
			if from < 0 {
				return
			}
			for _, loc := range p.re.FindAllStringIndex(text[from:to], -1) {
				start, end := from+loc[0], from+loc[1]
				if touchesAlnum(text, start, end) {
					continue
				}
				if a, b := n.Cover(start, end); a < b {
					cands = append(cands, cand{start: a, end: b, term: &p.term, src: &[2]int{start, end}})
				}
			}
		}
		for _, i := range at {
			r, size := utf8.DecodeRuneInString(text[i:])
			if !strings.ContainsRune(p.Prefilter, r) || !p.near(text, i, i+size) {
				continue
			}
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
