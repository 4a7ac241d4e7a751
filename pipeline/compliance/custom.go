package compliance

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"sync"

	"github.com/listinggen/listinggen"
)

// customCategory is the category of terms a tenant or shop adds.
const customCategory = "custom"

// With returns a checker that also bans words and allows the words and
// brands of one tenant and shop. Derived checkers are cached by content, so
// the automaton for a shop is built once, not per request.
func (c *Checker) With(words ...listinggen.WordRules) *Checker {
	var banned []Term
	var allowed []string
	for _, w := range words {
		for _, b := range w.BannedWords {
			banned = append(banned, Term{Term: b.Term, Category: customCategory, Severity: orBlock(b.Severity), Suggestion: b.Suggestion})
		}
		allowed = append(allowed, w.AllowedWords...)
		// An authorised brand may be named.
		allowed = append(allowed, w.AuthorizedBrands...)
	}
	if len(banned) == 0 && len(allowed) == 0 {
		return c
	}
	key := customKey(banned, allowed)
	c.derivedMu.Lock()
	defer c.derivedMu.Unlock()
	if d, ok := c.derived[key]; ok {
		return d
	}
	if len(c.derived) >= maxDerived {
		c.derived = map[string]*Checker{} // a crude bound: shops change rarely
	}
	d := &Checker{
		categories: c.categories,
		terms:      append(append([]Term(nil), c.terms...), banned...),
		allow:      append(append([]string(nil), c.allow...), allowed...),
	}
	d.derived = map[string]*Checker{}
	// The tenant's and shop's terms come first so that a custom term that
	// repeats a built-in one keeps the custom severity and suggestion.
	d.matcher = NewMatcher(append(append([]Term(nil), banned...), c.terms...), d.allow)
	c.derived[key] = d
	return d
}

const maxDerived = 1024

func orBlock(s listinggen.Severity) listinggen.Severity {
	if s == "" {
		return listinggen.SeverityBlock
	}
	return s
}

func customKey(banned []Term, allowed []string) string {
	parts := make([]string, 0, len(banned)+len(allowed))
	for _, t := range banned {
		parts = append(parts, "b\x00"+t.Term+"\x00"+string(t.Severity)+"\x00"+t.Suggestion)
	}
	for _, a := range allowed {
		parts = append(parts, "a\x00"+a)
	}
	sort.Strings(parts)
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x01")))
	return hex.EncodeToString(sum[:])
}

// derivedCache is embedded in Checker.
type derivedCache struct {
	derivedMu sync.Mutex
	derived   map[string]*Checker
}
