package pipeline

import "github.com/listinggen/listinggen"

// ShopRules is the platform's text limits with the shop's overrides: the
// limits the comply step checks, which the preview UI counts the title
// against as a reviewer types.
func (p *Pipeline) ShopRules(shop *listinggen.Shop) listinggen.TextRules {
	return p.cfg.Checker.Rules(shop.Platform, shop.Rules)
}
