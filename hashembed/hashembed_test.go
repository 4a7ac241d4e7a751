package hashembed_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/hashembed"
)

func TestHashingVectorsAreUnitLengthDeterministicAndNormalised(t *testing.T) {
	t.Parallel()
	h, err := hashembed.New(hashembed.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	a := h.Vector("POLO衫 冰丝 短袖")
	var norm float64
	for _, x := range a {
		norm += float64(x) * float64(x)
	}
	if len(a) != 256 || math.Abs(norm-1) > 1e-5 {
		t.Fatalf("len %d, norm² %v", len(a), norm)
	}
	if s := listinggen.Cosine(a, h.Vector("ＰＯＬＯ衫，冰丝短袖")); s < 0.999 {
		t.Errorf("full-width, case and punctuation changed the vector: cosine %v", s)
	}
	near := listinggen.Cosine(h.Vector("316不锈钢保温杯大容量"), h.Vector("保温杯 316不锈钢 大容量 男女"))
	far := listinggen.Cosine(h.Vector("316不锈钢保温杯大容量"), h.Vector("法式复古碎花连衣裙"))
	if near < 0.5 || far > 0.3 {
		t.Errorf("near %v, far %v", near, far)
	}
	if zero := h.Vector(" ，。"); listinggen.Cosine(zero, a) != 0 {
		t.Error("punctuation-only text is not the zero vector")
	}
	vs, err := h.Embed(context.Background(), []string{"a", "b"})
	if err != nil || len(vs) != 2 {
		t.Fatalf("Embed = %d vectors, %v", len(vs), err)
	}
	if h.Model() != "hashing-char1-3-d256-v1" || h.Dimensions() != 256 {
		t.Errorf("model %q dims %d", h.Model(), h.Dimensions())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Embed(ctx, []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Embed on a cancelled context = %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	if _, err := hashembed.New(hashembed.Config{Dimensions: 4, MinN: 3, MaxN: 2}); err == nil {
		t.Error("bad config accepted")
	}
}
