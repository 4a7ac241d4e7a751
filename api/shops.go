package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

type shopCreateRequest struct {
	Name     string              `json:"name"`
	Platform listinggen.Platform `json:"platform"`
	Group    string              `json:"group"`
	Style    string              `json:"style"`
	listinggen.WordRules
	Rules    listinggen.RuleOverrides `json:"rules"`
	Licences []string                 `json:"licences"`
}

func (s *Server) createShop(c echo.Context) error {
	var req shopCreateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	shop := &listinggen.Shop{TenantID: tenant(c), Name: req.Name, Platform: req.Platform, Group: req.Group, Style: req.Style,
		WordRules: req.WordRules, Rules: req.Rules, Licences: req.Licences}
	if err := s.validateShop(shop); err != nil {
		return err
	}
	if err := s.deps.Store.CreateShop(c.Request().Context(), shop); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/shops/"+shop.ID)
	return c.JSON(http.StatusCreated, shop)
}

func (s *Server) listShops(c echo.Context) error {
	page, err := s.deps.Store.FindShops(c.Request().Context(), tenant(c), listinggen.ShopFilter{
		Group: c.QueryParam("group"), Cursor: c.QueryParam("cursor"), Limit: queryInt(c, "limit"),
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) getShop(c echo.Context) error {
	shop, err := s.deps.Store.FindShop(c.Request().Context(), tenant(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, shop)
}

// shopPatch changes some fields of a shop; absent fields stay. The platform
// cannot change: the shop's listings were written for it.
type shopPatch struct {
	Name             *string                   `json:"name"`
	Group            *string                   `json:"group"`
	Style            *string                   `json:"style"`
	BannedWords      *[]listinggen.CustomTerm  `json:"banned_words"`
	AllowedWords     *[]string                 `json:"allowed_words"`
	AuthorizedBrands *[]string                 `json:"authorized_brands"`
	Rules            *listinggen.RuleOverrides `json:"rules"`
	Licences         *[]string                 `json:"licences"`
}

func (s *Server) patchShop(c echo.Context) error {
	var p shopPatch
	if err := decodeJSON(c, &p); err != nil {
		return err
	}
	ctx := c.Request().Context()
	shop, err := s.deps.Store.FindShop(ctx, tenant(c), c.Param("id"))
	if err != nil {
		return err
	}
	setIf(&shop.Name, p.Name)
	setIf(&shop.Group, p.Group)
	setIf(&shop.Style, p.Style)
	setIf(&shop.BannedWords, p.BannedWords)
	setIf(&shop.AllowedWords, p.AllowedWords)
	setIf(&shop.AuthorizedBrands, p.AuthorizedBrands)
	setIf(&shop.Rules, p.Rules)
	setIf(&shop.Licences, p.Licences)
	if err := s.validateShop(shop); err != nil {
		return err
	}
	if err := s.deps.Store.UpdateShop(ctx, shop); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, shop)
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (s *Server) deleteShop(c echo.Context) error {
	if err := s.deps.Store.DeleteShop(c.Request().Context(), tenant(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) getWords(c echo.Context) error {
	w, err := s.deps.Store.TenantWords(c.Request().Context(), tenant(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, wordsResponse(w))
}

func (s *Server) putWords(c echo.Context) error {
	var w listinggen.WordRules
	if err := decodeJSON(c, &w); err != nil {
		return err
	}
	if err := listinggen.Invalid(w.Validate("")); err != nil {
		return err
	}
	if err := s.deps.Store.SetTenantWords(c.Request().Context(), tenant(c), w); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, wordsResponse(w))
}

// wordsResponse always lists all three lists, empty ones as [].
func wordsResponse(w listinggen.WordRules) map[string]any {
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	banned := w.BannedWords
	if banned == nil {
		banned = []listinggen.CustomTerm{}
	}
	return map[string]any{"banned_words": banned, "allowed_words": nz(w.AllowedWords), "authorized_brands": nz(w.AuthorizedBrands)}
}

// validateShop checks the shop's fields, that its image overrides make a
// valid image specification for its platform and that the compliance
// checker knows its licences.
func (s *Server) validateShop(shop *listinggen.Shop) error {
	if err := shop.Validate(); err != nil {
		return err
	}
	if _, err := s.deps.Pipeline.ShopImageSpec(shop); err != nil {
		return err
	}
	return s.deps.Pipeline.ValidateLicences(shop)
}
