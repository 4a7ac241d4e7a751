package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

// Cookie and header names.
const (
	sessionCookie = "lg_session"
	csrfCookie    = "lg_csrf"
	langCookie    = "lg_lang"
	csrfHeader    = "X-CSRF-Token"
	csrfFormField = "csrf_token"
)

// sealer encrypts and authenticates session cookies with AES-GCM, so the
// cookie needs no server-side table and any server with the key can read
// it, while the API key inside stays secret even from the browser's scripts
// (the cookie is HttpOnly, and sealed besides).
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// seal makes a cookie value holding token until expires.
func (s *sealer) seal(token string, expires time.Time) string {
	plain := binary.BigEndian.AppendUint64(nil, uint64(expires.Unix()))
	plain = append(plain, token...)
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(sessionCookie)))
}

// open returns the token in a cookie value made by seal, unless the value
// was tampered with or has expired.
func (s *sealer) open(value string, now time.Time) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return "", false
	}
	plain, err := s.aead.Open(nil, raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():], []byte(sessionCookie))
	if err != nil || len(plain) < 8 {
		return "", false
	}
	if now.Unix() >= int64(binary.BigEndian.Uint64(plain)) {
		return "", false
	}
	return string(plain[8:]), true
}

// Guard is the middleware the server runs before authentication, on every
// route (the API's too):
//
//   - An unsafe request (any method but GET, HEAD, OPTIONS, and the GET that
//     regenerates a listing, …/stream) that a browser marks as coming from
//     another site (Sec-Fetch-Site, or an Origin that is not this server's)
//     is refused with 403. This protects the open loopback default, where
//     the API has no credentials a forged request would lack.
//   - An unsafe request that carries the UI's cookies must carry the CSRF
//     token too (header X-CSRF-Token, or the form field csrf_token), equal
//     to the lg_csrf cookie. API clients send no cookies and are unaffected.
//   - A request with a valid session cookie and no Authorization header
//     gets "Authorization: Bearer <key>" from the session, so the API's
//     authenticator sees the signed-in key.
func (u *UI) Guard(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if unsafeRequest(req) {
			if err := checkCSRF(req); err != nil {
				return err
			}
		}
		if req.Header.Get("Authorization") == "" {
			if ck, err := req.Cookie(sessionCookie); err == nil {
				if token, ok := u.sessions.open(ck.Value, time.Now()); ok {
					req.Header.Set("Authorization", "Bearer "+token)
					c.Set("session", true)
				}
			}
		}
		return next(c)
	}
}

// unsafeRequest reports whether r changes state. The stream endpoint is a
// GET (for EventSource) but regenerates the listing, so it counts.
func unsafeRequest(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return strings.HasPrefix(r.URL.Path, "/v1/listings/") && strings.HasSuffix(r.URL.Path, "/stream")
	}
	return true
}

var errCrossSite = &listinggen.Error{Code: listinggen.EFORBIDDEN, Message: "cross-site request refused"}
var errCSRF = &listinggen.Error{Code: listinggen.EFORBIDDEN, Message: "missing or wrong CSRF token; reload the page"}

func checkCSRF(r *http.Request) error {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return errCrossSite
	}
	if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r) {
		return errCrossSite
	}
	_, errSession := r.Cookie(sessionCookie)
	ck, errCSRFCookie := r.Cookie(csrfCookie)
	if errSession != nil && errCSRFCookie != nil {
		return nil // not a browser session: an API client
	}
	if errCSRFCookie != nil || ck.Value == "" {
		return errCSRF
	}
	sent := r.Header.Get(csrfHeader)
	if sent == "" && isForm(r) {
		sent = r.PostFormValue(csrfFormField)
	}
	if subtle.ConstantTimeCompare([]byte(sent), []byte(ck.Value)) != 1 {
		return errCSRF
	}
	return nil
}

func isForm(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

// sameOrigin compares an Origin header with the server the request was
// sent to (its Host header; the scheme from the connection).
func sameOrigin(origin string, r *http.Request) bool {
	o, err := url.Parse(origin)
	if err != nil {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return o.Scheme == scheme && strings.EqualFold(o.Host, r.Host)
}

// csrfToken returns the request's CSRF cookie value, setting a new random
// one when there is none.
func csrfToken(c echo.Context) string {
	if ck, err := c.Cookie(csrfCookie); err == nil && len(ck.Value) >= 32 {
		return ck.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	setCookie(c, csrfCookie, token, 0)
	c.Request().AddCookie(&http.Cookie{Name: csrfCookie, Value: token})
	return token
}

// setCookie sets a cookie the way every UI cookie is set: HttpOnly,
// SameSite=Strict, Secure over TLS, for the whole site. maxAge < 0 deletes.
func setCookie(c echo.Context, name, value string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: c.Request().TLS != nil, SameSite: http.SameSiteStrictMode})
}

// signedIn reports whether the request came with a session cookie (which
// the server's authentication then checked as a key).
func (u *UI) signedIn(c echo.Context) bool {
	ok, _ := c.Get("session").(bool)
	return ok && tenantOf(c) != ""
}

func (u *UI) signinPage(c echo.Context) error {
	if u.deps.Keys == nil || tenantOf(c) != "" {
		// Nothing to sign in with, or no need: open mode or a session.
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return u.render(c, http.StatusOK, "signin", signinPage{Next: safeNext(c.QueryParam("next"))}, nil)
}

// signinPage is the sign-in form: where to go after, and whether the last
// key was refused.
type signinPage struct {
	Next   string
	Failed bool
}

// signin exchanges an API key for a session cookie. The key is checked
// once here and, inside the sealed cookie, by the API on every request, so
// a revoked key ends its sessions too.
func (u *UI) signin(c echo.Context) error {
	if u.deps.Keys == nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	key := strings.TrimSpace(c.FormValue("key"))
	next := safeNext(c.FormValue("next"))
	if err := u.deps.Keys.VerifyKey(c.Request().Context(), key); key == "" || err != nil {
		if err != nil && listinggen.ErrorCode(err) != listinggen.EUNAUTHORIZED {
			return err
		}
		return u.render(c, http.StatusUnauthorized, "signin", signinPage{Next: next, Failed: true}, nil)
	}
	setCookie(c, sessionCookie, u.sessions.seal(key, time.Now().Add(u.cfg.SessionTTL)), int(u.cfg.SessionTTL/time.Second))
	return c.Redirect(http.StatusSeeOther, next)
}

func (u *UI) signout(c echo.Context) error {
	setCookie(c, sessionCookie, "", -1)
	return c.Redirect(http.StatusSeeOther, "/ui/signin")
}

// safeNext keeps a post-sign-in redirect on this site: a path, never
// another host ("//evil", "/\evil").
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

// setLang remembers the interface language (zh by default) and goes back.
func (u *UI) setLang(c echo.Context) error {
	lang := c.Param("lang")
	if _, ok := messages[lang]; !ok {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	c.SetCookie(&http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		Secure: c.Request().TLS != nil, SameSite: http.SameSiteStrictMode, HttpOnly: true})
	return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
}

func langOf(c echo.Context) string {
	if ck, err := c.Cookie(langCookie); err == nil {
		if _, ok := messages[ck.Value]; ok {
			return ck.Value
		}
	}
	return "zh"
}
