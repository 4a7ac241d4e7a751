package compliance_test

import (
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/compliance"
)

func newChecker(t *testing.T) *compliance.Checker {
	t.Helper()
	c, err := compliance.New()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func terms(vs []listinggen.Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Term)
	}
	return out
}

func TestFindTermsIsPreciseAboutWordBoundaries(t *testing.T) {
	t.Parallel()
	c := newChecker(t)
	cases := []struct {
		text string
		want []string
	}{
		{"最近很火的连衣裙", nil},
		{"第一次穿就爱上", nil},
		{"万能胶 强力", nil},
		{"最大承重150kg", nil},
		{"国家级品质 第一品牌", []string{"国家级", "第一品牌"}},
		{"销量第一的保温杯", []string{"销量第一"}},
		{"全网最低价 厂家直销 一件代发", []string{"全网最低价", "厂家直销", "一件代发"}},
		{"加微信领券", []string{"加微信"}},
		{"联系QQ", []string{"QQ"}},
		{"QQQ星 手表", nil},
		{"vx同款", []string{"vx"}},
		{"VXE3000", nil},
		{"祛痘面膜", []string{"祛痘"}},
		{"开光貔貅", []string{"开光"}},
	}
	for _, tc := range cases {
		got := terms(c.FindTerms("title", tc.text))
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("FindTerms(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestViolationsCarryRuneOffsetsRuleAndSuggestion(t *testing.T) {
	t.Parallel()
	c := newChecker(t)
	vs := c.FindTerms("title", "保温杯最佳选择")
	if len(vs) != 1 {
		t.Fatalf("violations = %+v", vs)
	}
	v := vs[0]
	if v.Start != 3 || v.End != 5 || v.Term != "最佳" || v.Category != "absolute" || v.Severity != listinggen.SeverityBlock ||
		v.Suggestion != "优选" || !strings.Contains(v.Rule, "广告法第九条") {
		t.Errorf("violation = %+v", v)
	}
	if []rune("保温杯最佳选择")[v.Start] != '最' {
		t.Error("Start is not a rune offset")
	}
}

func TestCheckReportsLengthEmojiAndSeverity(t *testing.T) {
	t.Parallel()
	c := newChecker(t)
	rules := c.Rules(listinggen.PlatformDouyin)
	if rules.TitleMaxUnits != 60 || !rules.ForbidEmoji {
		t.Fatalf("douyin rules = %+v", rules)
	}
	ok := c.Check(rules, listinggen.Copy{Title: strings.Repeat("裙", 30)})
	if !ok.OK || len(ok.Violations) != 0 {
		t.Errorf("30 汉字 title rejected: %+v", ok)
	}
	long := c.Check(rules, listinggen.Copy{Title: strings.Repeat("裙", 30) + "a"})
	if long.OK || long.Violations[0].Category != "length" {
		t.Errorf("61-unit title accepted: %+v", long)
	}
	emoji := c.Check(rules, listinggen.Copy{Title: "连衣裙🔥✨夏季"})
	if emoji.OK || len(emoji.Violations) != 1 || emoji.Violations[0].Term != "🔥✨" || emoji.Violations[0].Start != 3 {
		t.Errorf("emoji: %+v", emoji)
	}
	warn := c.Check(rules, listinggen.Copy{Title: "纯天然 棉被"})
	if !warn.OK || len(warn.Violations) != 1 || warn.Violations[0].Severity != listinggen.SeverityWarn {
		t.Errorf("a warning blocked the listing: %+v", warn)
	}
	sp := c.Check(rules, listinggen.Copy{Title: "裙", SellingPoints: []string{"第一品牌"}, Description: "厂家直销"})
	if sp.OK || len(sp.Violations) != 2 || sp.Violations[0].Field != "selling_points[0]" || sp.Violations[1].Field != "description" {
		t.Errorf("selling points and description: %+v", sp)
	}
	generic := c.Rules(listinggen.PlatformGeneric)
	if generic.ForbidEmoji {
		t.Error("generic profile forbids emoji")
	}
}

func TestCleanRemovesTermsAndEmojiButKeepsAllowedWords(t *testing.T) {
	t.Parallel()
	c := newChecker(t)
	got := c.Clean("🔥最近热卖 第一次用 极品 最佳 连衣裙 一件代发")
	if got != "最近热卖 第一次用 精选 优选 连衣裙 " {
		t.Errorf("Clean = %q", got)
	}
}

func TestWithAddsTenantAndShopWordsAndIsCached(t *testing.T) {
	t.Parallel()
	c := newChecker(t)
	tenant := listinggen.WordRules{BannedWords: []listinggen.CustomTerm{{Term: "秒杀", Severity: listinggen.SeverityWarn, Suggestion: "限时"}}}
	shop := listinggen.WordRules{AllowedWords: []string{"万能宝"}, AuthorizedBrands: []string{"华为"}}
	d := c.With(tenant, shop)
	vs := d.FindTerms("title", "秒杀 万能宝 华为 耳机 第一品牌")
	if got := strings.Join(terms(vs), ","); got != "秒杀,第一品牌" {
		t.Fatalf("derived checker found %v", got)
	}
	if vs[0].Category != "custom" || vs[0].Severity != listinggen.SeverityWarn || vs[0].Suggestion != "限时" {
		t.Errorf("custom violation = %+v", vs[0])
	}
	if got := strings.Join(terms(c.FindTerms("title", "秒杀 万能宝 华为")), ","); got != "万能,华为" {
		t.Errorf("the base checker changed: %v", got)
	}
	if c.With(tenant, shop) != d {
		t.Error("the same words built a second automaton")
	}
	if c.With() != c || c.With(listinggen.WordRules{}) != c {
		t.Error("no custom words should return the base checker")
	}
	fifty := 50
	no := false
	r := c.Rules(listinggen.PlatformDouyin, listinggen.RuleOverrides{TitleMaxUnits: &fifty, ForbidEmoji: &no})
	if r.TitleMaxUnits != 50 || r.ForbidEmoji || r.MaxSellingPoints != 5 {
		t.Errorf("overridden rules = %+v", r)
	}
}
