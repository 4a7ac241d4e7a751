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
// brands of one tenant and shop. The words make a small automaton of their
// own on top of the built-in ones, and derived checkers are cached by
// content, so a shop's automaton is built once, not per request. A
// checker with a scope (In) keeps it.
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
	d := c.derived.get(customKey(banned, allowed), func() *Checker {
		return &Checker{categories: c.categories, claims: c.claims, derived: newDerivedCache(),
			matcher: c.matcher.With(banned, allowed)}
	})
	if c.scope.Platform != "" || c.scope.Category != "" || len(c.scope.Licences) > 0 {
		return d.In(c.scope)
	}
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

// derivedCache holds a checker's derived checkers by the key of their
// words; the checkers In makes share their origin's.
type derivedCache struct {
	mu      sync.Mutex
	derived map[string]*Checker
}

func newDerivedCache() *derivedCache { return &derivedCache{derived: map[string]*Checker{}} }

// get returns the checker cached under key, building it first if needed.
func (dc *derivedCache) get(key string, build func() *Checker) *Checker {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if d, ok := dc.derived[key]; ok {
		return d
	}
	if len(dc.derived) >= maxDerived {
		dc.derived = map[string]*Checker{} // a crude bound: shops change rarely
	}
	d := build()
	dc.derived[key] = d
	return d
}
