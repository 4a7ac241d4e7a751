package htmltext_test

import (
	"testing"

	"github.com/listinggen/listinggen/internal/htmltext"
)

func TestPlainText(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"plain\n\n  text  here ":                          "plain\ntext here",
		"<p>一</p><ul><li>二</li><li>三&amp;四</li></ul>":     "一\n二\n三&四",
		"a<br>b<script>evil()</script><style>x{}</style>": "a\nb",
		"尺寸<10cm": "尺寸<10cm",
	}
	for in, want := range cases {
		if got := htmltext.PlainText(in); got != want {
			t.Errorf("PlainText(%q) = %q, want %q", in, got, want)
		}
	}
}
