package grounding_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/sample"
	"github.com/listinggen/listinggen/pipeline/compliance"
	"github.com/listinggen/listinggen/pipeline/grounding"
	"github.com/listinggen/listinggen/rules"
)

func cup() *listinggen.Product {
	return &listinggen.Product{
		Title:       "304不锈钢保温杯 500ML 男女学生便携水杯 一件代发",
		Description: "<p>容量：500ml</p><p>保温时长：12小时</p><p>杯身采用食品级不锈钢，杯盖为ＰＰ材质。</p>",
		Category:    "水杯/保温杯",
		Attributes: listinggen.Attributes{
			{Name: "材质", Values: []string{"304不锈钢"}},
			{Name: "颜色", Values: []string{"白色", "黑色", "莫兰迪绿"}},
			{Name: "重量(g)", Values: []string{"320"}},
			{Name: "适用年龄", Values: []string{"3-6岁"}},
		},
	}
}

func brushes() *listinggen.Product {
	return &listinggen.Product{
		Title:       "化妆刷 套装 不吃粉 眼影刷 全套 新手 现货速发 🔥",
		Description: "【刷毛】纤维毛\n【支数】8支/14支\n质量保证，七天无理由退换。",
		Category:    "美妆工具/化妆刷",
		Attributes: listinggen.Attributes{
			{Name: "刷毛", Values: []string{"纤维毛"}},
			{Name: "支数", Values: []string{"8支", "14支"}},
		},
	}
}

func phoneCase() *listinggen.Product {
	return &listinggen.Product{
		Title:    "适用iPhone15手机壳 Type-C 磁吸 USB3.0 防摔",
		Brand:    "Baseus",
		Category: "手机配件/手机壳",
		Attributes: listinggen.Attributes{
			{Name: "材质", Values: []string{"TPU", "硅胶"}},
			{Name: "尺寸", Values: []string{"15x7.5cm"}},
			{Name: "电池容量", Values: []string{"20,000mAh"}},
		},
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	type want struct{ field, term string }
	for _, tc := range []struct {
		name    string
		product *listinggen.Product
		copy    listinggen.Copy
		want    []want
		kinds   []grounding.Kind
	}{
		{
			name:    "grounded cup copy with unit spellings and full-width forms",
			product: cup(),
			copy: listinggen.Copy{
				Title:         "304不锈钢保温杯 500毫升 便携水杯",
				SellingPoints: []string{"容量：０.５Ｌ", "保温时长：12小时", "适用年龄：3-6岁", "重量：320克"},
				Description:   "这款保温杯采用304不锈钢，杯盖为pp材质，容量500ML。\n1、保温12小时\n2、便携",
				Keywords:      []string{"保温杯", "不锈钢"},
			},
		},
		{
			name:    "invented numbers: capacity, weight, age, percentage, count, duration",
			product: cup(),
			copy: listinggen.Copy{
				Title:         "304不锈钢保温杯 750ml 便携水杯",
				SellingPoints: []string{"重量：2.5kg", "适用年龄：3-8岁", "99%用户好评", "送8支吸管"},
				Description:   "保温24小时。",
			},
			want:  []want{{"title", "750ml"}, {"selling_points[0]", "2.5kg"}, {"selling_points[1]", "3-8岁"}, {"selling_points[2]", "99%"}, {"selling_points[3]", "8支"}, {"description", "24小时"}},
			kinds: []grounding.Kind{grounding.KindNumber},
		},
		{
			name:    "counts like 8支 and 14支 from a list",
			product: brushes(),
			copy: listinggen.Copy{
				Title:         "化妆刷套装 8支/14支 纤维毛",
				SellingPoints: []string{"支数：8支、14支", "刷毛：纤维毛"},
				Description:   "全套14支，新手也能用。",
				Keywords:      []string{"化妆刷", "眼影刷"},
			},
		},
		{
			name:    "invented materials",
			product: brushes(),
			copy: listinggen.Copy{
				Title:         "化妆刷套装 羊毛 8支",
				SellingPoints: []string{"刷毛：纤维毛", "刷柄：实木"},
				Description:   "纯棉收纳包。",
			},
			want:  []want{{"title", "羊毛"}, {"selling_points[1]", "实木"}, {"description", "纯棉"}},
			kinds: []grounding.Kind{grounding.KindMaterial},
		},
		{
			name:    "a purity claim the source does not make",
			product: cup(),
			copy:    listinggen.Copy{Title: "316不锈钢保温杯"},
			want:    []want{{"title", "316"}, {"title", "316不锈钢"}},
		},
		{
			name:    "invented brands, Latin and Chinese",
			product: brushes(),
			copy: listinggen.Copy{
				Title:         "Nike 化妆刷套装",
				SellingPoints: []string{"同款迪奥刷头"},
				Keywords:      []string{"MAC", "化妆刷"},
			},
			want:  []want{{"title", "Nike"}, {"selling_points[0]", "迪奥"}, {"keywords[0]", "MAC"}},
			kinds: []grounding.Kind{grounding.KindBrand},
		},
		{
			name:    "model names, brand field, thousands separators and dimension lists",
			product: phoneCase(),
			copy: listinggen.Copy{
				Title:         "Baseus 适用iPhone 15 手机壳 Type-C",
				SellingPoints: []string{"材质：TPU、硅胶", "尺寸：15×7.5cm", "容量20000mAh", "USB 3.0"},
				Keywords:      []string{"iphone15", "baseus"},
			},
		},
		{
			name:    "dimension list with an invented size",
			product: phoneCase(),
			copy:    listinggen.Copy{SellingPoints: []string{"尺寸：16x7.5cm"}},
			want:    []want{{"selling_points[0]", "16x7.5cm"}},
		},
		{
			name:    "English copy only checks name-like words",
			product: &listinggen.Product{Title: "Floral summer dress for women", Brand: "Zara", Attributes: listinggen.Attributes{{Name: "Size", Values: []string{"S", "M"}}}},
			copy: listinggen.Copy{
				Title:       "Zara Floral Summer Dress",
				Description: "A light floral dress. Made by Gucci in sizes S and M.",
			},
			want: []want{{"description", "Gucci"}},
		},
		{
			name:    "allowed Latin words and colour words that contain metals",
			product: &listinggen.Product{Title: "黑金色ins风化妆镜", Category: "美妆工具/化妆镜"},
			copy:    listinggen.Copy{Title: "ins风化妆镜 黑金色", Keywords: []string{"DIY"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := grounding.Check(tc.product, tc.copy)
			var gotPairs []want
			for _, p := range got {
				gotPairs = append(gotPairs, want{p.Field, p.Term})
				if len(tc.kinds) == 1 && p.Kind != tc.kinds[0] {
					t.Errorf("%v: kind %s, want %s", p, p.Kind, tc.kinds[0])
				}
				if !strings.Contains(p.String(), p.Term) || !strings.HasPrefix(p.String(), p.Field+": ") {
					t.Errorf("String() = %q", p.String())
				}
			}
			if fmt.Sprint(gotPairs) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestRulesRewriterOutputIsGrounded feeds the whole sample catalogue through
// the rules rewriter, which only reuses source words, on every platform and
// with several seeds: any problem is a false positive.
func TestRulesRewriterOutputIsGrounded(t *testing.T) {
	t.Parallel()
	checker, err := compliance.New()
	if err != nil {
		t.Fatal(err)
	}
	rw, err := rules.New(checker)
	if err != nil {
		t.Fatal(err)
	}
	products := sample.Products(t)
	if len(products) != 300 {
		t.Fatalf("%d products", len(products))
	}
	checked, terms := 0, 0
	for _, pl := range listinggen.Platforms {
		for i := range products {
			p := products[i]
			p.Normalize()
			for seed := uint64(1); seed <= 3; seed++ {
				out, err := rw.Rewrite(context.Background(), listinggen.RewriteRequest{Product: &p, Rules: checker.Rules(pl), Seed: seed * 7919})
				if err != nil {
					t.Fatalf("%s: %v", p.ID, err)
				}
				if problems := grounding.Check(&p, out.Copy); len(problems) > 0 {
					t.Errorf("%s on %s: false positives %v\ncopy: %+v", p.ID, pl, problems, out.Copy)
				}
				checked++
				terms += len(out.Copy.SellingPoints)
			}
		}
	}
	if checked != 300*len(listinggen.Platforms)*3 || terms == 0 {
		t.Fatalf("checked %d copies", checked)
	}
}

func TestSourceIsReusable(t *testing.T) {
	t.Parallel()
	src := grounding.NewSource(cup())
	if got := src.Check(listinggen.Copy{Title: "保温杯 500ml"}); got != nil {
		t.Fatal(got)
	}
	if got := src.Check(listinggen.Copy{Title: "保温杯 1L"}); len(got) != 1 || got[0].Term != "1L" {
		t.Fatal(got)
	}
	reasons := grounding.Reasons([]grounding.Problem{{Field: "title", Term: "1L", Kind: grounding.KindNumber}})
	if len(reasons) != 1 || reasons[0] != `title: "1L" is not in the source product (number)` {
		t.Fatal(reasons)
	}
}

// Suppliers glue measures together (120W2米6A); each is a fact of the
// source, and a measure the source does not state is still caught.
func TestGluedMeasuresInTheSourceBackTheCopy(t *testing.T) {
	t.Parallel()
	p := &listinggen.Product{Title: "120W2米6A数据线适用华为"}
	if got := grounding.Check(p, listinggen.Copy{Title: "数据线 2米 6A 120W 适用华为"}); len(got) != 0 {
		t.Errorf("false positives: %v", got)
	}
	if got := grounding.Check(p, listinggen.Copy{Title: "数据线 3米 6A"}); len(got) != 1 {
		t.Errorf("3米 is not in the source: %v", got)
	}
}
