package rules_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/sample"
	"github.com/listinggen/listinggen/pipeline/compliance"
	"github.com/listinggen/listinggen/pipeline/dedup"
	"github.com/listinggen/listinggen/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

func setup(t testing.TB) (*compliance.Checker, *rules.Rewriter) {
	t.Helper()
	c, err := compliance.New()
	if err != nil {
		t.Fatal(err)
	}
	rw, err := rules.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return c, rw
}

func rewrite(t testing.TB, rw *rules.Rewriter, rulesFor listinggen.TextRules, p *listinggen.Product, seed uint64) listinggen.Copy {
	t.Helper()
	out, err := rw.Rewrite(context.Background(), listinggen.RewriteRequest{Product: p, Rules: rulesFor, Seed: seed})
	if err != nil {
		t.Fatalf("Rewrite(%s): %v", p.ID, err)
	}
	return out.Copy
}

// Every sample product, on every platform: within the title limit, the core
// product word kept, no blocking violation, selling points and description
// within limits.
func TestEverySampleProductGivesValidCopyOnEveryPlatform(t *testing.T) {
	t.Parallel()
	c, rw := setup(t)
	products := sample.Products(t)
	for _, platform := range listinggen.Platforms {
		r := c.Rules(platform)
		for i := range products {
			p := &products[i]
			cp := rewrite(t, rw, r, p, 7)
			if u := listinggen.TitleUnits(cp.Title); u > r.TitleMaxUnits || u == 0 {
				t.Errorf("%s %s: title %q is %d units (limit %d)", platform, p.ID, cp.Title, u, r.TitleMaxUnits)
			}
			if core := p.CategoryLeaf(); !strings.Contains(strings.ToLower(cp.Title), strings.ToLower(core)) {
				t.Errorf("%s %s: title %q lost the core word %q", platform, p.ID, cp.Title, core)
			}
			if rep := c.Check(r, cp); !rep.OK {
				t.Errorf("%s %s: %q breaks rules: %+v", platform, p.ID, cp.Title, rep.Violations)
			}
			if len(cp.SellingPoints) == 0 || strings.Contains(cp.Description, "<") {
				t.Errorf("%s %s: selling points %v, description %q", platform, p.ID, cp.SellingPoints, cp.Description)
			}
		}
	}
}

func TestSameSeedSameCopyOtherSeedOtherTitle(t *testing.T) {
	t.Parallel()
	c, rw := setup(t)
	r := c.Rules(listinggen.PlatformTaobao)
	products := sample.Products(t)
	differ := 0
	for i := range products {
		a := rewrite(t, rw, r, &products[i], 1)
		b := rewrite(t, rw, r, &products[i], 1)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("%s: same seed gave different copy", products[i].ID)
		}
		if rewrite(t, rw, r, &products[i], 2).Title != a.Title {
			differ++
		}
	}
	// Titles with a single describing word have few arrangements; most
	// products must still differ between two shops.
	if share := float64(differ) / float64(len(products)); share < 0.85 {
		t.Errorf("only %.0f%% of products got different titles for two shops", 100*share)
	}
}

func TestJargonEmojiAndAbsoluteTermsAreRemoved(t *testing.T) {
	t.Parallel()
	c, rw := setup(t)
	p := &listinggen.Product{
		ID: "x", Title: "🔥2024夏季新款法式复古碎花连衣裙女收腰显瘦气质长裙 厂家直销一件代发 全网最低价 第一品牌",
		Category: "女装/连衣裙", Description: "<p>厂家直销</p><p>面料舒适</p><script>alert(1)</script>",
		Attributes: listinggen.Attributes{{Name: "材质", Values: []string{"聚酯纤维"}}, {Name: "颜色", Values: []string{"白色", "黑色"}}},
	}
	cp := rewrite(t, rw, c.Rules(listinggen.PlatformDouyin), p, 3)
	for _, bad := range []string{"🔥", "厂家直销", "一件代发", "最低价", "第一", "alert", "<p>"} {
		if strings.Contains(cp.Title+strings.Join(cp.SellingPoints, "")+cp.Description, bad) {
			t.Errorf("copy still contains %q: %+v", bad, cp)
		}
	}
	if !strings.HasPrefix(cp.Title, "连衣裙") {
		t.Errorf("title %q does not lead with the core word", cp.Title)
	}
	if !strings.Contains(cp.Description, "面料舒适") || !strings.Contains(cp.Description, "材质：聚酯纤维") {
		t.Errorf("description lost source facts: %q", cp.Description)
	}
}

func TestRepeatedWordsAreDropped(t *testing.T) {
	t.Parallel()
	c, rw := setup(t)
	p := &listinggen.Product{ID: "x", Title: "春秋镜头全包透明手机壳液态全包 手机壳 透明", Category: "手机配件/手机壳"}
	cp := rewrite(t, rw, c.Rules(listinggen.PlatformTaobao), p, 1)
	// The core word once; the others at most once (each shop keeps its
	// own share of the describing words).
	for _, w := range []string{"手机壳", "透明", "全包"} {
		if n := strings.Count(cp.Title, w); n > 1 || w == "手机壳" && n != 1 {
			t.Errorf("%q appears %d times in %q", w, n, cp.Title)
		}
	}
}

// Shops of a group get different word sets, not one bag reordered: the
// dedup check's title scorer ignores most of the order.
func TestShopsGetDifferentWords(t *testing.T) {
	t.Parallel()
	c, rw := setup(t)
	p := &listinggen.Product{ID: "x", Title: "2025新款 大容量 茶水分离 保温杯 便携 车载 智能测温 316不锈钢 学生 泡茶杯",
		Category: "家居/保温杯", Attributes: listinggen.Attributes{{Name: "容量", Values: []string{"500ml", "750ml"}}, {Name: "颜色", Values: []string{"白色", "黑色"}}}}
	seen := map[string]bool{}
	for seed := range uint64(10) {
		cp := rewrite(t, rw, c.Rules(listinggen.PlatformDouyin), p, seed)
		if !strings.HasPrefix(cp.Title, "保温杯") {
			t.Errorf("seed %d: title %q does not lead with the core word", seed, cp.Title)
		}
		seen[cp.Title] = true
	}
	if len(seen) < 9 {
		t.Errorf("10 seeds gave %d distinct titles", len(seen))
	}
}

func TestShortLimitKeepsCoreWordAndDropsLeastImportant(t *testing.T) {
	t.Parallel()
	c, rw := setup(t)
	r := c.Rules(listinggen.PlatformDouyin)
	r.TitleMaxUnits = 16
	p := &listinggen.Product{ID: "x", Title: "夏季 露营 便携 折叠椅 靠背 超轻 月亮椅", Category: "户外/折叠椅"}
	cp := rewrite(t, rw, r, p, 1)
	if listinggen.TitleUnits(cp.Title) > 16 || !strings.HasPrefix(cp.Title, "折叠椅") || strings.Contains(cp.Title, "夏季") {
		t.Errorf("title %q under a 16-unit limit", cp.Title)
	}
}

func TestTitleWithNothingUsableIsAnError(t *testing.T) {
	t.Parallel()
	c, rw := setup(t)
	_, err := rw.Rewrite(context.Background(), listinggen.RewriteRequest{
		Product: &listinggen.Product{Title: "厂家直销 一件代发 🔥"}, Rules: c.Rules(listinggen.PlatformDouyin)})
	if listinggen.ErrorCode(err) != listinggen.EINVALID || listinggen.ErrorFields(err)[0].Field != "product.title" {
		t.Fatalf("err = %v", err)
	}
}

// TestGolden pins the output for a few sample products so that a change in
// the algorithm is a visible diff (run with -update to accept it).
func TestGolden(t *testing.T) {
	t.Parallel()
	c, rw := setup(t)
	products := sample.Products(t)
	var b strings.Builder
	for _, i := range []int{0, 1, 2, 16, 42, 99, 150, 299} {
		p := &products[i]
		for _, platform := range []listinggen.Platform{listinggen.PlatformDouyin, listinggen.PlatformTaobao} {
			cp := rewrite(t, rw, c.Rules(platform), p, 11)
			fmt.Fprintf(&b, "== %s %s\nsource: %s\ntitle: %s\npoints: %s\nkeywords: %s\ndescription:\n%s\n\n",
				p.ID, platform, p.Title, cp.Title, strings.Join(cp.SellingPoints, " | "), strings.Join(cp.Keywords, ", "), cp.Description)
		}
	}
	golden := filepath.Join("testdata", "golden.txt")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if b.String() != string(want) {
		t.Errorf("output differs from %s; run `go test ./rules -update` and review the diff", golden)
	}
}

// Ten shops of a group, each told the titles the others already use, get
// pairwise distinct titles even from a supplier title of six words, where
// ten blind draws repeat each other.
func TestDistinctTitlesForAGroupFromFewWords(t *testing.T) {
	t.Parallel()
	c, rw := setup(t)
	p := &listinggen.Product{ID: "x", Title: "120W2米6A数据线适用华为源头工厂", Category: "手机配件/数据线",
		Attributes: listinggen.Attributes{{Name: "接口", Values: []string{"Type-C转Type-C"}}, {Name: "长度", Values: []string{"1米"}}, {Name: "功率", Values: []string{"120W"}}}}
	threshold := dedup.DefaultConfig().DuplicateThreshold
	pairsAbove := func(titles []string) (n int) {
		for i := range titles {
			for j := i + 1; j < len(titles); j++ {
				if dedup.TitleSimilarity(titles[i], titles[j]) >= threshold {
					n++
				}
			}
		}
		return n
	}
	var blind, aimed []string
	for seed := range uint64(10) {
		blind = append(blind, rewrite(t, rw, c.Rules(listinggen.PlatformDouyin), p, seed).Title)
		out, err := rw.Rewrite(context.Background(), listinggen.RewriteRequest{Product: p, Rules: c.Rules(listinggen.PlatformDouyin), Seed: seed,
			Distinct: &listinggen.Distinctness{Titles: aimed, Similarity: dedup.TitleSimilarity, Below: threshold}})
		if err != nil {
			t.Fatal(err)
		}
		aimed = append(aimed, out.Copy.Title)
	}
	if n := pairsAbove(aimed); n != 0 {
		t.Errorf("%d pairs at or above %.2f among %q", n, threshold, aimed)
	}
	if pairsAbove(blind) == 0 {
		t.Errorf("blind draws were already distinct, the test proves nothing: %q", blind)
	}
	// The first shop of a group has nothing to avoid: its copy is what the
	// seed alone gives.
	if aimed[0] != blind[0] {
		t.Errorf("with nothing to avoid the title changed: %q vs %q", aimed[0], blind[0])
	}
}
