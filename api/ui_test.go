package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/api"
	"github.com/listinggen/listinggen/hashembed"
	"github.com/listinggen/listinggen/pipeline"
	"github.com/listinggen/listinggen/pipeline/compliance"
	"github.com/listinggen/listinggen/pipeline/dedup"
	"github.com/listinggen/listinggen/rules"
	"github.com/listinggen/listinggen/sqlite"
)

// The UI is wired into the server: its pages answer, a bad queue filter or
// an unknown listing is a problem naming the field, and the CSRF guard
// covers the API's routes.
func TestUIWiring(t *testing.T) {
	t.Parallel()
	cfg := sqlite.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "ui.db")
	store, err := sqlite.Open(context.Background(), cfg, time.Now, func() string { return uuid.NewString() })
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	checker, _ := compliance.New()
	rw, _ := rules.New(checker)
	emb, _ := hashembed.New(hashembed.DefaultConfig())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := pipeline.New(pipeline.Config{Store: store, Rewriter: rw, Embedder: emb, Checker: checker, Dedup: dedup.DefaultConfig(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := api.LoadSpec(listinggen.OpenAPISpec)
	if err != nil {
		t.Fatal(err)
	}
	apiCfg := api.DefaultConfig()
	apiCfg.Open = true // the loopback default: no keys, tenant "default"
	e, err := api.NewServer(apiCfg, api.Deps{Store: store, Pipeline: p, Spec: spec, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()

	do := func(method, path, origin, body string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if strings.Contains(resp.Header.Get("Content-Type"), "json") {
			_ = json.NewDecoder(resp.Body).Decode(&out)
		}
		return resp, out
	}
	for _, path := range []string{"/", "/ui/import", "/ui/static/app.css", "/ui/static/listing.js"} {
		if resp, _ := do("GET", path, "", ""); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: %d, CSP %q", path, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
	}
	resp, prob := do("GET", "/?platform=mars&compliance=maybe", "", "")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(toJSON(prob["errors"]), `"platform"`) || !strings.Contains(toJSON(prob["errors"]), `"compliance"`) {
		t.Errorf("bad queue filter: %d %v", resp.StatusCode, prob)
	}
	if resp, _ := do("GET", "/ui/listings/nope", "", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown listing page: %d", resp.StatusCode)
	}
	shop := `{"name":"店","platform":"douyin"}`
	if resp, prob := do("POST", "/v1/shops", "http://evil.example", shop); resp.StatusCode != http.StatusForbidden || prob["status"] != float64(403) {
		t.Errorf("cross-site POST: %d %v", resp.StatusCode, prob)
	}
	if resp, _ := do("POST", "/v1/shops", srv.URL, shop); resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Errorf("same-origin POST without cookies (an API client): %d", resp.StatusCode)
	}
	if resp, _ := do("GET", "/v1/listings?platform=taobao&compliance=problems", "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("listing filters: %d", resp.StatusCode)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
