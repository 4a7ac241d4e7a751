package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

// Keys over the API act within the caller's tenant only: an admin key
// lists, creates and revokes its own tenant's keys; another tenant's key id
// is not found.

func (s *Server) listKeys(c echo.Context) error {
	list, err := s.deps.Store.ListAPIKeys(c.Request().Context(), tenant(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": list})
}

type keyCreateRequest struct {
	Name   string             `json:"name"`
	Scopes []listinggen.Scope `json:"scopes"`
}

// createKey mints a key for the caller's tenant and shows its token once.
func (s *Server) createKey(c echo.Context) error {
	var req keyCreateRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if fe := listinggen.CheckText("name", req.Name, 200, false); fe != nil {
		return listinggen.Invalid(fe)
	}
	names := make([]string, len(req.Scopes))
	for i, sc := range req.Scopes {
		names[i] = string(sc)
	}
	scopes, err := listinggen.ParseScopes(strings.Join(names, ","))
	if err != nil {
		return listinggen.Invalid([]listinggen.FieldError{{Field: "scopes", Message: listinggen.ErrorMessage(err)}})
	}
	k, token, err := listinggen.NewAPIKey(tenant(c), req.Name, scopes, s.now())
	if err != nil {
		return err
	}
	if err := s.deps.Store.CreateAPIKey(c.Request().Context(), k); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"key": k, "token": token})
}

func (s *Server) revokeKey(c echo.Context) error {
	ctx := c.Request().Context()
	k, err := s.deps.Store.FindAPIKey(ctx, c.Param("id"))
	if listinggen.ErrorCode(err) == listinggen.ENOTFOUND || err == nil && k.TenantID != tenant(c) {
		return listinggen.Errorf(listinggen.ENOTFOUND, "API key %q not found", c.Param("id"))
	} else if err != nil {
		return err
	}
	if err := s.deps.Store.RevokeAPIKey(ctx, k.ID, s.now()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
