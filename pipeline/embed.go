package pipeline

import (
	"context"

	"github.com/listinggen/listinggen"
)

// EmbeddingText is the text a listing is embedded by: its title and selling
// points. The title alone embeds worse: per-shop reordering moves its
// character n-grams, and on the sample catalogue title-only vectors
// separated same-item pairs from different-item pairs far less well.
func EmbeddingText(cp listinggen.Copy) string {
	text := cp.Title
	for _, s := range cp.SellingPoints {
		text += "\n" + s
	}
	return text
}

func (p *Pipeline) embed(ctx context.Context, st *state) error {
	vecs, err := p.cfg.Embedder.Embed(ctx, []string{EmbeddingText(st.Rewrite.Copy)})
	if err != nil {
		return err
	}
	if len(vecs) != 1 {
		return listinggen.Errorf(listinggen.EINTERNAL, "embedder returned %d vectors for 1 text", len(vecs))
	}
	st.Embedding = vecs[0]
	return nil
}
