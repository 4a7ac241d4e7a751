// Package web is the staff preview UI: the review queue, the listing view,
// the import page and the batch job pages, served by the same binary at /
// and /ui/.
//
// Pages are rendered on the server with html/template, so every piece of
// product and model text is escaped by the template engine; a few small
// hand-written scripts (static/*.js, embedded) add keyboard review, inline
// editing with live compliance checks and streamed regeneration by calling
// the JSON API under /v1, building DOM nodes with textContent only. Every
// page is served with a Content-Security-Policy that allows scripts, styles
// and connections from this origin only and no inline script or style.
//
// State-changing requests the UI makes carry a CSRF token (double submit:
// an HttpOnly SameSite=Strict cookie echoed in the X-CSRF-Token header from
// the page), and Guard refuses cross-site unsafe requests to any route. When
// API keys are in use (Deps.Keys set), staff sign in with a key that is
// sealed into a session cookie and presented to the API as a Bearer token,
// so the API's own authentication and scopes apply to the UI unchanged.
package web

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// KeyVerifier checks an API key at sign-in. It returns an EUNAUTHORIZED
// error for a key that is unknown or revoked.
type KeyVerifier interface {
	VerifyKey(ctx context.Context, token string) error
}

// Config holds the UI's settings.
type Config struct {
	// SessionKey seals session cookies (AES-256-GCM); 32 bytes. Servers
	// behind one load balancer need the same key; when empty, a random key
	// is made at start and sessions end when the process does.
	SessionKey []byte
	// SessionTTL is how long a sign-in lasts.
	SessionTTL time.Duration
}

// DefaultConfig returns the settings `listinggen serve` uses.
func DefaultConfig() Config {
	return Config{SessionTTL: 12 * time.Hour}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.SessionKey) != 0 && len(c.SessionKey) != 32 {
		errs = append(errs, errors.New("web: SessionKey must be 32 bytes"))
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, errors.New("web: SessionTTL must be at least a minute"))
	}
	return errors.Join(errs...)
}

// Deps are the UI's collaborators.
type Deps struct {
	Store listinggen.Store
	// Rules returns a shop's text limits (the platform's with the shop's
	// overrides), for the title length counter.
	Rules func(*listinggen.Shop) listinggen.TextRules
	// Keys, when set, turns sign-in on: pages need a session made from a
	// valid API key. Nil is the open default (loopback, no keys).
	Keys KeyVerifier
	// Jobs, when set, serves the batch job pages and the queue's job
	// filter choices. Nil: batch jobs are off on this server.
	Jobs   JobReader
	Logger *slog.Logger
}

// UI serves the preview pages.
type UI struct {
	cfg      Config
	deps     Deps
	pages    map[string]*template.Template
	static   http.Handler
	sessions *sealer
}

// New parses the embedded templates and prepares the session sealer.
func New(cfg Config, deps Deps) (*UI, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil || deps.Rules == nil || deps.Logger == nil {
		return nil, errors.New("web: Store, Rules and Logger are required")
	}
	key := cfg.SessionKey
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	sealer, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	return &UI{cfg: cfg, deps: deps, pages: pages, static: http.StripPrefix("/ui/static/", http.FileServerFS(sub)), sessions: sealer}, nil
}

// Register adds the UI's routes: / (the queue) and everything under /ui/.
// They are pages, not API operations, so openapi.yaml describes only /.
func (u *UI) Register(e *echo.Echo) {
	e.GET("/", u.page(u.queue))
	e.GET("/ui/listings/:id", u.page(u.listing))
	e.GET("/ui/import", u.page(u.importPage))
	e.GET("/ui/jobs", u.page(u.jobsList))
	e.GET("/ui/jobs/:id", u.page(u.job))
	e.GET("/ui/sample.jsonl", u.page(u.sample))
	e.GET("/ui/signin", u.signinPage)
	e.POST("/ui/signin", u.signin)
	e.POST("/ui/signout", u.signout)
	e.GET("/ui/lang/:lang", u.setLang)
	e.GET("/ui/static/*", u.serveStatic)
}

func (u *UI) serveStatic(c echo.Context) error {
	securityHeaders(c.Response().Header())
	// Assets are embedded, so they change only with the binary; a short
	// cache keeps a new build's scripts from being shadowed for long.
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	u.static.ServeHTTP(c.Response(), c.Request())
	return nil
}

// securityHeaders are set on every UI response: no inline script or style,
// nothing from another origin, no framing, no MIME sniffing.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

func tenantOf(c echo.Context) string {
	t, _ := c.Get("tenant").(string)
	return t
}
