package listinggen_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
)

func TestAttributesAcceptStringOrListAndKeepOrder(t *testing.T) {
	t.Parallel()
	var p listinggen.Product
	in := `{"title":"裙","attributes":{"材质":"聚酯纤维","颜色":["白色","黑色"],"尺码":["S"]}}`
	if err := json.Unmarshal([]byte(in), &p); err != nil {
		t.Fatal(err)
	}
	want := listinggen.Attributes{{Name: "材质", Values: []string{"聚酯纤维"}}, {Name: "颜色", Values: []string{"白色", "黑色"}}, {Name: "尺码", Values: []string{"S"}}}
	if len(p.Attributes) != 3 {
		t.Fatalf("attributes = %+v", p.Attributes)
	}
	for i := range want {
		if p.Attributes[i].Name != want[i].Name || strings.Join(p.Attributes[i].Values, ",") != strings.Join(want[i].Values, ",") {
			t.Errorf("attribute %d = %+v, want %+v", i, p.Attributes[i], want[i])
		}
	}
	out, _ := json.Marshal(p.Attributes)
	if string(out) != `{"材质":"聚酯纤维","颜色":["白色","黑色"],"尺码":"S"}` {
		t.Errorf("marshal = %s", out)
	}
	if err := json.Unmarshal([]byte(`{"title":"x","attributes":{"a":1}}`), &p); err == nil {
		t.Error("a number attribute value was accepted")
	}
}

func TestProductValidateNamesEveryField(t *testing.T) {
	t.Parallel()
	p := listinggen.Product{
		Title:       "  ",
		Description: "ok\x00",
		Price:       &listinggen.Money{Amount: "1,5", Currency: "rmb"},
		Attributes:  listinggen.Attributes{{Name: "材质", Values: []string{"棉\xff"}}},
		Images:      []listinggen.ImageRef{{URL: "ftp://x/y.jpg"}, {URL: "https://img.example/a.jpg"}},
	}
	err := p.Validate("product")
	if listinggen.ErrorCode(err) != listinggen.EINVALID {
		t.Fatalf("Validate = %v", err)
	}
	got := map[string]bool{}
	for _, f := range listinggen.ErrorFields(err) {
		got[f.Field] = true
	}
	for _, want := range []string{"product.title", "product.description", "product.price.amount", "product.price.currency", "product.attributes.材质", "product.images[0].url"} {
		if !got[want] {
			t.Errorf("no error for %s in %v", want, listinggen.ErrorFields(err))
		}
	}
	if got["product.images[1].url"] {
		t.Error("a valid https image URL was rejected")
	}
}

func TestContentHashIgnoresAttributeOrder(t *testing.T) {
	t.Parallel()
	a := listinggen.Product{Title: "裙", Attributes: listinggen.Attributes{{Name: "a", Values: []string{"1"}}, {Name: "b", Values: []string{"2"}}}}
	b := listinggen.Product{Title: "裙", Attributes: listinggen.Attributes{{Name: "b", Values: []string{"2"}}, {Name: "a", Values: []string{"1"}}}}
	c := listinggen.Product{Title: "裙子", Attributes: a.Attributes}
	if a.ContentHash() != b.ContentHash() {
		t.Error("attribute order changed the content hash")
	}
	if a.ContentHash() == c.ContentHash() {
		t.Error("different titles have the same content hash")
	}
	if a.Attributes[0].Name != "a" {
		t.Error("ContentHash reordered the product's own attributes")
	}
}

func TestCategoryLeaf(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"女装/连衣裙": "连衣裙", "家居 > 保温杯": "保温杯", "手机壳": "手机壳", "": "", "a›b": "b"} {
		p := listinggen.Product{Category: in}
		if got := p.CategoryLeaf(); got != want {
			t.Errorf("CategoryLeaf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCursorRoundTripAndRejectsForgeries(t *testing.T) {
	t.Parallel()
	id, err := listinggen.DecodeCursor(listinggen.EncodeCursor("0192-abc"))
	if err != nil || id != "0192-abc" {
		t.Fatalf("round trip = %q, %v", id, err)
	}
	for _, bad := range []string{"!!", "YWJj", listinggen.EncodeCursor("")} {
		if _, err := listinggen.DecodeCursor(bad); listinggen.ErrorCode(err) != listinggen.EINVALID {
			t.Errorf("DecodeCursor(%q) = %v, want EINVALID", bad, err)
		}
	}
}

func TestErrorHelpersHideInternalDetails(t *testing.T) {
	t.Parallel()
	wrapped := listinggen.WrapError(listinggen.EUNAVAILABLE, errFake("dial tcp 10.0.0.5: refused"), "database unavailable")
	if listinggen.ErrorMessage(wrapped) != "database unavailable" || listinggen.ErrorCode(wrapped) != listinggen.EUNAVAILABLE {
		t.Errorf("wrapped: %q %q", listinggen.ErrorCode(wrapped), listinggen.ErrorMessage(wrapped))
	}
	plain := errFake("secret detail")
	if listinggen.ErrorCode(plain) != listinggen.EINTERNAL || strings.Contains(listinggen.ErrorMessage(plain), "secret") {
		t.Errorf("plain error leaks: %q", listinggen.ErrorMessage(plain))
	}
	if listinggen.Invalid(nil) != nil {
		t.Error("Invalid(nil) is not nil")
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }
