package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

type dedupCheckRequest struct {
	Title         string                `json:"title"`
	Description   string                `json:"description"`
	SellingPoints []string              `json:"selling_points"`
	ShopID        string                `json:"shop_id"`
	Category      string                `json:"category"`
	Brand         string                `json:"brand"`
	Price         string                `json:"price"`
	Attributes    listinggen.Attributes `json:"attributes"`
	ImagePHashes  []string              `json:"image_phashes"`
	ImageURLs     []string              `json:"image_urls"`
}

type dedupCheckResponse struct {
	listinggen.DedupReport
	ImageErrors []listinggen.ImageError `json:"image_errors,omitempty"`
}

// dedupCheck answers "is this item already listed?" with the pipeline's
// verified check, storing nothing.
func (s *Server) dedupCheck(c echo.Context) error {
	var req dedupCheckRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var errs []listinggen.FieldError
	errs = append(errs, listinggen.CheckText("title", req.Title, listinggen.MaxTitleRunes, false)...)
	if strings.TrimSpace(req.Title) == "" {
		errs = append(errs, listinggen.FieldError{Field: "title", Message: "is required"})
	}
	errs = append(errs, listinggen.CheckText("description", req.Description, listinggen.MaxDescriptionRunes, true)...)
	for i, sp := range req.SellingPoints {
		errs = append(errs, listinggen.CheckText(fmt.Sprintf("selling_points[%d]", i), sp, 500, false)...)
	}
	for _, f := range []struct{ name, value string }{{"category", req.Category}, {"brand", req.Brand}} {
		errs = append(errs, listinggen.CheckText(f.name, f.value, listinggen.MaxShortTextRunes, false)...)
	}
	for i, a := range req.Attributes {
		errs = append(errs, listinggen.CheckText(fmt.Sprintf("attributes[%d].name", i), a.Name, listinggen.MaxShortTextRunes, false)...)
		for j, v := range a.Values {
			errs = append(errs, listinggen.CheckText(fmt.Sprintf("attributes.%s[%d]", a.Name, j), v, listinggen.MaxShortTextRunes, false)...)
		}
	}
	item := dedup.Item{Title: req.Title, Text: strings.Join(append([]string{req.Description}, req.SellingPoints...), "\n"),
		Brand: req.Brand, Category: req.Category, Attributes: req.Attributes}
	if req.Price != "" {
		p, err := strconv.ParseFloat(req.Price, 64)
		if err != nil || p < 0 {
			errs = append(errs, listinggen.FieldError{Field: "price", Message: "is not a decimal amount"})
		}
		item.Price = p
	}
	for i, h := range req.ImagePHashes {
		v, err := strconv.ParseUint(h, 16, 64)
		if err != nil || len(h) != 16 {
			errs = append(errs, listinggen.FieldError{Field: fmt.Sprintf("image_phashes[%d]", i), Message: "is not 16 hex digits"})
			continue
		}
		item.PHashes = append(item.PHashes, v)
	}
	var shop *listinggen.Shop
	if req.ShopID != "" {
		var err error
		if shop, err = s.deps.Store.FindShop(ctx, tenant(c), req.ShopID); err != nil {
			if listinggen.ErrorCode(err) == listinggen.ENOTFOUND {
				return &listinggen.Error{Code: listinggen.ENOTFOUND, Message: fmt.Sprintf("shop %q not found", req.ShopID),
					Fields: []listinggen.FieldError{{Field: "shop_id", Message: "no such shop"}}}
			}
			return err
		}
	}
	if err := listinggen.Invalid(errs); err != nil {
		return err
	}
	var resp dedupCheckResponse
	if len(req.ImageURLs) > 0 {
		hashes, imgErrs, err := s.deps.Pipeline.HashImages(ctx, "image_urls", req.ImageURLs)
		if err != nil {
			return err
		}
		item.PHashes, resp.ImageErrors = append(item.PHashes, hashes...), imgErrs
	}
	text := pipeline.EmbeddingText(listinggen.Copy{Title: req.Title, SellingPoints: req.SellingPoints})
	report, err := s.deps.Pipeline.CheckDuplicates(ctx, tenant(c), shop, text, item)
	if err != nil {
		return err
	}
	resp.DedupReport = report
	return c.JSON(http.StatusOK, resp)
}
