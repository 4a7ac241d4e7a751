package compliance

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/textnorm"
)

// TestAutomatonFindsWhatIndexFinds: every occurrence of every pattern, on
// random texts over a small alphabet of ASCII and Han bytes where patterns
// overlap and nest.
func TestAutomatonFindsWhatIndexFinds(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "b", "1", "最", "佳", "第", "一"}
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for round := range 200 {
		seen := map[string]bool{}
		var patterns []string
		for range 1 + rng.IntN(12) {
			if p := word(1 + rng.IntN(4)); !seen[p] {
				seen[p] = true
				patterns = append(patterns, p)
			}
		}
		a := newAutomaton(patterns)
		text := []byte(word(rng.IntN(40)))
		var got []string
		a.each(text, func(p, start, end int) {
			if string(text[start:end]) != patterns[p] {
				t.Fatalf("round %d: pattern %q reported at %q", round, patterns[p], text[start:end])
			}
			got = append(got, patterns[p]+"@"+string(rune('0'+start)))
		})
		var want []string
		for i := range text {
			for _, p := range patterns {
				if strings.HasPrefix(string(text[i:]), p) {
					want = append(want, p+"@"+string(rune('0'+i)))
				}
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: patterns %q in %q: got %v, want %v", round, patterns, text, got, want)
		}
	}
	if newAutomaton(nil) != nil {
		t.Error("an automaton without patterns")
	}
}

// TestPinyinTableCoversTheWordLists fails when a word list gained a
// character that data/pinyin.json lacks: run go generate.
func TestPinyinTableCoversTheWordLists(t *testing.T) {
	t.Parallel()
	d, err := loadData()
	if err != nil {
		t.Fatal(err)
	}
	table, err := pinyinTable()
	if err != nil {
		t.Fatal(err)
	}
	for _, term := range d.terms {
		if !term.pinyin {
			continue
		}
		for _, r := range term.Term {
			if textnorm.IsHan(r) && len(table[r]) == 0 {
				t.Errorf("%c of %q has no reading in data/pinyin.json: run go generate ./pipeline/compliance", r, term.Term)
			}
		}
	}
}

func TestPinyinVariants(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		term string
		has  []string
		not  []string
	}{
		{"最佳", []string{"zui佳", "最jia"}, []string{"zuijia", "最佳"}},
		{"最低价", []string{"zui低价", "最di价", "zuidi价", "zuidijia"}, nil},
		{"一件代发", []string{"yi件代发", "1jian代发", "1件代fa", "yijiandaifa"}, []string{"yijian代发"}},
		{"有效率", []string{"有效lv", "有效lu", "youxiaolv"}, nil},
		{"最", nil, []string{"zui"}},
		{"NO.1", nil, []string{"no1"}},
	} {
		got := pinyinVariants(tc.term)
		for _, v := range tc.has {
			if !slices.Contains(got, v) {
				t.Errorf("pinyinVariants(%q) = %q, lacks %q", tc.term, got, v)
			}
		}
		for _, v := range tc.not {
			if slices.Contains(got, v) {
				t.Errorf("pinyinVariants(%q) has %q", tc.term, v)
			}
		}
	}
}

func TestClaimsNameTheirLicences(t *testing.T) {
	t.Parallel()
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range c.Licences() {
		if l.Name == "" || l.Source == "" {
			t.Errorf("licence %+v needs a name and a source", l)
		}
		ids = append(ids, l.ID)
	}
	if !slices.IsSorted(ids) || !slices.Contains(ids, "cosmetics_special") || !slices.Contains(ids, "health_food") {
		t.Errorf("licences = %v", ids)
	}
	errs := c.CheckLicences("licences", []string{"ccc", "nope"})
	if len(errs) != 1 || errs[0].Field != "licences[1]" || !strings.Contains(errs[0].Message, "cosmetics_special") {
		t.Errorf("CheckLicences = %+v", errs)
	}
	bad := claimSet{Claims: []*claim{{ID: "x", Needs: map[string]string{"toys": "nope"}}}}
	if err := bad.validate(); err == nil || !strings.Contains(err.Error(), "toys") || !strings.Contains(err.Error(), "nope") {
		t.Errorf("validate = %v", err)
	}
	cm := c.claims.Claims[0]
	for _, tc := range []struct {
		cats, licences []string
		ok             bool
		why            string
	}{
		{nil, nil, false, "the shop declares no"},
		{nil, []string{"cosmetics_special"}, true, ""},
		{[]string{"cosmetics"}, []string{"cosmetics_special"}, true, ""},
		{[]string{"apparel"}, []string{"cosmetics_special"}, false, "not a lawful claim for 服装鞋帽"},
		{[]string{"cosmetics"}, []string{"health_food"}, false, "特殊化妆品注册证"},
	} {
		ok, why := c.claims.allows(cm, tc.cats, tc.licences)
		if ok != tc.ok || !strings.Contains(why, tc.why) {
			t.Errorf("allows(%s, %v, %v) = %v, %q", cm.ID, tc.cats, tc.licences, ok, why)
		}
	}
}

// TestScopeSurvivesWith: a shop's words on a scoped checker keep the
// scope, and scoped checkers share the automata.
func TestScopeSurvivesWith(t *testing.T) {
	t.Parallel()
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	scoped := c.In(Scope{Platform: "taobao", Category: "美妆/面霜", Licences: []string{"cosmetics_special"}})
	if scoped.matcher != c.matcher || scoped.derived != c.derived {
		t.Error("In copied the automata")
	}
	d := scoped.With(listinggenWords("秒杀"))
	vs := d.FindTerms("title", "美白 面霜 秒杀 淘宝同款")
	if len(vs) != 1 || vs[0].Term != "秒杀" {
		t.Errorf("scoped and derived: %+v", vs)
	}
	if c.With(listinggenWords("秒杀")).matcher != d.matcher {
		t.Error("the derived automaton was built twice")
	}
}

func listinggenWords(banned ...string) listinggen.WordRules {
	var w listinggen.WordRules
	for _, b := range banned {
		w.BannedWords = append(w.BannedWords, listinggen.CustomTerm{Term: b})
	}
	return w
}
