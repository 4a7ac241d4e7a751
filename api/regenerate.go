package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

// regenerate writes new copy for the listing's product and shop and
// returns the updated listing (same id, next version).
func (s *Server) regenerate(c echo.Context) error {
	ctx := c.Request().Context()
	l, shop, err := s.listingAndShop(c)
	if err != nil {
		return err
	}
	if err := s.withPipelineSlot(c, func() error { return s.deps.Pipeline.Regenerate(ctx, l, shop, nil) }); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

// stream regenerates like POST …/regenerate but answers with server-sent
// events: "delta" events carry the model's text as it arrives, then one
// "listing" event the validated, stored listing, or one "problem" event.
// It is a GET so that a browser's EventSource can call it.
func (s *Server) stream(c echo.Context) error {
	ctx := c.Request().Context()
	l, shop, err := s.listingAndShop(c)
	if err != nil {
		return err // not started yet: an ordinary problem response
	}
	w := c.Response()
	// The server's WriteTimeout is for ordinary responses; a stream may
	// outlast it and is bounded by the request's deadline instead.
	if dl, ok := ctx.Deadline(); ok {
		_ = http.NewResponseController(w).SetWriteDeadline(dl.Add(5 * time.Second))
	}
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event string, data any) {
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		w.Flush()
	}
	err = s.withPipelineSlot(c, func() error {
		return s.deps.Pipeline.Regenerate(ctx, l, shop, func(delta string) {
			send("delta", map[string]string{"text": delta})
		})
	})
	if err != nil {
		p := problemFor(err)
		p.Instance = c.Request().URL.Path
		p.RequestID = w.Header().Get(echo.HeaderXRequestID)
		send("problem", p)
		return nil
	}
	send("listing", l)
	return nil
}

func (s *Server) listingAndShop(c echo.Context) (*listinggen.Listing, *listinggen.Shop, error) {
	ctx := c.Request().Context()
	l, err := s.deps.Store.FindListing(ctx, tenant(c), c.Param("id"))
	if err != nil {
		return nil, nil, err
	}
	shop, err := s.deps.Store.FindShop(ctx, tenant(c), l.ShopID)
	if err != nil {
		return nil, nil, err
	}
	return l, shop, nil
}
