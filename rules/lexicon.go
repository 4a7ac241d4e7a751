package rules

import (
	_ "embed"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/listinggen/listinggen/textnorm"
)

//go:embed data/lexicon.txt
var lexiconData string

// class says where a phrase goes in a rewritten title.
type class int

const (
	classUnknown class = iota
	classCore
	classProduct
	classAttribute
	classMaterial
	classAudience
	classStyle
	classFunction
	classSeason
	classScene
)

var classNames = map[string]class{
	"product": classProduct, "material": classMaterial, "audience": classAudience, "style": classStyle,
	"function": classFunction, "season": classSeason, "scene": classScene,
}

// lexicon maps ASCII-lower-cased phrases to their class.
type lexicon struct {
	phrases map[string]class
	maxLen  int // longest phrase in runes
}

func parseLexicon(data string) (*lexicon, error) {
	lx := &lexicon{phrases: map[string]class{}}
	for i, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		phrase, name, ok := strings.Cut(line, "\t")
		c, known := classNames[strings.TrimSpace(name)]
		if !ok || !known {
			return nil, fmt.Errorf("lexicon line %d: want \"phrase<TAB>class\", got %q", i+1, line)
		}
		lx.add(phrase, c)
	}
	return lx, nil
}

func (lx *lexicon) add(phrase string, c class) {
	phrase = textnorm.LowerASCII(strings.TrimSpace(phrase))
	if phrase == "" {
		return
	}
	if old, ok := lx.phrases[phrase]; ok && old < c && old != classUnknown {
		return // keep the stronger (lower) class: core beats attribute beats the rest
	}
	lx.phrases[phrase] = c
	if n := utf8.RuneCountInString(phrase); n > lx.maxLen {
		lx.maxLen = n
	}
}

// with returns a copy extended with the product's own phrases.
func (lx *lexicon) with(extra map[string]class) *lexicon {
	out := &lexicon{phrases: make(map[string]class, len(lx.phrases)+len(extra)), maxLen: lx.maxLen}
	for k, v := range lx.phrases {
		out.phrases[k] = v
	}
	for k, v := range extra {
		out.add(k, v)
	}
	return out
}
