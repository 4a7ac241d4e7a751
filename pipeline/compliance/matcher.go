package compliance

import (
	"sort"
	"sync"

	ahocorasick "github.com/petar-dambovaliev/aho-corasick"

	"github.com/listinggen/listinggen/textnorm"
)

// matchForm is how text and terms are compared: NFKC (full-width →
// half-width, compatibility forms folded), lower-cased, with spaces,
// punctuation, symbols, emoji and invisible format characters removed, so
// that 最 好, 第-一, 顶\u200b级 and ＮＯ．１ match 最好, 第一, 顶级 and no.1. The
// Form's map back to the original reports violations where the seller
// wrote them.
var matchForm = textnorm.New(textnorm.Options{Compat: true, Fold: textnorm.FoldCase, Drop: textnorm.DropIgnorable})

// formPool spares the matcher a Form allocation per text.
var formPool = sync.Pool{New: func() any { return new(textnorm.Form) }}

// Matcher finds word-list terms in one pass of an Aho–Corasick automaton
// over text normalised by matchForm. Allow-terms (最近, 第一次, 最大承重)
// are patterns of the same automaton, and the leftmost-longest selection in
// Find lets an allow-term that covers a banned term win, which is what
// stops 最 in 最近 or 第一 in 第一次 from crying wolf. Latin terms match only
// on word boundaries (QQ, VX but not VXE3000). Immutable after
// construction; safe for concurrent use.
type Matcher struct {
	ac      ahocorasick.AhoCorasick
	entries []matcherEntry
}

type matcherEntry struct {
	term *Term // nil for an allow-term
	// first and last are the pattern's edge characters; Latin edges need a
	// word boundary in the text.
	first, last byte
}

// Hit is one match, as a byte span of the original text.
type Hit struct {
	Term       *Term
	Start, End int
}

// NewMatcher builds the automaton. A pattern that is both a term and an
// allow-term is allowed; duplicate terms keep the first.
func NewMatcher(terms []Term, allow []string) *Matcher {
	m := &Matcher{}
	index := map[string]int{}
	var patterns []string
	add := func(pattern string, t *Term) {
		if pattern == "" {
			return
		}
		if i, ok := index[pattern]; ok {
			if t == nil {
				m.entries[i].term = nil
			}
			return
		}
		index[pattern] = len(patterns)
		patterns = append(patterns, pattern)
		m.entries = append(m.entries, matcherEntry{term: t, first: pattern[0], last: pattern[len(pattern)-1]})
	}
	for _, a := range allow {
		add(matchForm.String(a), nil)
	}
	for i := range terms {
		add(matchForm.String(terms[i].Term), &terms[i])
	}
	b := ahocorasick.NewAhoCorasickBuilder(ahocorasick.Opts{MatchKind: ahocorasick.StandardMatch, DFA: true})
	m.ac = b.Build(patterns)
	return m
}

// Find returns the banned terms in text, in order, as spans of text.
//
// It takes every (overlapping) match from the automaton, drops Latin terms
// that are not on word boundaries, and then keeps the leftmost-longest
// non-overlapping set, doing that selection here rather than in the
// automaton so the boundary filter runs first and cannot hide a valid
// shorter match.
func (m *Matcher) Find(text string) []Hit {
	n := formPool.Get().(*textnorm.Form)
	defer formPool.Put(n)
	matchForm.NormalizeInto(n, text)
	if n.Len() == 0 || len(m.entries) == 0 {
		return nil
	}
	type cand struct {
		start, end int // in n.Bytes()
		entry      matcherEntry
	}
	var cands []cand
	it := m.ac.IterOverlappingByte(n.Bytes())
	for match := it.Next(); match != nil; match = it.Next() {
		e := m.entries[match.Pattern()]
		c := cand{match.Start(), match.End(), e}
		// Boundaries are judged in the original text: "iPhone VX" has one
		// at the space that normalising removed, "VXE3000" has none.
		os, oe := n.Span(c.start, c.end)
		if os > 0 && gluedTo(e.first, text[os-1]) || oe < len(text) && gluedTo(e.last, text[oe]) {
			continue
		}
		cands = append(cands, c)
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].start != cands[j].start {
			return cands[i].start < cands[j].start
		}
		return cands[i].end > cands[j].end
	})
	var hits []Hit
	covered := 0
	for _, c := range cands {
		if c.start < covered {
			continue
		}
		covered = c.end
		if c.entry.term != nil {
			start, end := n.Span(c.start, c.end)
			hits = append(hits, Hit{Term: c.entry.term, Start: start, End: end})
		}
	}
	return hits
}

// gluedTo reports whether a term's Latin edge character continues into the
// neighbouring byte of the text: a letter into a letter (VX in VXE3000), a
// digit into a letter or digit (no.1 in no.1ne, top1 in top10). A letter
// followed by digits still matches (QQ in QQ123456).
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
