package dedup

import (
	"testing"

	"github.com/listinggen/listinggen"
)

// benchPair is two offers of one item as the catalogue states them.
func benchPair() (Item, Item) {
	attrs := listinggen.Attributes{{Name: "材质", Values: []string{"棉", "雪纺"}}, {Name: "颜色", Values: []string{"黑色"}},
		{Name: "尺码", Values: []string{"XL", "L", "S", "M"}}, {Name: "袖长", Values: []string{"无袖"}}}
	a := Item{Title: "温柔风全网最低价长裙气质连衣裙", Text: "温柔风全网最低价长裙气质连衣裙\n【材质】棉/雪纺\n【颜色】黑色",
		Category: "女装/连衣裙", Price: 63.54, Attributes: attrs}
	b := Item{Title: "热卖全网最低价收腰连衣裙气质温柔风泡泡袖批发", Text: "热卖全网最低价收腰连衣裙气质温柔风泡泡袖批发\n【材质】棉/雪纺",
		Category: "女装/连衣裙", Price: 66.12, Attributes: attrs}
	return a, b
}

// BenchmarkScore is the verifier's score of a prepared pair, what
// clustering pays per pair; the baseline is the title n-gram cosine alone
// on the same pair.
func BenchmarkScore(b *testing.B) {
	v := NewVerifier(nil)
	x, y := benchPair()
	fx, fy := v.prepare(x), v.prepare(y)
	b.Run("verifier", func(b *testing.B) {
		for b.Loop() {
			v.score(fx, fy)
		}
	})
	b.Run("ngram-cosine-baseline", func(b *testing.B) {
		for b.Loop() {
			cosineGrams(fx, fy)
		}
	})
	b.Run("prepare", func(b *testing.B) {
		for b.Loop() {
			v.prepare(x)
		}
	})
}
