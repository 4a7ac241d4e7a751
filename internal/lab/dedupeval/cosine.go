package dedupeval

import (
	"context"
	"math"
	"sort"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

// Searcher is the part of the Store the dedup check needs.
type Searcher interface {
	SimilarListings(ctx context.Context, tenantID string, q listinggen.SimilarQuery) ([]listinggen.SimilarListing, error)
}

// CosineCheck is the dedup check without the verifier: it finds the nearest existing listings by embedding alone and gives the
// verdict of the best one: the baseline the verified check is timed against. Matches below SimilarThreshold are not reported.
func CosineCheck(ctx context.Context, s Searcher, cfg dedup.Config, q dedup.Query) (listinggen.DedupReport, error) {
	report := listinggen.DedupReport{Verdict: listinggen.VerdictUnique, Scope: "shop", Matches: []listinggen.DedupMatch{}}
	base := listinggen.SimilarQuery{Vector: q.Vector, Model: q.Model, K: cfg.K, ExcludeID: q.ExcludeID}
	scopes := []listinggen.SimilarQuery{base}
	scopes[0].ShopID = q.Shop.ID
	if q.Shop.Group != "" {
		report.Scope = "group"
		g := base
		g.Group = q.Shop.Group
		scopes = append(scopes, g)
	}
	seen := map[string]bool{}
	for _, sq := range scopes {
		hits, err := s.SimilarListings(ctx, q.TenantID, sq)
		if err != nil {
			return report, err
		}
		for _, h := range hits {
			if seen[h.ListingID] || h.Score < cfg.SimilarThreshold {
				continue
			}
			seen[h.ListingID] = true
			kind := "same_shop"
			if h.ShopID != q.Shop.ID {
				kind = "same_group"
			}
			report.Matches = append(report.Matches, listinggen.DedupMatch{ListingID: h.ListingID, ShopID: h.ShopID, Score: math.Round(h.Score*10000) / 10000, Kind: kind})
		}
	}
	sortMatches(report.Matches)
	if len(report.Matches) > cfg.K {
		report.Matches = report.Matches[:cfg.K]
	}
	if len(report.Matches) > 0 {
		report.Verdict = dedup.Verdict(cfg, report.Matches[0].Score)
	}
	return report, nil
}

func sortMatches(ms []listinggen.DedupMatch) {
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Score > ms[j].Score })
}
