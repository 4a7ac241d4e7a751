package openai

import "github.com/listinggen/listinggen"

// EstimateItem prices one product × shop before it runs (a batch job's dry
// run and budget estimate): the rendered prompt's tokens, estimated as the
// rate limiter does, plus the running estimate of completion tokens, at
// the configured prices. Repairs and retries are not included, so a real
// run costs at least this.
func (r *Rewriter) EstimateItem(p *listinggen.Product, shop *listinggen.Shop) (tokens int64, costUSD float64) {
	j, err := r.prepare(listinggen.RewriteRequest{Product: p, Shop: shop}, "rewrite", nil, nil)
	if err != nil {
		return 0, 0
	}
	prompt := estimateMessages(j.messages)
	completion := r.core.limiter.expectedCompletion()
	cost := float64(prompt)/1000*r.cfg.PricePromptPer1K + float64(completion)/1000*r.cfg.PriceCompletionPer1K
	return int64(prompt + completion), cost
}
