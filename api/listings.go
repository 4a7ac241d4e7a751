package api

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

type generateRequest struct {
	Product listinggen.Product `json:"product"`
	ShopIDs []string           `json:"shop_ids"`
}

// generatedListing is a listing plus whether this request created it.
type generatedListing struct {
	*listinggen.Listing
	Created bool `json:"created"`
}

// generate validates the product and loads every shop before any work, so
// that a bad request writes nothing. Each listing is stored atomically and
// idempotently: a retry after a failure returns the listings already stored.
func (s *Server) generate(c echo.Context) error {
	var req generateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	req.Product.Normalize()
	var errs []listinggen.FieldError
	if err := req.Product.Validate("product"); err != nil {
		errs = append(errs, listinggen.ErrorFields(err)...)
	}
	if len(req.ShopIDs) > s.cfg.MaxShopsPerGenerate {
		errs = append(errs, listinggen.FieldError{Field: "shop_ids", Message: fmt.Sprintf("at most %d shops per request; use a batch job for more", s.cfg.MaxShopsPerGenerate)})
	}
	seen := map[string]bool{}
	for i, id := range req.ShopIDs {
		if seen[id] {
			errs = append(errs, listinggen.FieldError{Field: fmt.Sprintf("shop_ids[%d]", i), Message: "repeats a shop id"})
		}
		seen[id] = true
	}
	if err := listinggen.Invalid(errs); err != nil {
		return err
	}
	if req.Product.ID == "" {
		// Listings are filtered by product id; without one, the content
		// hash is the product's identity.
		req.Product.ID = "sha256:" + req.Product.ContentHash()[:16]
	}
	shops := make([]*listinggen.Shop, len(req.ShopIDs))
	for i, id := range req.ShopIDs {
		shop, err := s.deps.Store.FindShop(ctx, tenant(c), id)
		if err != nil {
			if listinggen.ErrorCode(err) == listinggen.ENOTFOUND {
				return &listinggen.Error{Code: listinggen.ENOTFOUND, Message: fmt.Sprintf("shop %q not found", id),
					Fields: []listinggen.FieldError{{Field: fmt.Sprintf("shop_ids[%d]", i), Message: "no such shop"}}}
			}
			return err
		}
		shops[i] = shop
	}
	out := make([]generatedListing, 0, len(shops))
	err := s.withPipelineSlot(c, func() error {
		for _, shop := range shops {
			st, err := s.deps.Pipeline.Generate(ctx, tenant(c), req.Product, shop)
			if err != nil {
				return err
			}
			out = append(out, generatedListing{Listing: st.Listing, Created: st.Created})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"listings": out})
}

func (s *Server) listListings(c echo.Context) error {
	page, err := s.deps.Store.FindListings(c.Request().Context(), tenant(c), listinggen.ListingFilter{
		ShopID:     c.QueryParam("shop_id"),
		ProductID:  c.QueryParam("product_id"),
		Status:     listinggen.ListingStatus(c.QueryParam("status")),
		Verdict:    listinggen.Verdict(c.QueryParam("verdict")),
		Platform:   listinggen.Platform(c.QueryParam("platform")),
		Compliance: c.QueryParam("compliance"),
		JobID:      c.QueryParam("job_id"),
		Cursor:     c.QueryParam("cursor"),
		Limit:      queryInt(c, "limit"),
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) getListing(c echo.Context) error {
	l, err := s.deps.Store.FindListing(c.Request().Context(), tenant(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

type listingPatch struct {
	Version *int                      `json:"version"`
	Status  *listinggen.ListingStatus `json:"status"`
	Copy    *struct {
		Title         *string   `json:"title"`
		SellingPoints *[]string `json:"selling_points"`
		Description   *string   `json:"description"`
		Keywords      *[]string `json:"keywords"`
	} `json:"copy"`
}

// validate checks the text of an edit; the schema has checked shapes.
func (p *listingPatch) validate() error {
	if p.Copy == nil {
		return nil
	}
	var errs []listinggen.FieldError
	if p.Copy.Title != nil {
		errs = append(errs, listinggen.CheckText("copy.title", *p.Copy.Title, listinggen.MaxTitleRunes, false)...)
	}
	if p.Copy.Description != nil {
		errs = append(errs, listinggen.CheckText("copy.description", *p.Copy.Description, listinggen.MaxDescriptionRunes, true)...)
	}
	for name, list := range map[string]*[]string{"copy.selling_points": p.Copy.SellingPoints, "copy.keywords": p.Copy.Keywords} {
		if list == nil {
			continue
		}
		for i, v := range *list {
			errs = append(errs, listinggen.CheckText(fmt.Sprintf("%s[%d]", name, i), v, 500, false)...)
		}
	}
	return listinggen.Invalid(errs)
}

// patchListing edits copy and/or sets the review status. Edited copy is
// re-checked; a listing that breaks a blocking rule cannot be approved.
func (s *Server) patchListing(c echo.Context) error {
	var patch listingPatch
	if err := decodeJSON(c, &patch); err != nil {
		return err
	}
	if err := patch.validate(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	l, err := s.deps.Store.FindListing(ctx, tenant(c), c.Param("id"))
	if err != nil {
		return err
	}
	if patch.Version != nil && *patch.Version != l.Version {
		return listinggen.Errorf(listinggen.ECONFLICT, "listing %s is at version %d, you sent %d; reload and retry", l.ID, l.Version, *patch.Version)
	}
	if patch.Copy != nil {
		if patch.Copy.Title != nil {
			l.Copy.Title = *patch.Copy.Title
		}
		if patch.Copy.SellingPoints != nil {
			l.Copy.SellingPoints = *patch.Copy.SellingPoints
		}
		if patch.Copy.Description != nil {
			l.Copy.Description = *patch.Copy.Description
		}
		if patch.Copy.Keywords != nil {
			l.Copy.Keywords = *patch.Copy.Keywords
		}
		shop, err := s.deps.Store.FindShop(ctx, tenant(c), l.ShopID)
		if err != nil {
			return err
		}
		if err := s.deps.Pipeline.Recheck(ctx, l, shop); err != nil {
			return err
		}
		l.Compliance.Repaired = nil
		l.Provenance.EditedBy = "api"
		l.Status = listinggen.StatusDraft
		if len(l.ReviewReasons) > 0 {
			l.Status = listinggen.StatusNeedsReview
		}
	}
	if patch.Status != nil {
		if *patch.Status == listinggen.StatusApproved && !l.Compliance.OK {
			return &listinggen.Error{Code: listinggen.EINVALID,
				Message: "cannot approve a listing that breaks a blocking rule; edit the copy first",
				Fields:  violationFields(l.Compliance)}
		}
		l.Status = *patch.Status
	}
	if err := s.deps.Store.UpdateListing(ctx, l); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

// violationFields reports blocking violations as field errors on the copy.
func violationFields(r listinggen.ComplianceReport) []listinggen.FieldError {
	var out []listinggen.FieldError
	for _, v := range r.Violations {
		if v.Severity == listinggen.SeverityBlock {
			msg := v.Rule
			if v.Term != "" {
				msg = fmt.Sprintf("%q: %s", v.Term, v.Rule)
			}
			out = append(out, listinggen.FieldError{Field: "copy." + v.Field, Message: msg})
		}
	}
	return out
}

type complianceCheckRequest struct {
	Fix           bool                `json:"fix"`
	Platform      listinggen.Platform `json:"platform"`
	ShopID        string              `json:"shop_id"`
	Category      string              `json:"category"`
	Title         string              `json:"title"`
	Description   string              `json:"description"`
	SellingPoints []string            `json:"selling_points"`
}

func (s *Server) complianceCheck(c echo.Context) error {
	var req complianceCheckRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var errs []listinggen.FieldError
	errs = append(errs, listinggen.CheckText("title", req.Title, listinggen.MaxTitleRunes, false)...)
	errs = append(errs, listinggen.CheckText("description", req.Description, listinggen.MaxDescriptionRunes, true)...)
	errs = append(errs, listinggen.CheckText("category", req.Category, listinggen.MaxShortTextRunes, false)...)
	for i, sp := range req.SellingPoints {
		errs = append(errs, listinggen.CheckText(fmt.Sprintf("selling_points[%d]", i), sp, 500, false)...)
	}
	platform := req.Platform
	var shop *listinggen.Shop
	if req.ShopID != "" {
		var err error
		if shop, err = s.deps.Store.FindShop(c.Request().Context(), tenant(c), req.ShopID); err != nil {
			return err
		}
		if platform != "" && platform != shop.Platform {
			errs = append(errs, listinggen.FieldError{Field: "platform", Message: fmt.Sprintf("is %s but shop %s is on %s", platform, shop.ID, shop.Platform)})
		}
		platform = shop.Platform
	}
	if platform == "" {
		errs = append(errs, listinggen.FieldError{Field: "platform", Message: "is required when shop_id is not given"})
	}
	if err := listinggen.Invalid(errs); err != nil {
		return err
	}
	report, fixed, fixedReport, err := s.deps.Pipeline.CheckCopy(c.Request().Context(), tenant(c), platform, shop, req.Category,
		listinggen.Copy{Title: req.Title, Description: req.Description, SellingPoints: req.SellingPoints}, req.Fix)
	if err != nil {
		return err
	}
	resp := complianceCheckResponse{ComplianceReport: report}
	if fixed != nil {
		resp.Fixed = &fixedCopy{Title: fixed.Title, SellingPoints: fixed.SellingPoints, Description: fixed.Description,
			OK: fixedReport.OK, Repaired: fixedReport.Repaired, Violations: fixedReport.Violations}
	}
	return c.JSON(http.StatusOK, resp)
}

// complianceCheckResponse is the report and, with fix, the repaired text
// and what still breaks a rule after the repair.
type complianceCheckResponse struct {
	listinggen.ComplianceReport
	Fixed *fixedCopy `json:"fixed,omitempty"`
}

type fixedCopy struct {
	Title         string                 `json:"title"`
	SellingPoints []string               `json:"selling_points"`
	Description   string                 `json:"description"`
	OK            bool                   `json:"ok"`
	Repaired      []string               `json:"repaired"`
	Violations    []listinggen.Violation `json:"violations"`
}
