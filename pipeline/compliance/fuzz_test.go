package compliance

import (
	"testing"
	"unicode/utf8"

	"github.com/listinggen/listinggen"
)

// FuzzCheck: whatever the text, the checker reports violations whose rune
// offsets lie inside the field they name. Never a panic.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"最近很火的连衣裙 第一品牌 一件代发🔥", "最 好", "第-一", "顶\u200b级", "ＮＯ．１", "加VX领券", "QQ", "适用华为", "\xff\xfe", "",
		"極品 第壹 zuì佳 ＋v:abc12345 138 1234 5678 扣扣 123456", "美白 降血压 淘宝"} {
		f.Add(s)
	}
	c, err := New()
	if err != nil {
		f.Fatal(err)
	}
	rules := c.Rules(listinggen.PlatformDouyin)
	scoped := c.In(Scope{Category: "美妆/面霜", Licences: []string{"cosmetics_special"}})
	f.Fuzz(func(t *testing.T, s string) {
		cp := listinggen.Copy{Title: s, Description: s + "\n" + s, SellingPoints: []string{s}}
		report := c.Check(rules, cp)
		report.Violations = append(report.Violations, scoped.Check(rules, cp).Violations...)
		fields := map[string]string{"title": cp.Title, "description": cp.Description, "selling_points[0]": s}
		for _, v := range report.Violations {
			text, ok := fields[v.Field]
			if !ok {
				continue // whole-copy rules (counts, lengths)
			}
			if n := utf8.RuneCountInString(text); v.Start < 0 || v.End < v.Start || v.End > n {
				t.Fatalf("violation %+v outside %s (%d runes)", v, v.Field, n)
			}
		}
	})
}
