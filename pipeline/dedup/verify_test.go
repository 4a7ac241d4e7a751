package dedup

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
)

func TestIdentifiers(t *testing.T) {
	t.Parallel()
	idf := &DefaultModel().IDF
	for in, want := range map[string][]string{
		"sony pink cyber-shot digital camera DSC-W120P":        {"dscw120p", "w120p"},
		"lg 2.0 cu . ft. microwave lmvm2085wh":                 {"lmvm2085wh"},
		"netgear 16 port 10/100 switch fs116p 24-port 18-70mm": {"fs116p"},
		"samsung 1920x1080 lcd 120W 32gb":                      nil,
		"适用苹果15iPhone15ProMax手机壳 elgato 10020780":              {"10020780"},
		"sony dvpfx820/w":         {"dvpfx820", "dvpfx820w"},
		"Nike Air Max 554724-110": {"554724", "554724110"},
	} {
		var got []string
		for _, c := range identifiers(fold(in), idf) {
			got = append(got, c.c)
		}
		if !slices.Equal(got, want) {
			t.Errorf("identifiers(%q) = %q, want %q", in, got, want)
		}
	}
	// The part of a hyphenated code is marked: it names a family.
	for _, c := range identifiers("554724-110", idf) {
		if c.part != (c.c == "554724") {
			t.Errorf("%s: part = %v", c.c, c.part)
		}
	}
	m := measures(fold("LG 2.0 cu. ft. 1000 W microwave, 8支/14支, 500ml 保温杯"))
	for unit, want := range map[string][]float64{"cu ft": {2}, "W": {1000}, "pcs": {8, 14}, "ml": {500}} {
		if !slices.Equal(m[unit], want) {
			t.Errorf("measures[%q] = %v, want %v (all: %v)", unit, m[unit], want, m)
		}
	}
	if got := Tokens(fold("ＩＰＨＯＮＥ15 手机壳 防摔")); !slices.Equal(got, []string{"iphone15", "手机", "机壳", "防摔"}) {
		t.Errorf("Tokens = %q", got)
	}
	if got := plainNumbers("pegasus 33 ipad pro 12.9 dscw120p 3-6岁"); !slices.Equal(got, []string{"12.9", "3", "33", "6"}) {
		t.Errorf("plainNumbers = %q", got)
	}
}

// reasons joins an assessment's evidence sentences.
func reasons(as Assessment) string { return strings.Join(as.Reasons(), " | ") }

func TestCompareEvidence(t *testing.T) {
	t.Parallel()
	v := NewVerifier(nil)
	dup := DefaultModel().Policy.Duplicate
	a := Item{Title: "lg 2.0 cu . ft. over-the-range white microwave oven lmvm2085wh", Price: 299}
	b := Item{Title: "LG LMVM2085WH Over the Range Microwave 2.0 cu. ft.", Price: 289.99}
	as := v.Compare(a, b)
	if as.Score < dup || !strings.Contains(reasons(as), "same model number LMVM2085WH") {
		t.Errorf("same model: score %v, reasons %s", as.Score, reasons(as))
	}
	c := Item{Title: "lg 2.0 cu . ft. over-the-range white microwave oven lmvm2085ww", Price: 299}
	d := Item{Title: "LG LMV1680ST Over the Range Microwave 1.6 cu. ft.", Price: 449}
	as = v.Compare(c, d)
	if as.Score >= dup || !strings.Contains(reasons(as), "2 cu ft vs 1.6 cu ft") {
		t.Errorf("different model: score %v, reasons %s", as.Score, reasons(as))
	}
	// Images: the main images 3 bits apart are near-identical photos.
	img := Item{Title: "化妆刷套装", PHashes: []uint64{0xf0f0f0f0f0f0f0f0}}
	img2 := Item{Title: "全套眼影刷", PHashes: []uint64{0xf0f0f0f0f0f0f0f7}}
	if r := reasons(v.Compare(img, img2)); !strings.Contains(r, "main images 3 bits apart") {
		t.Errorf("images: %s", r)
	}
	img2.PHashes = []uint64{0x0123456789abcdef, 0xf0f0f0f0f0f0f0f1}
	if r := reasons(v.Compare(img, img2)); !strings.Contains(r, "main image and image 2 1 bits apart") {
		t.Errorf("second image: %s", r)
	}
	// Attributes: the same set in the same order at the same price,
	// against a conflicting material.
	p := listinggen.Product{Title: "保温杯 316不锈钢 男女 大容量", Category: "家居/保温杯", Price: &listinggen.Money{Amount: "59.00"},
		Attributes: listinggen.Attributes{{Name: "材质", Values: []string{"316不锈钢"}}, {Name: "容量", Values: []string{"500ml", "750ml"}},
			{Name: "颜色", Values: []string{"白色", "黑色", "粉色"}}}}
	q := p
	q.Title, q.Price = "大容量保温杯 男女 316不锈钢", &listinggen.Money{Amount: "61.00"}
	as = v.Compare(ItemFromProduct(&p), ItemFromProduct(&q))
	if as.Score < dup || !strings.Contains(reasons(as), "listing the same values in the same order") {
		t.Errorf("same attributes and price: %v %s", as.Score, reasons(as))
	}
	q.Attributes = listinggen.Attributes{{Name: "材质", Values: []string{"玻璃"}}, p.Attributes[1], p.Attributes[2]}
	as = v.Compare(ItemFromProduct(&p), ItemFromProduct(&q))
	if as.Score >= dup || !strings.Contains(reasons(as), "材质 316不锈钢 vs 玻璃") {
		t.Errorf("material conflict: %v %s", as.Score, reasons(as))
	}
	// Brands and categories are hand-set evidence.
	q = p
	q.Brand, p.Brand = "膳魔师", "象印"
	if as = v.Compare(ItemFromProduct(&p), ItemFromProduct(&q)); !strings.Contains(reasons(as), "different brands 象印 and 膳魔师") {
		t.Errorf("brands: %s", reasons(as))
	}
	q.Brand = p.Brand
	same := v.Compare(ItemFromProduct(&p), ItemFromProduct(&q))
	q.Category = "厨房/水壶"
	if as = v.Compare(ItemFromProduct(&p), ItemFromProduct(&q)); as.Score >= same.Score || !strings.Contains(reasons(as), "different categories") {
		t.Errorf("categories: %v (same category %v) %s", as.Score, same.Score, reasons(as))
	}
	// The prior and the evidence add up to the score, up to the evidence
	// too small to report.
	z := as.Prior
	for _, e := range as.Evidence {
		z += e.Weight
		if math.Abs(e.Weight) < minEvidence || e.Reason == "" {
			t.Errorf("evidence %+v reported", e)
		}
	}
	if got := sigmoid(z); math.Abs(got-as.Score) > 0.02 {
		t.Errorf("prior and evidence give %v, score %v", got, as.Score)
	}
	// Evidence is ordered strongest first.
	if !slices.IsSortedFunc(as.Evidence, func(x, y Evidence) int {
		return -cmpFloat(math.Abs(x.Weight), math.Abs(y.Weight))
	}) {
		t.Errorf("evidence not strongest first: %+v", as.Evidence)
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The cheap score of clustering is the score Compare reports.
func TestScoreIsCompare(t *testing.T) {
	t.Parallel()
	v := NewVerifier(nil)
	items := []Item{
		{Title: "sony vaio cs series pink notebook computer vgncs180jp", Price: 1219},
		{Title: "Sony VAIO VGN-CS180J/P notebook", Text: "14.1-inch 2.26 ghz 4 gb ram 320 gb", Price: 1199.99},
		{Title: "夏季 碎花 连衣裙 雪纺", Category: "女装/连衣裙", Attributes: listinggen.Attributes{{Name: "尺码", Values: []string{"S", "M"}}}},
		{Title: "法式 碎花 连衣裙", Category: "女装/连衣裙", Brand: "ZARA", PHashes: []uint64{1}},
	}
	for i := range items {
		for j := range items {
			a, b := v.prepare(items[i]), v.prepare(items[j])
			if got, want := v.score(a, b), v.compare(a, b).Score; got != want {
				t.Errorf("pair %d,%d: score %v, Compare %v", i, j, got, want)
			}
		}
	}
}

func TestModel(t *testing.T) {
	t.Parallel()
	m := DefaultModel()
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	// The file is what MarshalIndent writes, so that the fit command's
	// output can be compared byte for byte.
	b, err := m.MarshalIndent()
	if err != nil || string(b) != string(ModelJSON) {
		t.Errorf("the embedded model does not marshal back to itself (%v)", err)
	}
	seen := map[string]bool{}
	for i := range NumFeatures {
		if n := FeatureName(i); n == "" || seen[n] || !slices.Contains(EvidenceKinds, featureKind[i]) {
			t.Errorf("feature %d: name %q, kind %q", i, n, featureKind[i])
		} else {
			seen[n] = true
		}
	}
	// Explain's shares and the root values add up to the log-odds.
	v := NewVerifier(nil)
	x := PairFeatures(v.Prepare(Item{Title: "a b c"}), v.Prepare(Item{Title: "a b d"}))
	z, share := m.Explain(x)
	sum := m.Base
	for _, tr := range m.Trees {
		sum += tr.Nodes[0].Value
	}
	for _, s := range share {
		sum += s
	}
	if math.Abs(sum-z) > 1e-9 {
		t.Errorf("shares sum to %v, log-odds %v", sum, z)
	}
	for _, bad := range []string{`{`, `{"features":["x"]}`} {
		if _, err := ReadModel([]byte(bad)); err == nil {
			t.Errorf("ReadModel(%s) accepted", bad)
		}
	}
	broken := *m
	broken.Trees = []Tree{{Nodes: []Node{{Left: 5, Right: 6}}}}
	broken.Policy.Similar = 0.9
	if err := broken.Check(); err == nil || !strings.Contains(err.Error(), "malformed") || !strings.Contains(err.Error(), "similar") {
		t.Errorf("Check = %v", err)
	}
}

func TestIDF(t *testing.T) {
	t.Parallel()
	idf := IDF{Unknown: 9, UnknownWord: 4, Weights: map[string]float64{"cable": 2}}
	for tok, want := range map[string]float64{"cable": 2, "lmvm2085wh": 9, "pegasus": 4, "连衣": 4} {
		if got := idf.Weight(tok); got != want {
			t.Errorf("Weight(%q) = %v, want %v", tok, got, want)
		}
	}
}

func TestBestOffer(t *testing.T) {
	t.Parallel()
	price := func(s string) *listinggen.Money { return &listinggen.Money{Amount: s, Currency: "CNY"} }
	attrs := listinggen.Attributes{{Name: "材质", Values: []string{"棉"}}}
	ps := []listinggen.Product{
		{Title: "a", Price: price("10.00")},
		{Title: "b", Price: price("12.00"), Attributes: attrs},
		{Title: "c", Price: price("11.00"), Attributes: attrs},
		{Title: "d", Price: price("9.00"), Attributes: attrs[:0]},
	}
	if got := BestOffer(ps); got != 2 {
		t.Errorf("BestOffer = %d, want 2 (complete, then cheapest)", got)
	}
	if BestOffer(nil) != -1 {
		t.Error("BestOffer(nil) != -1")
	}
}
