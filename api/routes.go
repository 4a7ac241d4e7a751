package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

// routes lists every route in one place. A test checks that this list and
// openapi.yaml describe the same set.
func (s *Server) routes(e *echo.Echo) {
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.yaml", s.openapi)

	if s.deps.Metrics != nil {
		e.GET("/metrics", s.serveMetrics)
	}

	// Every /v1 route names its scope: read for GETs, write for what spends
	// model budget or changes listings, admin for shops, word lists, keys.
	read, write, admin := listinggen.ScopeRead, listinggen.ScopeWrite, listinggen.ScopeAdmin
	v1 := e.Group("/v1")
	s.handle(v1, http.MethodPost, "/shops", admin, s.createShop)
	s.handle(v1, http.MethodGet, "/shops", read, s.listShops)
	s.handle(v1, http.MethodGet, "/shops/:id", read, s.getShop)
	s.handle(v1, http.MethodPatch, "/shops/:id", admin, s.patchShop)
	s.handle(v1, http.MethodDelete, "/shops/:id", admin, s.deleteShop)
	s.handle(v1, http.MethodPost, "/generate", write, s.generate, s.idempotent)
	s.handle(v1, http.MethodGet, "/listings", read, s.listListings)
	s.handle(v1, http.MethodGet, "/listings/:id", read, s.getListing)
	s.handle(v1, http.MethodPatch, "/listings/:id", write, s.patchListing)
	s.handle(v1, http.MethodPost, "/listings/:id/regenerate", write, s.regenerate)
	// A GET, for EventSource, but it runs the model: write.
	s.handle(v1, http.MethodGet, "/listings/:id/stream", write, s.stream)
	s.handle(v1, http.MethodPost, "/compliance/check", write, s.complianceCheck)
	s.handle(v1, http.MethodPost, "/images", write, s.postImage)
	s.handle(v1, http.MethodGet, "/images/:id/:variant", read, s.getImage)
	s.handle(v1, http.MethodGet, "/compliance/words", read, s.getWords)
	s.handle(v1, http.MethodPut, "/compliance/words", admin, s.putWords)
	s.handle(v1, http.MethodGet, "/keys", admin, s.listKeys)
	s.handle(v1, http.MethodPost, "/keys", admin, s.createKey)
	s.handle(v1, http.MethodDelete, "/keys/:id", admin, s.revokeKey)
	s.handle(v1, http.MethodGet, "/usage", read, s.getUsage)
	// Nothing is stored, but image URLs may be fetched: write, like the compliance check.
	s.handle(v1, http.MethodPost, "/dedup/check", write, s.dedupCheck)
	s.handle(v1, http.MethodPost, "/jobs", write, s.createJob, s.idempotent)
	s.handle(v1, http.MethodGet, "/jobs", read, s.listJobs)
	s.handle(v1, http.MethodGet, "/jobs/:id", read, s.getJob)
	s.handle(v1, http.MethodGet, "/jobs/:id/items", read, s.jobItems)
	s.handle(v1, http.MethodPost, "/jobs/:id/cancel", write, s.cancelJob)
	s.handle(v1, http.MethodPost, "/jobs/:id/retry", write, s.retryJob)
	s.handle(v1, http.MethodPost, "/jobs/:id/resume", write, s.resumeJob)
	s.handle(v1, http.MethodGet, "/jobs/:id/results", read, s.jobResults)
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c echo.Context) error {
	if err := s.deps.Store.Ping(c.Request().Context()); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) openapi(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", s.deps.Spec.Raw)
}
