package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

// routeScopes says which scope each /v1 route needs, keyed by "METHOD
// /v1/path/:param". Routes are added with Server.handle, which fills it;
// NewServer refuses to build a server with a /v1 route that has no scope.
type routeScopes map[string]listinggen.Scope

func routeKey(method, path string) string { return method + " " + path }

// handle registers a /v1 route with the scope it needs.
func (s *Server) handle(g *echo.Group, method, path string, scope listinggen.Scope, h echo.HandlerFunc, mw ...echo.MiddlewareFunc) {
	r := g.Add(method, path, h, mw...)
	s.scopes[routeKey(method, r.Path)] = scope
}

// RouteScopes returns the scope of every /v1 route (for tests and docs).
func (s *Server) RouteScopes() map[string]listinggen.Scope {
	out := make(map[string]listinggen.Scope, len(s.scopes))
	for k, v := range s.scopes {
		out[k] = v
	}
	return out
}

// authenticator resolves a request's tenant from its bearer key.
type authenticator struct {
	keys listinggen.APIKeyService
	// open lets keyless requests run as the default tenant while no active
	// key exists (cmd only sets it on a loopback address).
	open bool
	now  func() time.Time

	mu        sync.Mutex
	openUntil time.Time // when the cached "no keys exist" answer expires
	openNow   bool
	touched   map[string]time.Time
}

// touchEvery bounds the last-used writes to one a minute per key, so that
// a busy key does not turn every read into a write.
const touchEvery = time.Minute

func newAuthenticator(keys listinggen.APIKeyService, open bool, now func() time.Time) *authenticator {
	return &authenticator{keys: keys, open: open, now: now, touched: map[string]time.Time{}}
}

var (
	errNoKey = &listinggen.Error{Code: listinggen.EUNAUTHORIZED,
		Message: "an API key is required: send Authorization: Bearer <key> (create one with `listinggen keys create`)"}
	errBadKey = &listinggen.Error{Code: listinggen.EUNAUTHORIZED, Message: "the API key is not valid or has been revoked"}
)

// middleware authenticates every /v1 request and checks the route's scope;
// other paths (health, spec, metrics) are public.
func (a *authenticator) middleware(scopes routeScopes) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if !strings.HasPrefix(req.URL.Path, "/v1/") && req.URL.Path != "/v1" {
				// Pages (the preview UI) need no key to be served, but
				// see the tenant when there is one: open mode, or a
				// session the UI's guard turned into a key. Without
				// one the UI sends the person to sign in. Probes,
				// metrics and static files need no tenant: no lookup.
				if !uiPage(req.URL.Path) {
					return next(c)
				}
				if key, err := a.authenticate(req); err == nil {
					tenant := listinggen.DefaultTenant
					if key != nil {
						tenant = key.TenantID
						c.Set("api_key", key.ID)
					}
					c.Set("tenant", tenant)
				}
				return next(c)
			}
			key, err := a.authenticate(req)
			if err != nil {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="listinggen"`)
				return err
			}
			tenant := listinggen.DefaultTenant
			if key != nil {
				tenant = key.TenantID
				// Unregistered paths have no scope and answer 404 or 405.
				scope, known := scopes[routeKey(req.Method, c.Path())]
				if known && !key.Has(scope) {
					return listinggen.Errorf(listinggen.EFORBIDDEN, "this API key lacks the %q scope that %s %s needs", scope, req.Method, c.Path())
				}
				c.Set("api_key", key.ID)
				a.touch(req.Context(), key.ID)
			}
			c.Set("tenant", tenant)
			return next(c)
		}
	}
}

// uiPage reports whether path is a page of the preview UI, which shows a
// tenant's data: / and /ui/…, but not its static assets.
func uiPage(path string) bool {
	return path == "/" || strings.HasPrefix(path, "/ui/") && !strings.HasPrefix(path, "/ui/static/")
}

// authenticate returns the request's key, or nil for an open-mode request.
func (a *authenticator) authenticate(req *http.Request) (*listinggen.APIKey, error) {
	h := req.Header.Get(echo.HeaderAuthorization)
	if h == "" {
		open, err := a.isOpen(req.Context())
		if err != nil {
			return nil, err // the store is down: 503, not "no key"
		}
		if open {
			return nil, nil
		}
		return nil, errNoKey
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, errNoKey
	}
	return verifyToken(req.Context(), a.keys, strings.TrimSpace(token))
}

// verifyToken returns the active key a token names, errBadKey for any
// token that is not one, or the store's error.
func verifyToken(ctx context.Context, keys listinggen.APIKeyService, token string) (*listinggen.APIKey, error) {
	id, secret, ok := listinggen.ParseAPIKeyToken(token)
	if !ok {
		return nil, errBadKey
	}
	k, err := keys.FindAPIKey(ctx, id)
	if listinggen.ErrorCode(err) == listinggen.ENOTFOUND {
		return nil, errBadKey
	} else if err != nil {
		return nil, err
	}
	if !k.Matches(secret) || !k.Active() {
		return nil, errBadKey
	}
	return k, nil
}

// keyVerifier checks the API key a person signs in to the preview UI with.
type keyVerifier struct{ keys listinggen.APIKeyService }

func (v keyVerifier) VerifyKey(ctx context.Context, token string) error {
	_, err := verifyToken(ctx, v.keys, token)
	return err
}

// isOpen reports whether keyless requests may run: open mode and no active
// key. The count is cached for a second, so the first key created ends
// open mode within a second for every server sharing the store. A store
// that cannot answer is an error, never an answer either way.
func (a *authenticator) isOpen(ctx context.Context) (bool, error) {
	if !a.open {
		return false, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if now.Before(a.openUntil) {
		return a.openNow, nil
	}
	n, err := a.keys.CountActiveAPIKeys(ctx)
	if err != nil {
		return false, err
	}
	a.openNow, a.openUntil = n == 0, now.Add(time.Second)
	return a.openNow, nil
}

// touch records the key's last use, at most once a minute, without making
// the request wait for the write.
func (a *authenticator) touch(ctx context.Context, id string) {
	now := a.now()
	a.mu.Lock()
	if now.Sub(a.touched[id]) < touchEvery {
		a.mu.Unlock()
		return
	}
	a.touched[id] = now
	a.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = a.keys.TouchAPIKey(ctx, id, now)
	}()
}
