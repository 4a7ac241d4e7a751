package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/api"
	"github.com/listinggen/listinggen/internal/sample"
)

// createKey runs `listinggen keys create` against dataDir's store and
// returns the token it printed.
func createKey(t testing.TB, dataDir, tenant, scopes string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"DATA_DIR": dataDir}
	if err := run(context.Background(), []string{"keys", "create", "--tenant", tenant, "--scopes", scopes}, func(k string) string { return env[k] },
		strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("keys create: %v\n%s", err, errOut.String())
	}
	token := strings.TrimSpace(out.String())
	if !strings.HasPrefix(token, "lgk_") || !strings.Contains(errOut.String(), "shown once") {
		t.Fatalf("keys create printed %q / %q", token, errOut.String())
	}
	return token
}

func keyID(token string) string {
	id, _, _ := listinggen.ParseAPIKeyToken(token)
	return id
}

// call sends a request with an Authorization header (none when auth is "")
// and returns the status and body.
func (s *server) call(auth, method, path, contentType string, body []byte, hdr ...string) (int, []byte, http.Header) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data, resp.Header
}

func bearer(token string) string { return "Bearer " + token }

// tenantData is what tenant A owns: the ids another tenant must not reach.
type tenantData struct {
	admin, victimKey        string // tokens
	shopID, listingID       string
	imagePath, imageKey     string
	word, shopName, product string
	jobID                   string
}

// request is one call of a route, built from tenant A's ids.
type request struct {
	method, path, contentType string
	body                      []byte
}

func jsonReq(method, path string, v any) request {
	b, _ := json.Marshal(v)
	return request{method, path, "application/json", b}
}

// routeCase is how the security tests exercise one route: the scope it
// needs and a request that names tenant A's ids wherever it can.
type routeCase struct {
	scope listinggen.Scope
	build func(a tenantData) request
	// crossOK says which statuses tenant B may get; by default only 404,
	// which is what another tenant's ids answer. Collection routes and
	// creates answer 2xx but must not show A's data (checked by leak).
	crossOK []int
}

func productWithoutImages(t testing.TB, i int) listinggen.Product {
	p := sample.Products(t)[i]
	p.Images = nil
	return p
}

// routeCases has one case per route of openapi.yaml under /v1. A route
// without a case fails TestEveryRouteIsTenantIsolated and
// TestEveryRouteNeedsAValidScopedKey, so no new route escapes them.
func routeCases(t testing.TB) map[string]routeCase {
	product := productWithoutImages(t, 3)
	read, write, admin := listinggen.ScopeRead, listinggen.ScopeWrite, listinggen.ScopeAdmin
	ok := []int{200, 201, 204}
	return map[string]routeCase{
		"POST /v1/shops": {admin, func(a tenantData) request {
			return jsonReq("POST", "/v1/shops", map[string]string{"name": "乙店", "platform": "douyin"})
		}, ok},
		"GET /v1/shops":      {read, func(a tenantData) request { return request{method: "GET", path: "/v1/shops"} }, ok},
		"GET /v1/shops/{id}": {read, func(a tenantData) request { return request{method: "GET", path: "/v1/shops/" + a.shopID} }, nil},
		"PATCH /v1/shops/{id}": {admin, func(a tenantData) request {
			return jsonReq("PATCH", "/v1/shops/"+a.shopID, map[string]string{"style": "x"})
		}, nil},
		"DELETE /v1/shops/{id}":    {admin, func(a tenantData) request { return request{method: "DELETE", path: "/v1/shops/" + a.shopID} }, nil},
		"GET /v1/compliance/words": {read, func(a tenantData) request { return request{method: "GET", path: "/v1/compliance/words"} }, ok},
		"PUT /v1/compliance/words": {admin, func(a tenantData) request {
			return jsonReq("PUT", "/v1/compliance/words", map[string]any{"allowed_words": []string{"乙方"}})
		}, ok},
		"POST /v1/generate": {write, func(a tenantData) request {
			return jsonReq("POST", "/v1/generate", map[string]any{"product": product, "shop_ids": []string{a.shopID}})
		}, nil},
		"GET /v1/listings": {read, func(a tenantData) request {
			return request{method: "GET", path: "/v1/listings?shop_id=" + a.shopID}
		}, ok},
		"GET /v1/listings/{id}": {read, func(a tenantData) request { return request{method: "GET", path: "/v1/listings/" + a.listingID} }, nil},
		"PATCH /v1/listings/{id}": {write, func(a tenantData) request {
			return jsonReq("PATCH", "/v1/listings/"+a.listingID, map[string]any{"status": "rejected"})
		}, nil},
		"POST /v1/listings/{id}/regenerate": {write, func(a tenantData) request {
			return request{method: "POST", path: "/v1/listings/" + a.listingID + "/regenerate"}
		}, nil},
		"GET /v1/listings/{id}/stream": {write, func(a tenantData) request {
			return request{method: "GET", path: "/v1/listings/" + a.listingID + "/stream"}
		}, nil},
		"POST /v1/compliance/check": {write, func(a tenantData) request {
			return jsonReq("POST", "/v1/compliance/check", map[string]any{"shop_id": a.shopID, "title": "连衣裙"})
		}, nil},
		// B asks the server to fetch A's image through its own URL: a
		// loopback address, refused by the fetcher (403).
		"POST /v1/images": {write, func(a tenantData) request {
			return jsonReq("POST", "/v1/images", map[string]string{"url": "http://127.0.0.1:9" + a.imagePath, "platform": "douyin"})
		}, []int{403}},
		"GET /v1/images/{id}/{variant}": {read, func(a tenantData) request { return request{method: "GET", path: a.imagePath} }, nil},
		// B's totals for A's shop: an empty answer, never A's spending.
		"GET /v1/usage": {read, func(a tenantData) request { return request{method: "GET", path: "/v1/usage?shop_id=" + a.shopID} }, ok},
		"POST /v1/dedup/check": {write, func(a tenantData) request {
			return jsonReq("POST", "/v1/dedup/check", map[string]any{"shop_id": a.shopID, "title": "连衣裙"})
		}, nil},
		// B's job naming A's shop: refused as a shop that does not exist
		// (422 on shop_ids[0], the answer any unknown id in a body gets).
		"POST /v1/jobs": {write, func(a tenantData) request {
			return jsonReq("POST", "/v1/jobs", map[string]any{"items": []any{product}, "shop_ids": []string{a.shopID}})
		}, []int{422}},
		// B's own jobs: a page without A's.
		"GET /v1/jobs":      {read, func(a tenantData) request { return request{method: "GET", path: "/v1/jobs"} }, ok},
		"GET /v1/jobs/{id}": {read, func(a tenantData) request { return request{method: "GET", path: "/v1/jobs/" + a.jobID} }, nil},
		"GET /v1/jobs/{id}/items": {read, func(a tenantData) request {
			return request{method: "GET", path: "/v1/jobs/" + a.jobID + "/items?state=skipped"}
		}, nil},
		"GET /v1/jobs/{id}/results": {read, func(a tenantData) request { return request{method: "GET", path: "/v1/jobs/" + a.jobID + "/results"} }, nil},
		"POST /v1/jobs/{id}/cancel": {write, func(a tenantData) request {
			return request{method: "POST", path: "/v1/jobs/" + a.jobID + "/cancel"}
		}, nil},
		"POST /v1/jobs/{id}/retry": {write, func(a tenantData) request {
			return request{method: "POST", path: "/v1/jobs/" + a.jobID + "/retry"}
		}, nil},
		"POST /v1/jobs/{id}/resume": {write, func(a tenantData) request {
			return request{method: "POST", path: "/v1/jobs/" + a.jobID + "/resume"}
		}, nil},
		"GET /v1/keys": {admin, func(a tenantData) request { return request{method: "GET", path: "/v1/keys"} }, ok},
		"POST /v1/keys": {admin, func(a tenantData) request {
			return jsonReq("POST", "/v1/keys", map[string]any{"name": "b", "scopes": []string{"read"}})
		}, ok},
		"DELETE /v1/keys/{id}": {admin, func(a tenantData) request {
			return request{method: "DELETE", path: "/v1/keys/" + keyID(a.victimKey)}
		}, nil},
	}
}

// v1Routes lists the routes of openapi.yaml under /v1, which
// TestRoutesMatchSpec holds equal to the routes the server registers.
func v1Routes(t testing.TB) []string {
	spec, err := api.LoadSpec(listinggen.OpenAPISpec)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range spec.Paths() {
		if strings.Contains(r, " /v1/") {
			out = append(out, r)
		}
	}
	if len(out) < 19 {
		t.Fatalf("only %d /v1 routes in the spec", len(out))
	}
	return out
}

// forEachRoute calls fn with the case and tenant A's request for every
// /v1 route of openapi.yaml, and fails for a route without a case.
func forEachRoute(t *testing.T, a tenantData, fn func(route string, c routeCase, r request)) {
	cases := routeCases(t)
	for _, route := range v1Routes(t) {
		c, found := cases[route]
		if !found {
			t.Errorf("%s has no case in routeCases: add one, so that its authentication and tenant isolation are tested", route)
			continue
		}
		fn(route, c, c.build(a))
	}
}

// setUpTenantA gives tenant A a shop, a listing, an uploaded image, its
// own word list and a second key, through the API with A's admin key.
func setUpTenantA(t *testing.T, s *server, dir string) tenantData {
	a := tenantData{admin: createKey(t, dir, "tenant-a", "read,write,admin"), victimKey: createKey(t, dir, "tenant-a", "read"),
		word: "甲方专属禁词", shopName: "甲方旗舰店"}
	auth := bearer(a.admin)
	var shop struct{ ID string }
	st, body, _ := s.call(auth, "POST", "/v1/shops", "application/json", []byte(`{"name":"`+a.shopName+`","platform":"douyin"}`))
	if st != 201 || json.Unmarshal(body, &shop) != nil {
		t.Fatalf("A creates a shop: %d %s", st, body)
	}
	a.shopID = shop.ID
	product := productWithoutImages(t, 1)
	a.product = product.ID
	gen := jsonReq("POST", "/v1/generate", map[string]any{"product": product, "shop_ids": []string{a.shopID}})
	var out struct{ Listings []struct{ ID string } }
	st, body, _ = s.call(auth, gen.method, gen.path, gen.contentType, gen.body)
	if st != 200 || json.Unmarshal(body, &out) != nil || len(out.Listings) != 1 {
		t.Fatalf("A generates: %d %s", st, body)
	}
	a.listingID = out.Listings[0].ID
	words := jsonReq("PUT", "/v1/compliance/words", map[string]any{"banned_words": []map[string]string{{"term": a.word}}})
	if st, body, _ = s.call(auth, words.method, words.path, words.contentType, words.body); st != 200 {
		t.Fatalf("A puts words: %d %s", st, body)
	}
	photo, err := os.ReadFile(sample.Path("images/large/coffee-1500.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("platform", "douyin")
	fw, _ := mw.CreateFormFile("file", "coffee.jpg")
	fw.Write(photo)
	mw.Close()
	var img struct {
		Variants []struct{ URL, SHA256 string }
	}
	st, body, _ = s.call(auth, "POST", "/v1/images", mw.FormDataContentType(), buf.Bytes())
	if st != 201 || json.Unmarshal(body, &img) != nil || len(img.Variants) == 0 {
		t.Fatalf("A uploads an image: %d %s", st, body)
	}
	a.imagePath, a.imageKey = img.Variants[0].URL, img.Variants[0].SHA256
	if st, _, _ := s.call(auth, "GET", a.imagePath, "", nil); st != 200 {
		t.Fatalf("A reads its own image: %d", st)
	}
	// A dry run: a job B can address without A's listings changing.
	job := jsonReq("POST", "/v1/jobs", map[string]any{"items": []any{product}, "shop_ids": []string{a.shopID}, "dry_run": true})
	var created struct{ ID string }
	if st, body, _ = s.call(auth, job.method, job.path, job.contentType, job.body); st != 202 || json.Unmarshal(body, &created) != nil || created.ID == "" {
		t.Fatalf("A submits a job: %d %s", st, body)
	}
	a.jobID = created.ID
	return a
}

// Two tenants, every /v1 route: tenant B, with every scope, calls each
// route with tenant A's ids and gets 404 (or, for collections and creates,
// its own data only); nothing B does changes what A sees.
func TestEveryRouteIsTenantIsolated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bKey := createKey(t, dir, "tenant-b", "read,write,admin")
	s := startServer(t, dir, map[string]string{"IMAGES": "on", "RATE_LIMIT_RPS": "0"})
	a := setUpTenantA(t, s, dir)
	before := tenantView(t, s, a)

	forEachRoute(t, a, func(route string, c routeCase, r request) {
		st, body, _ := s.call(bearer(bKey), r.method, r.path, r.contentType, r.body)
		want := c.crossOK
		if want == nil {
			want = []int{404}
		}
		if !slices.Contains(want, st) {
			t.Errorf("%s as tenant B with A's ids: %d %s; want one of %v", route, st, body, want)
		}
		for _, secret := range []string{a.shopID, a.listingID, a.imageKey, a.word, a.shopName, keyID(a.admin), keyID(a.victimKey), a.product, a.jobID} {
			// An id B sent may be echoed back in the problem; anything
			// else of A's in the answer is a leak.
			sent := strings.Contains(r.path, secret) || bytes.Contains(r.body, []byte(secret))
			if !sent && bytes.Contains(body, []byte(secret)) {
				t.Errorf("%s as tenant B: the answer contains tenant A's %q: %s", route, secret, body)
			}
		}
	})
	if after := tenantView(t, s, a); after != before {
		t.Errorf("tenant B's calls changed what tenant A sees:\nbefore %s\nafter  %s", before, after)
	}
	if st, _, _ := s.call(bearer(a.victimKey), "GET", "/v1/shops", "", nil); st != 200 {
		t.Errorf("tenant A's key stopped working after tenant B tried to revoke it: %d", st)
	}
}

// tenantView is what tenant A's GETs return, to compare before and after.
func tenantView(t *testing.T, s *server, a tenantData) string {
	var out strings.Builder
	for _, path := range []string{"/v1/shops", "/v1/shops/" + a.shopID, "/v1/listings", "/v1/listings/" + a.listingID, "/v1/compliance/words"} {
		st, body, _ := s.call(bearer(a.admin), "GET", path, "", nil)
		fmt.Fprintf(&out, "%s %d %s\n", path, st, body)
	}
	st, body, _ := s.call(bearer(a.admin), "GET", "/v1/keys", "", nil)
	var keys struct {
		Items []struct {
			ID        string `json:"id"`
			RevokedAt string `json:"revoked_at"`
		} `json:"items"`
	}
	json.Unmarshal(body, &keys)
	fmt.Fprintf(&out, "keys %d %+v", st, keys.Items)
	return out.String()
}

// Every /v1 route: no key, a malformed key, an unknown key, a wrong secret
// and a revoked key answer 401; a key without the route's scope 403; a key
// with only that scope gets through.
func TestEveryRouteNeedsAValidScopedKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	revoked := createKey(t, dir, "tenant-a", "read,write,admin")
	s := startServer(t, dir, map[string]string{"IMAGES": "on", "RATE_LIMIT_RPS": "0"})
	a := setUpTenantA(t, s, dir)
	if st, _, _ := s.call(bearer(a.admin), "DELETE", "/v1/keys/"+keyID(revoked), "", nil); st != 204 {
		t.Fatalf("revoke: %d", st)
	}
	only := map[listinggen.Scope]string{}
	for _, sc := range listinggen.Scopes {
		only[sc] = createKey(t, dir, "tenant-a", string(sc))
	}
	id, secret, _ := listinggen.ParseAPIKeyToken(a.admin)
	bad := map[string]string{
		"no key":         "",
		"not bearer":     "Basic " + a.admin,
		"malformed":      "Bearer not-a-key",
		"unknown key":    "Bearer lgk_0123456789abcdef_" + secret,
		"wrong secret":   "Bearer lgk_" + id + "_x" + secret[1:],
		"revoked key":    bearer(revoked),
		"empty bearer":   "Bearer ",
		"secret only":    "Bearer " + secret,
		"key id as name": "Bearer lgk_" + id,
	}
	forEachRoute(t, a, func(route string, c routeCase, r request) {
		for name, auth := range bad {
			st, body, hdr := s.call(auth, r.method, r.path, r.contentType, r.body)
			if st != 401 || !strings.Contains(hdr.Get("Content-Type"), "problem+json") || hdr.Get("WWW-Authenticate") == "" {
				t.Errorf("%s with %s: %d %s", route, name, st, body)
			}
		}
		for _, sc := range listinggen.Scopes {
			if sc == c.scope {
				continue
			}
			if st, body, _ := s.call(bearer(only[sc]), r.method, r.path, r.contentType, r.body); st != 403 || !bytes.Contains(body, []byte("scope")) {
				t.Errorf("%s with only the %s scope: %d %s, want 403 (it needs %s)", route, sc, st, body, c.scope)
			}
		}
		// (POST /v1/images answers 403 for its loopback URL: the fetcher's
		// refusal, not the scope's.)
		if st, body, _ := s.call(bearer(only[c.scope]), r.method, r.path, r.contentType, r.body); st == 401 || st == 403 && bytes.Contains(body, []byte("scope")) || st >= 500 {
			t.Errorf("%s with its %s scope: %d %s", route, c.scope, st, body)
		}
	})
	// Public routes stay public.
	for _, path := range []string{"/healthz", "/readyz", "/openapi.yaml", "/metrics"} {
		if st, _, _ := s.call("", "GET", path, "", nil); st != 200 {
			t.Errorf("GET %s without a key: %d", path, st)
		}
	}
}
