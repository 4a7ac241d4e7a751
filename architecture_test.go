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

// TestDependencyRule checks the layering of docs/architecture.md on the
// packages' imports (tests aside): the root package imports nothing of the
// module; adapters import only the root package, platform, textnorm,
// prompts, internal helpers and their own subpackages, never each other; the pipeline imports no
// adapter; and nothing imports a command.
func TestDependencyRule(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/listinggen/listinggen"
	rel := func(p string) (string, bool) {
		if p == module {
			return ".", true
		}
		r, ok := strings.CutPrefix(p, module+"/")
		return r, ok
	}
	adapters := map[string]bool{"postgres": true, "sqlite": true, "openai": true, "rules": true, "hashembed": true, "images": true, "blob": true}
	adapterMay := func(pkg, dep string) bool {
		return dep == "." || strings.HasPrefix(dep, pkg+"/") || dep == "platform" || dep == "textnorm" || dep == "prompts" ||
			strings.HasPrefix(dep, "internal/") && !strings.HasPrefix(dep, "internal/lab")
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, _ := rel(fields[0])
		for _, imp := range fields[1:] {
			dep, own := rel(imp)
			if !own {
				continue
			}
			switch {
			case strings.HasPrefix(dep, "cmd/"):
				t.Errorf("%s imports the command %s", pkg, dep)
			case pkg == ".":
				t.Errorf("the root package imports %s", dep)
			case adapters[pkg] && !adapterMay(pkg, dep):
				t.Errorf("the adapter %s imports %s", pkg, dep)
			case (pkg == "pipeline" || strings.HasPrefix(pkg, "pipeline/")) && (adapters[dep] || dep == "api" || dep == "jobs"):
				t.Errorf("%s imports %s, which depends on it", pkg, dep)
			}
		}
	}
}

// TestReadmeIsAFrontDoor keeps README.md short enough to read in five
// minutes; what is longer belongs in docs/.
func TestReadmeIsAFrontDoor(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > 250 {
		t.Errorf("README.md has %d lines; keep it at 250 or fewer and move the rest to docs/", n)
	}
}
