package dedup

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/listinggen/listinggen"
)

// Store is what a verified check reads: candidates by vector and by
// image, and the candidates themselves.
type Store interface {
	SimilarListings(ctx context.Context, tenantID string, q listinggen.SimilarQuery) ([]listinggen.SimilarListing, error)
	listinggen.ImageHashSearcher
	FindListingsByID(ctx context.Context, tenantID string, ids []string) ([]*listinggen.Listing, error)
	FindListings(ctx context.Context, tenantID string, filter listinggen.ListingFilter) (listinggen.Page[*listinggen.Listing], error)
	FindShop(ctx context.Context, tenantID, id string) (*listinggen.Shop, error)
}

// Confirmer asks a second opinion (a language model) on a borderline
// pair; see listinggen.DedupConfirmer.
type Confirmer = listinggen.DedupConfirmer

// Verified is a dedup check whose candidates the verifier judges.
type Verified struct {
	Store    Store
	Verifier *Verifier
	// Confirmer, when set, is asked about candidates whose score falls
	// between SimilarScore and DuplicateScore; its answer moves them to
	// duplicate or unique, and is recorded in the report.
	Confirmer Confirmer
	Config    Config
}

// VerifiedQuery is one verified check: the new listing's vector and its
// evidence, against a shop (and its group), or the tenant's whole
// catalogue when Shop is nil.
type VerifiedQuery struct {
	Query
	Item Item
	// ProductID, when set, adds the same product's listings in the scope
	// as candidates: the copies a shop group must keep apart, which a
	// top-K vector search can crowd out when the group is large.
	ProductID string
}

// sameProductLimit bounds the same-product candidates of one check.
const sameProductLimit = 100

// Match kinds: where the candidate lives relative to the checked listing.
const (
	KindSameShop  = "same_shop"
	KindSameGroup = "same_group"
	KindTenant    = "same_tenant"
)

// Check finds candidates and judges each. Within the checked shop (or the
// tenant, for a catalogue check) the question is "the same item twice?",
// answered by the verifier's score; in other shops of the group, offering
// the same item is what a shop group does, and the question is "the same
// copy?", answered by the copy's similarity. The report's verdict is the
// worst match's.
func (v *Verified) Check(ctx context.Context, q VerifiedQuery) (listinggen.DedupReport, error) {
	cfg := v.Config
	report := listinggen.DedupReport{Verdict: listinggen.VerdictUnique, Scope: "tenant", Matches: []listinggen.DedupMatch{}}
	base := listinggen.SimilarQuery{Vector: q.Vector, Model: q.Model, K: cfg.K, ExcludeID: q.ExcludeID}
	var scopes []listinggen.SimilarQuery
	imageQ := listinggen.ImageHashQuery{Hashes: q.Item.PHashes, MaxDistance: NearImageBits, K: cfg.K, ExcludeID: q.ExcludeID}
	var imageScopes []listinggen.ImageHashQuery
	if q.Shop != nil {
		report.Scope = "shop"
		s := base
		s.ShopID = q.Shop.ID
		scopes = append(scopes, s)
		iq := imageQ
		iq.ShopID = q.Shop.ID
		imageScopes = append(imageScopes, iq)
		if q.Shop.Group != "" {
			report.Scope = "group"
			g := base
			g.Group = q.Shop.Group
			scopes = append(scopes, g)
			iq.ShopID, iq.Group = "", q.Shop.Group
			imageScopes = append(imageScopes, iq)
		}
	} else {
		scopes = append(scopes, base)
		imageScopes = append(imageScopes, imageQ)
	}
	var ids []string
	seen := map[string]bool{}
	addID := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, sq := range scopes {
		if len(sq.Vector) == 0 {
			break
		}
		hits, err := v.Store.SimilarListings(ctx, q.TenantID, sq)
		if err != nil {
			return report, err
		}
		for _, h := range hits {
			addID(h.ListingID)
		}
	}
	if len(q.Item.PHashes) > 0 {
		if len(imageQ.Hashes) > listinggen.MaxImageHashQuery {
			for i := range imageScopes {
				imageScopes[i].Hashes = imageScopes[i].Hashes[:listinggen.MaxImageHashQuery]
			}
		}
		for _, iq := range imageScopes {
			hits, err := v.Store.SimilarImages(ctx, q.TenantID, iq)
			if err != nil {
				return report, err
			}
			for _, h := range hits {
				addID(h.ListingID)
			}
		}
	}
	cands, err := v.Store.FindListingsByID(ctx, q.TenantID, ids)
	if err != nil {
		return report, err
	}
	if q.ProductID != "" && q.Shop != nil {
		more, err := v.sameProduct(ctx, q, seen)
		if err != nil {
			return report, err
		}
		cands = append(cands, more...)
	}
	self := v.Verifier.prepare(q.Item)
	for _, cand := range cands {
		m, conf, err := v.judge(ctx, q, self, cand)
		if err != nil {
			return report, err
		}
		if conf != nil {
			report.Confirmations = append(report.Confirmations, *conf)
		}
		if m.Verdict != listinggen.VerdictUnique {
			report.Matches = append(report.Matches, m)
		}
	}
	sort.SliceStable(report.Matches, func(i, j int) bool {
		a, b := report.Matches[i], report.Matches[j]
		if ra, rb := rank(a.Verdict), rank(b.Verdict); ra != rb {
			return ra > rb
		}
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		return a.TextScore > b.TextScore
	})
	if len(report.Matches) > cfg.K {
		report.Matches = report.Matches[:cfg.K]
	}
	if len(report.Matches) > 0 {
		top := report.Matches[0]
		report.Verdict = top.Verdict
		report.Reasons = []string{fmt.Sprintf("%s of listing %s (%s): %s", top.Verdict, top.ListingID, kindPhrase(top.Kind), strings.Join(top.Reasons, "; "))}
	}
	return report, nil
}

// SameProductTitles returns the titles of q.ProductID's listings in q's
// shop and the other shops of its group (except q.ExcludeID): the copy a
// new draw for the shop must not repeat.
func (v *Verified) SameProductTitles(ctx context.Context, q VerifiedQuery) ([]string, error) {
	if q.ProductID == "" || q.Shop == nil {
		return nil, nil
	}
	ls, err := v.sameProduct(ctx, q, map[string]bool{})
	if err != nil {
		return nil, err
	}
	titles := make([]string, 0, len(ls))
	for _, l := range ls {
		titles = append(titles, l.Copy.Title)
	}
	return titles, nil
}

// sameProduct returns the listings of q.ProductID in q's shop and in the
// other shops of its group, except those already in seen.
func (v *Verified) sameProduct(ctx context.Context, q VerifiedQuery, seen map[string]bool) ([]*listinggen.Listing, error) {
	page, err := v.Store.FindListings(ctx, q.TenantID, listinggen.ListingFilter{ProductID: q.ProductID, Limit: sameProductLimit})
	if err != nil {
		return nil, err
	}
	inScope := map[string]bool{q.Shop.ID: true}
	var out []*listinggen.Listing
	for _, l := range page.Items {
		if seen[l.ID] || l.ID == q.ExcludeID {
			continue
		}
		in, known := inScope[l.ShopID]
		if !known {
			sh, err := v.Store.FindShop(ctx, q.TenantID, l.ShopID)
			if err != nil {
				return nil, err
			}
			in = q.Shop.Group != "" && sh.Group == q.Shop.Group
			inScope[l.ShopID] = in
		}
		if in {
			seen[l.ID] = true
			out = append(out, l)
		}
	}
	return out, nil
}

// judge scores one candidate and gives its verdict.
func (v *Verified) judge(ctx context.Context, q VerifiedQuery, self *features, cand *listinggen.Listing) (listinggen.DedupMatch, *listinggen.DedupConfirmation, error) {
	cfg := v.Config
	other := ItemFromListing(cand)
	as := v.Verifier.compare(self, v.Verifier.prepare(other))
	// The copy is judged by its title: selling points restate the
	// product's attributes, which offers of one item share by nature.
	m := listinggen.DedupMatch{ListingID: cand.ID, ShopID: cand.ShopID, Score: as.Score, Kind: KindTenant,
		TextScore: round(as.TextScore), Evidence: as.Evidence}
	if q.Shop != nil {
		m.Kind = KindSameShop
		if cand.ShopID != q.Shop.ID {
			m.Kind = KindSameGroup
		}
	}
	copyVerdict := Verdict(cfg, m.TextScore)
	var conf *listinggen.DedupConfirmation
	itemVerdict := cfg.ItemVerdict(as.Score)
	if itemVerdict == listinggen.VerdictSimilar && v.Confirmer != nil && m.Kind != KindSameGroup {
		op, err := v.Confirmer.ConfirmSame(ctx, q.Item, other)
		same, reason, cached := op.Same, op.Reason, op.Cached
		if err != nil {
			// A second opinion is optional: without it the verdict stands.
			m.Reasons = append(m.Reasons, "no second opinion: "+listinggen.ErrorMessage(err))
		} else {
			conf = &listinggen.DedupConfirmation{ListingID: cand.ID, Model: v.Confirmer.Model(), Same: same, Reason: reason, Cached: cached}
			itemVerdict = listinggen.VerdictUnique
			word := "a different item"
			if same {
				itemVerdict, word = listinggen.VerdictDuplicate, "the same item"
			}
			m.Reasons = append(m.Reasons, fmt.Sprintf("%s says %s: %s", conf.Model, word, reason))
		}
	}
	m.Reasons = append(m.Reasons, as.Reasons()...)
	if m.Kind == KindSameGroup {
		// Another shop of the group may sell the same item; it must not
		// publish the same copy.
		m.Verdict = copyVerdict
	} else {
		m.Verdict = worse(itemVerdict, copyVerdict)
	}
	return m, conf, nil
}

func kindPhrase(kind string) string {
	switch kind {
	case KindSameShop:
		return "same shop"
	case KindSameGroup:
		return "another shop of the group, copy"
	}
	return "same tenant"
}

func rank(v listinggen.Verdict) int {
	switch v {
	case listinggen.VerdictDuplicate:
		return 2
	case listinggen.VerdictSimilar:
		return 1
	}
	return 0
}

func worse(a, b listinggen.Verdict) listinggen.Verdict {
	if rank(a) >= rank(b) {
		return a
	}
	return b
}

// TitleSimilarity is the copy scorer of the dedup check: the verifier's
// character n-gram cosine of two titles, in [0, 1]. Titles at or above
// Config.DuplicateThreshold are the same copy.
func TitleSimilarity(a, b string) float64 {
	return cosineGrams(&features{grams: ngrams(fold(a))}, &features{grams: ngrams(fold(b))})
}
