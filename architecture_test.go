package listinggen_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// packageRow is a row of the package table in docs/architecture.md: its
// first cell is a package's path relative to the repository root, in
// backticks ("." for the root package).
var packageRow = regexp.MustCompile("(?m)^\\|\\s*`([^`]+)`\\s*\\|")

// TestArchitectureDocMatchesThePackages keeps docs/architecture.md true:
// every package it names exists, and every package of the module is named,
// so that the picture a newcomer reads is the code they will open.
func TestArchitectureDocMatchesThePackages(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, m := range packageRow.FindAllStringSubmatch(string(doc), -1) {
		named[strings.TrimSuffix(strings.TrimPrefix(m[1], "./"), "/")] = true
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/listinggen/listinggen"
	exists := map[string]bool{}
	for _, pkg := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		if rel == "" {
			rel = "."
		}
		exists[rel] = true
		if !named[rel] {
			t.Errorf("docs/architecture.md does not name the package %s", rel)
		}
	}
	for p := range named {
		if !exists[p] {
			t.Errorf("docs/architecture.md names %s, which is not a package of the module", p)
		}
	}
}
