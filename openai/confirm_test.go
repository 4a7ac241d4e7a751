package openai_test

import (
	"context"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/openaitest"
)

// The confirmer asks the (fake) model over HTTP, parses its judgement,
// caches it for the pair in either order, retries transient faults and
// reports a garbled answer as a model failure, never as an opinion.
func TestConfirmerAsksCachesAndFails(t *testing.T) {
	t.Parallel()
	srv := openaitest.New(openaitest.Config{APIKey: "sk-test"})
	defer srv.Close()
	c := newRewriter(t, srv, nil).Confirmer(100)
	attrs := listinggen.Attributes{{Name: "材质", Values: []string{"316不锈钢"}}, {Name: "容量", Values: []string{"500ml", "750ml"}}}
	a := listinggen.DedupItem{Title: "保温杯 316不锈钢 大容量", Category: "家居/保温杯", Attributes: attrs, Price: 59}
	b := listinggen.DedupItem{Title: "大容量男女学生保温杯", Category: "家居/保温杯", Attributes: attrs, Price: 61}
	ctx := context.Background()
	srv.Script(openaitest.Status500) // retried
	op, err := c.ConfirmSame(ctx, a, b)
	if err != nil || !op.Same || op.Cached || !strings.Contains(op.Reason, "316不锈钢") {
		t.Fatalf("opinion = %+v, %v", op, err)
	}
	again, err := c.ConfirmSame(ctx, b, a)
	if err != nil || !again.Cached || again.Same != op.Same {
		t.Fatalf("reversed pair: %+v, %v", again, err)
	}
	if st := srv.Stats(); st.Chat != 2 || st.Status5xx != 1 {
		t.Errorf("stats = %+v: want one failed and one answered call", st)
	}
	other := listinggen.DedupItem{Title: "折叠椅 户外 露营", Category: "户外/折叠椅", Price: 120}
	if op, err := c.ConfirmSame(ctx, a, other); err != nil || op.Same {
		t.Errorf("unrelated items: %+v, %v", op, err)
	}
	srv.Script(openaitest.Truncated)
	c2 := newRewriter(t, srv, nil).Confirmer(0)
	if op, err := c2.ConfirmSame(ctx, a, b); err == nil {
		t.Errorf("truncated answer gave an opinion: %+v", op)
	}
	if c.Model() != "fake-model" {
		t.Errorf("model %q", c.Model())
	}
}
