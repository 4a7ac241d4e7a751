package api_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/api"
	"github.com/listinggen/listinggen/hashembed"
	"github.com/listinggen/listinggen/metrics"
	"github.com/listinggen/listinggen/pipeline"
	"github.com/listinggen/listinggen/pipeline/compliance"
	"github.com/listinggen/listinggen/pipeline/dedup"
	"github.com/listinggen/listinggen/rules"
	"github.com/listinggen/listinggen/sqlite"
)

// TestRoutesMatchSpec fails when a registered route is missing from
// openapi.yaml or the document names a route the server does not have.
func TestRoutesMatchSpec(t *testing.T) {
	t.Parallel()
	cfg := sqlite.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "r.db")
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
	e, err := api.NewServer(api.DefaultConfig(), api.Deps{Store: store, Pipeline: p, Spec: spec, Logger: logger, Metrics: metrics.New()})
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	var routes []string
	for _, r := range e.Routes() {
		if strings.HasPrefix(r.Path, "/ui/") {
			continue // the preview UI's pages and assets, not API operations
		}
		routes = append(routes, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	sort.Strings(routes)
	if got, want := strings.Join(routes, "\n"), strings.Join(spec.Paths(), "\n"); got != want {
		t.Errorf("registered routes:\n%s\n\nopenapi.yaml:\n%s", got, want)
	}
}
