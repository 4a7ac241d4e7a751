package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

// IdempotencyHeader is the request header (IETF draft
// "The Idempotency-Key HTTP Header Field") a client sets to make a POST safe
// to retry.
const IdempotencyHeader = "Idempotency-Key"

// idempotent makes a POST route honour Idempotency-Key, per tenant, for
// Config.IdempotencyTTL: the first request with a key runs and its response
// is stored; a retry with the same body gets that response again (header
// Idempotent-Replayed: true), one with another body 422, and one that
// arrives while the first still runs 409 with Retry-After. A request that
// fails (an error, a 5xx or a panic) releases the key so that a retry runs
// again. Add it to a route with s.idempotent as route middleware.
func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Header.Get(IdempotencyHeader)
		if key == "" {
			return next(c)
		}
		if len(key) > 255 || !printableASCII(key) {
			return listinggen.Invalid([]listinggen.FieldError{{Field: "header " + IdempotencyHeader, Message: "must be 1 to 255 printable ASCII characters"}})
		}
		req := c.Request()
		body, err := io.ReadAll(io.LimitReader(req.Body, s.bodyLimit(req)+1))
		if err != nil {
			return badRequest("could not read the request body")
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.New()
		io.WriteString(sum, req.Method+" "+req.URL.Path+"\n")
		sum.Write(body)
		now := s.now()
		rec := &listinggen.IdempotencyRecord{TenantID: tenant(c), Key: key, RequestHash: hex.EncodeToString(sum.Sum(nil)),
			CreatedAt: now, ExpiresAt: now.Add(s.cfg.IdempotencyTTL)}
		// A claim older than the longest a request may run belongs to a
		// process that died mid-request: it may be taken over.
		got, claimed, err := s.deps.Store.ClaimIdempotencyKey(req.Context(), rec, s.cfg.RequestTimeout+30*time.Second)
		if err != nil {
			return err
		}
		if !claimed {
			return replay(c, got, rec.RequestHash)
		}
		return s.runClaimed(c, next, rec)
	}
}

func replay(c echo.Context, got *listinggen.IdempotencyRecord, hash string) error {
	switch {
	case got.RequestHash != hash:
		return &listinggen.Error{Code: listinggen.EINVALID, Message: "this Idempotency-Key was used with a different request; use a new key for a new request",
			Fields: []listinggen.FieldError{{Field: "header " + IdempotencyHeader, Message: "already used with a different body"}}}
	case !got.Done:
		c.Response().Header().Set("Retry-After", "1")
		return listinggen.Errorf(listinggen.ECONFLICT, "a request with this Idempotency-Key is still running; retry later to get its response")
	}
	c.Response().Header().Set("Idempotent-Replayed", "true")
	return c.Blob(got.Status, got.ContentType, got.Body)
}

// runClaimed runs the request with its response buffered, stores the
// response, then sends it: a client never sees a response that a retry
// would not replay.
func (s *Server) runClaimed(c echo.Context, next echo.HandlerFunc, rec *listinggen.IdempotencyRecord) (err error) {
	res := c.Response()
	orig := res.Writer
	buf := &bufferedWriter{header: orig.Header()}
	res.Writer = buf
	stored := false
	defer func() {
		res.Writer = orig
		if !stored {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), 5*time.Second)
			defer cancel()
			if rerr := s.deps.Store.ReleaseIdempotencyKey(ctx, rec.TenantID, rec.Key); rerr != nil {
				s.deps.Logger.Error("could not release an idempotency key", "err", rerr, "tenant", rec.TenantID)
			}
		}
	}()
	if err := next(c); err != nil {
		return err
	}
	status := buf.status
	if status == 0 {
		status = http.StatusOK
	}
	if status < 500 {
		rec.Done, rec.Status, rec.ContentType, rec.Body = true, status, orig.Header().Get(echo.HeaderContentType), buf.body.Bytes()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), 5*time.Second)
		defer cancel()
		if err := s.deps.Store.CompleteIdempotencyKey(ctx, rec); err != nil {
			// The work is committed; the retry will re-run it, and the
			// listings' own idempotency makes that harmless.
			s.deps.Logger.Error("could not store an idempotent response", "err", err, "tenant", rec.TenantID)
		} else {
			stored = true
		}
	}
	orig.WriteHeader(status)
	_, werr := orig.Write(buf.body.Bytes())
	return werr
}

// bufferedWriter holds a response until it has been stored.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
