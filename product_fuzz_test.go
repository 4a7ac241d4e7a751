package listinggen

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzProductDecode: any bytes decoded as a product and normalised either
// fail validation with field errors or give a product whose text is valid
// UTF-8 within the limits, whose content hash is stable, and that survives
// a JSON round trip with the same hash. Never a panic.
func FuzzProductDecode(f *testing.F) {
	for _, s := range []string{
		`{"title":"2024夏季新款法式复古碎花连衣裙","attributes":{"材质":"聚酯纤维","颜色":["白色","黑色"]},"price":{"amount":"59.00","currency":"CNY"}}`,
		`{"title":"  裙 ","images":[{"url":"https://img.example/a.jpg"}],"attributes":{"b":"1","a":["2","3"]}}`,
		`{"title":"\u0000"}`, `{"title":"a\ud800b"}`, `{"attributes":[1,2]}`, `{"title":"x","price":{"amount":"1e9"}}`, `null`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Product
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		p.Normalize()
		if err := p.Validate("product"); err != nil {
			if len(ErrorFields(err)) == 0 || ErrorCode(err) != EINVALID {
				t.Fatalf("Validate failed without field errors: %v", err)
			}
			return
		}
		for _, s := range []string{p.Title, p.Description, p.Category, p.Brand, p.ID} {
			if !utf8.ValidString(s) {
				t.Fatalf("valid product with invalid UTF-8 %q", s)
			}
		}
		if n := utf8.RuneCountInString(p.Title); n == 0 || n > MaxTitleRunes {
			t.Fatalf("valid product with a title of %d runes", n)
		}
		h := p.ContentHash()
		again, err := json.Marshal(&p)
		if err != nil {
			t.Fatal(err)
		}
		var q Product
		if err := json.Unmarshal(again, &q); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if q.ContentHash() != h || p.ContentHash() != h {
			t.Fatalf("content hash changed over a round trip: %s", again)
		}
	})
}
