package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestServerLinksNoLabOrTestCode keeps the server binary to what runs in
// production: the lab (evaluation, benchmarks, the fake model) and the test
// helpers are linked only into listinggen-lab and the tests.
func TestServerLinksNoLabOrTestCode(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const module = "github.com/listinggen/listinggen/"
	forbidden := []string{"internal/lab", "internal/openaitest", "internal/storetest", "internal/pgtest", "internal/s3test", "internal/sample", "internal/benchinfo", "cmd/listinggen-lab"}
	var own int
	for _, pkg := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(pkg, module)
		if !ok {
			continue
		}
		own++
		for _, f := range forbidden {
			if rel == f || strings.HasPrefix(rel, f+"/") {
				t.Errorf("the server binary links %s", pkg)
			}
		}
	}
	if own < 10 {
		t.Fatalf("go list -deps listed %d of the module's packages: not the server's graph", own)
	}
}
