package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/sqlite"
)

// testStore opens a SQLite store in a temporary directory, closed when the
// test ends.
func testStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	cfg := sqlite.DefaultConfig()
	cfg.Path = filepath.Join(tb.TempDir(), "web.db")
	store, err := sqlite.Open(context.Background(), cfg, time.Now, func() string { return uuid.Must(uuid.NewV7()).String() })
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return store
}

func TestSealerRoundTripTamperAndExpiry(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	s, err := newSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	v := s.seal("lgk_0123456789abcdef_secret", now.Add(time.Hour))
	if got, ok := s.open(v, now); !ok || got != "lgk_0123456789abcdef_secret" {
		t.Fatalf("open = %q, %v", got, ok)
	}
	if strings.Contains(v, "secret") {
		t.Error("the key is readable in the cookie")
	}
	if _, ok := s.open(v, now.Add(time.Hour)); ok {
		t.Error("an expired session opened")
	}
	b := []byte(v)
	b[len(b)/2] ^= 1
	if _, ok := s.open(string(b), now); ok {
		t.Error("a tampered cookie opened")
	}
	other, _ := newSealer(append([]byte{1}, key[1:]...))
	if _, ok := other.open(v, now); ok {
		t.Error("a cookie sealed with another key opened")
	}
	if _, ok := s.open("", now); ok {
		t.Error("an empty cookie opened")
	}
}

func TestCheckCSRF(t *testing.T) {
	t.Parallel()
	const token = "0123456789abcdef0123456789abcdef0123456789a"
	cases := []struct {
		name   string
		method string
		path   string
		header map[string]string
		cookie bool
		want   bool // allowed
	}{
		{"api client, no cookies", "POST", "/v1/shops", nil, false, true},
		{"cross-site fetch", "POST", "/v1/shops", map[string]string{"Sec-Fetch-Site": "cross-site"}, false, false},
		{"same-site other port", "PATCH", "/v1/listings/x", map[string]string{"Sec-Fetch-Site": "same-site"}, false, false},
		{"foreign origin", "POST", "/v1/shops", map[string]string{"Origin": "http://evil.example"}, false, false},
		{"null origin", "POST", "/v1/shops", map[string]string{"Origin": "null"}, false, false},
		{"own origin, cookie, no token", "POST", "/v1/shops", map[string]string{"Origin": "http://ui.test"}, true, false},
		{"own origin, cookie, wrong token", "POST", "/v1/shops", map[string]string{"Origin": "http://ui.test", csrfHeader: token + "x"}, true, false},
		{"own origin, cookie, token", "POST", "/v1/shops", map[string]string{"Origin": "http://ui.test", "Sec-Fetch-Site": "same-origin", csrfHeader: token}, true, true},
		{"stream is unsafe", "GET", "/v1/listings/x/stream", nil, true, false},
		{"stream with token", "GET", "/v1/listings/x/stream", map[string]string{csrfHeader: token}, true, true},
		{"plain GET with cookie", "GET", "/v1/listings/x", nil, true, true},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, "http://ui.test"+c.path, nil)
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		if c.cookie {
			r.AddCookie(&http.Cookie{Name: csrfCookie, Value: token})
		}
		var err error
		if unsafeRequest(r) {
			err = checkCSRF(r)
		}
		if (err == nil) != c.want {
			t.Errorf("%s: err %v, want allowed=%v", c.name, err, c.want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"/ui/listings/1": "/ui/listings/1", "//evil.example": "/", "/\\evil": "/", "https://evil": "/", "": "/"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCompareMarksChangesAndViolations(t *testing.T) {
	t.Parallel()
	got := compare("夏季连衣裙一件代发", "连衣裙最好夏季", []listinggen.Violation{{Field: "source.title", Start: 5, End: 9, Severity: "block", Rule: "jargon"}},
		[]listinggen.Violation{{Field: "title", Start: 3, End: 5, Severity: "block", Rule: "广告法", Suggestion: "优质"}})
	var src, cp []string
	for _, s := range got.Source {
		src = append(src, s.Kind+":"+s.Text)
	}
	for _, s := range got.Copy {
		cp = append(cp, s.Kind+":"+s.Text)
		if s.Kind == "violation" && s.Note != "广告法 → 优质" {
			t.Errorf("violation note %q", s.Note)
		}
	}
	if strings.Join(src, "|") != "del:夏季|:连衣裙|violation:一件代发" {
		t.Errorf("source segments %q", src)
	}
	if strings.Join(cp, "|") != ":连衣裙|violation:最好|add:夏季" {
		t.Errorf("copy segments %q", cp)
	}
	// Too long to diff: shown whole, violations still marked.
	long := strings.Repeat("字", 2100)
	got = compare(long, long+"x", nil, nil)
	if len(got.Source) != 1 || len(got.Copy) != 1 || got.Copy[0].Kind != "" {
		t.Errorf("an oversize diff made %d/%d segments", len(got.Source), len(got.Copy))
	}
}

type fakeKeys struct{ good string }

func (f fakeKeys) VerifyKey(_ context.Context, token string) error {
	if token != f.good {
		return listinggen.Errorf(listinggen.EUNAUTHORIZED, "unknown key")
	}
	return nil
}

// With keys on, pages need a session; signing in with a good key sets a
// sealed HttpOnly SameSite=Strict cookie that becomes the Bearer key on
// later requests.
func TestSignInMakesASessionThatCarriesTheKey(t *testing.T) {
	t.Parallel()
	ui, err := New(DefaultConfig(), Deps{Store: testStore(t), Rules: func(*listinggen.Shop) listinggen.TextRules { return listinggen.TextRules{} },
		Keys: fakeKeys{good: "lgk_good"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		status := http.StatusInternalServerError
		if listinggen.ErrorCode(err) == listinggen.EFORBIDDEN {
			status = http.StatusForbidden
		} else {
			t.Logf("error: %v", err)
		}
		_ = c.NoContent(status)
	}
	var sawAuth string
	e.Use(ui.Guard, func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			sawAuth = c.Request().Header.Get("Authorization")
			if sawAuth == "Bearer lgk_good" {
				c.Set("tenant", "default")
			}
			return next(c)
		}
	})
	ui.Register(e)
	srv := httptest.NewServer(e)
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, err := client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/signin?next=") {
		t.Fatalf("without a session: %d %q", resp.StatusCode, loc)
	}
	// The sign-in form's CSRF token comes with the page.
	resp, _ = client.Get(srv.URL + "/ui/signin")
	resp.Body.Close()
	var csrf *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == csrfCookie {
			csrf = c
		}
	}
	if csrf == nil || !csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode {
		t.Fatalf("csrf cookie %+v", csrf)
	}
	post := func(key, token string) *http.Response {
		form := url.Values{"key": {key}, "next": {"/ui/import"}, csrfFormField: {token}}
		req, _ := http.NewRequest("POST", srv.URL+"/ui/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", srv.URL)
		req.AddCookie(csrf)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post("lgk_good", "wrong"); r.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without the CSRF token: %d", r.StatusCode)
	}
	if r := post("lgk_bad", csrf.Value); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("sign-in with a bad key: %d", r.StatusCode)
	}
	r := post("lgk_good", csrf.Value)
	var session *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/ui/import" || session == nil || !session.HttpOnly ||
		session.SameSite != http.SameSiteStrictMode || strings.Contains(session.Value, "lgk_good") {
		t.Fatalf("sign-in: %d %q, session %+v", r.StatusCode, r.Header.Get("Location"), session)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.AddCookie(session)
	req.AddCookie(csrf)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || sawAuth != "Bearer lgk_good" || !strings.Contains(string(body), `action="/ui/signout"`) {
		t.Fatalf("with a session: %d, Authorization %q", resp.StatusCode, sawAuth)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
}
