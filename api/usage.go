package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/listinggen/listinggen"
)

// getUsage is GET /v1/usage: the tenant's model spending per shop and
// over all of them.
func (s *Server) getUsage(c echo.Context) error {
	f := listinggen.UsageFilter{ShopID: c.QueryParam("shop_id"), JobID: c.QueryParam("job_id")}
	var errs []listinggen.FieldError
	day := func(name string, dst *time.Time) {
		v := c.QueryParam(name)
		if v == "" {
			return
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			errs = append(errs, listinggen.FieldError{Field: name, Message: "want a day such as 2026-11-23"})
		}
		*dst = t
	}
	day("from", &f.From)
	day("to", &f.To)
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		errs = append(errs, listinggen.FieldError{Field: "to", Message: "is before from"})
	}
	if err := listinggen.Invalid(errs); err != nil {
		return err
	}
	shops, err := s.deps.Store.UsageByShop(c.Request().Context(), tenant(c), f)
	if err != nil {
		return err
	}
	var all listinggen.UsageTotal
	for _, t := range shops {
		all.Calls += t.Calls
		all.PromptTokens += t.PromptTokens
		all.CompletionTokens += t.CompletionTokens
		all.CostUSD += t.CostUSD
	}
	return c.JSON(http.StatusOK, map[string]any{"totals": all, "shops": shops})
}
