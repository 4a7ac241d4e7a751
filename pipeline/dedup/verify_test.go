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
	for in, want := range map[string][]string{
		"sony pink cyber-shot digital camera DSC-W120P":        {"dscw120p", "w120p"},
		"lg 2.0 cu . ft. microwave lmvm2085wh":                 {"lmvm2085wh"},
		"netgear 16 port 10/100 switch fs116p 24-port 18-70mm": {"fs116p"},
		"samsung 1920x1080 lcd 120W 32gb":                      nil,
		"适用苹果15iPhone15ProMax手机壳 elgato 10020780":              {"10020780"},
		"sony dvpfx820/w": {"dvpfx820"},
	} {
		in := fold(in)
		got := identifiers(in)
		if !slices.Equal(got, want) {
			t.Errorf("identifiers(%q) = %q, want %q", in, got, want)
		}
	}
	m := measures(fold("LG 2.0 cu. ft. 1000 W microwave, 8支/14支, 500ml 保温杯"))
	for unit, want := range map[string][]float64{"cu ft": {2}, "W": {1000}, "pcs": {8, 14}, "ml": {500}} {
		if !slices.Equal(m[unit], want) {
			t.Errorf("measures[%q] = %v, want %v (all: %v)", unit, m[unit], want, m)
		}
	}
}

func TestCompareReasons(t *testing.T) {
	t.Parallel()
	v := NewVerifier(DefaultWeights())
	a := Item{Title: "lg 2.0 cu . ft. over-the-range white microwave oven lmvm2085wh", Price: 299}
	b := Item{Title: "LG LMVM2085WH Over the Range Microwave 2.0 cu. ft.", Price: 289.99}
	as := v.Compare(a, b)
	if as.Score < DefaultConfig().DuplicateScore || !slices.Contains(as.Reasons(), "same model number LMVM2085WH") {
		t.Errorf("same model: score %v, reasons %q", as.Score, as.Reasons())
	}
	c := Item{Title: "lg 2.0 cu . ft. over-the-range white microwave oven lmvm2085ww", Price: 299}
	d := Item{Title: "LG LMV1680ST Over the Range Microwave 1.6 cu. ft.", Price: 449}
	as = v.Compare(c, d)
	if as.Score >= DefaultConfig().SimilarScore || !strings.Contains(strings.Join(as.Reasons(), "|"), "different 2 cu ft vs 1.6 cu ft") {
		t.Errorf("different model: score %v, reasons %q", as.Score, as.Reasons())
	}
	// Images: the main images 3 bits apart are near-identical photos.
	img := Item{Title: "化妆刷套装", PHashes: []uint64{0xf0f0f0f0f0f0f0f0}}
	img2 := Item{Title: "全套眼影刷", PHashes: []uint64{0xf0f0f0f0f0f0f0f7}}
	as = v.Compare(img, img2)
	if !slices.Contains(as.Reasons(), "main images 3 bits apart") {
		t.Errorf("images: %q", as.Reasons())
	}
	img2.PHashes = []uint64{0x0123456789abcdef, 0xf0f0f0f0f0f0f0f1}
	if r := v.Compare(img, img2).Reasons(); !slices.Contains(r, "main image and image 2 1 bits apart") {
		t.Errorf("second image: %q", r)
	}
	// Attributes: the same set in the same order, against a conflict.
	p := listinggen.Product{Title: "保温杯 316不锈钢", Category: "家居/保温杯", Price: &listinggen.Money{Amount: "59.00"},
		Attributes: listinggen.Attributes{{Name: "材质", Values: []string{"316不锈钢"}}, {Name: "容量", Values: []string{"500ml", "750ml"}}}}
	q := p
	q.Title, q.Price = "大容量保温杯 男女", &listinggen.Money{Amount: "61.00"}
	as = v.Compare(ItemFromProduct(&p), ItemFromProduct(&q))
	if as.Score < DefaultConfig().DuplicateScore {
		t.Errorf("same attributes and price: %v %q", as.Score, as.Reasons())
	}
	q.Attributes = listinggen.Attributes{{Name: "材质", Values: []string{"玻璃"}}, {Name: "容量", Values: []string{"500ml", "750ml"}}}
	as = v.Compare(ItemFromProduct(&p), ItemFromProduct(&q))
	if as.Score >= DefaultConfig().DuplicateScore || !strings.Contains(strings.Join(as.Reasons(), "|"), "different 材质 316不锈钢 vs 玻璃") {
		t.Errorf("material conflict: %v %q", as.Score, as.Reasons())
	}
	// The evidence adds up to the score.
	z := DefaultWeights().Bias
	for _, e := range as.Evidence {
		z += e.Weight
	}
	if math.Abs(sigmoid(z)-as.Score) > 0.01 {
		t.Errorf("evidence weights sum to %v, score %v", sigmoid(z), as.Score)
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
