package pipeline

import (
	"context"

	"github.com/listinggen/listinggen"
)

// normalise validates the product, loads the shop's rules and checks the
// supplier's own text, once per product and shop: a redraw of the copy
// reuses all of it.
func (p *Pipeline) normalise(ctx context.Context, st *state) error {
	st.Product.Normalize()
	if err := st.Product.Validate("product"); err != nil {
		return err
	}
	if st.Shop == nil || st.Shop.TenantID != st.TenantID {
		return listinggen.Errorf(listinggen.ENOTFOUND, "shop not found")
	}
	var err error
	if st.Checker, st.Rules, err = p.checkerFor(ctx, st.TenantID, st.Shop, st.Product.Category); err != nil {
		return err
	}
	// Check the source first, so the rewriter is told what to avoid and the
	// reviewer sees what the supplier's text broke.
	st.SourceViolations = append(st.Checker.FindTerms("source.title", st.Product.Title),
		st.Checker.FindTerms("source.description", st.Product.Description)...)
	return nil
}
