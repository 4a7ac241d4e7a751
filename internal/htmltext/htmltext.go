// Package htmltext turns supplier HTML into plain text lines. The rules
// rewriter, the prompts, the grounding check and the fake model all read
// descriptions through it, so they see the same text.
package htmltext

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/listinggen/listinggen/textnorm"
)

// PlainText turns a supplier description (plain text or HTML) into plain
// text lines: tags dropped, entities decoded, block elements and <br> as
// line breaks, script and style content removed, blank lines dropped.
func PlainText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return cleanLines(s)
	}
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return cleanLines(b.String())
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.Script, atom.Style:
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case atom.Br, atom.P, atom.Div, atom.Li, atom.Ul, atom.Ol, atom.Tr, atom.Table,
				atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Section, atom.Article, atom.Img:
				b.WriteByte('\n')
			case atom.Td, atom.Th:
				b.WriteByte(' ')
			}
		}
	}
}

func cleanLines(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line = textnorm.CollapseSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
