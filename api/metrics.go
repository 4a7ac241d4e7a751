package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen/metrics"
	"github.com/listinggen/listinggen/pipeline"
)

var _ pipeline.Observer = (*metrics.Metrics)(nil)

// middleware times every request by route template and final status (an
// error's status is the one the problem response will carry).
func (s *Server) metricsMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		status := c.Response().Status
		if err != nil {
			status = problemFor(err).Status
		}
		route := c.Path()
		if route == "" || status == http.StatusNotFound && c.Param("*") != "" {
			route = "unmatched"
		}
		s.deps.Metrics.ObserveRequest(c.Request().Method, route, status, time.Since(start))
		return err
	}
}

func (s *Server) serveMetrics(c echo.Context) error {
	s.deps.Metrics.Handler().ServeHTTP(c.Response(), c.Request())
	return nil
}
