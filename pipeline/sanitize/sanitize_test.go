package sanitize

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/listinggen/listinggen"
)

func TestText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"法式复古碎花连衣裙":                             "法式复古碎花连衣裙",
		"<b>法式</b>连衣裙":                          "法式连衣裙",
		"连衣裙<script>alert(1)</script>":          "连衣裙",
		"&lt;img src=x onerror=alert(1)&gt;连衣裙": "连衣裙",
		"&amp;lt;b&amp;gt;粗体":                   "粗体",
		"T恤 & 短裤":                               "T恤 & 短裤",
		"3<5 尺码":                                "35 尺码",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHTML(t *testing.T) {
	t.Parallel()
	in := `<p onclick="x()">柔软<b>棉</b><script>steal()</script><a href="javascript:alert(1)">链接</a><img src=x onerror=alert(1)><iframe src="//evil"></iframe></p>`
	got := HTML(in)
	for _, bad := range []string{"script", "onclick", "javascript:", "onerror", "iframe", "steal"} {
		if strings.Contains(got, bad) {
			t.Errorf("HTML kept %q: %s", bad, got)
		}
	}
	if !strings.Contains(got, "<b>棉</b>") || !strings.Contains(got, "柔软") {
		t.Errorf("HTML lost safe formatting: %s", got)
	}
	if s := "纯文本描述，没有标记。"; HTML(s) != s {
		t.Errorf("HTML changed plain text: %q", HTML(s))
	}
}

func TestCopyNamesChangedFields(t *testing.T) {
	t.Parallel()
	cp, changed := Copy(listinggen.Copy{Title: "<i>裙</i>", SellingPoints: []string{"棉", "<b>软</b>", "<u>a</u>"}, Description: "好", Keywords: []string{"裙"}})
	if cp.Title != "裙" || cp.SellingPoints[1] != "软" || cp.SellingPoints[2] != "a" || strings.Join(changed, ",") != "title,selling_points" {
		t.Fatalf("Copy = %+v, changed %v", cp, changed)
	}
}

// FuzzText: no angle bracket survives and the output is valid UTF-8.
func FuzzText(f *testing.F) {
	for _, s := range []string{"<b>x</b>", "&lt;script&gt;", "连衣裙", "a<b", "&amp;amp;lt;", "<<script>script>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		got := Text(s)
		if strings.ContainsAny(got, "<>") || !utf8.ValidString(got) {
			t.Fatalf("Text(%q) = %q", s, got)
		}
	})
}
