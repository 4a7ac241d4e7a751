// Package sample loads the repository's sample catalogue for tests and
// benchmarks, wherever the test binary runs from.
package sample

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/listinggen/listinggen"
)

// Path returns the absolute path of a file under the repository's testdata.
func Path(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", name)
}

// Products returns the 300 products of testdata/catalogue/sample-300.jsonl.
func Products(tb testing.TB) []listinggen.Product {
	tb.Helper()
	f, err := os.Open(Path("catalogue/sample-300.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []listinggen.Product
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var p listinggen.Product
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			tb.Fatalf("sample line %d: %v", len(out)+1, err)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// RawLines returns the catalogue's JSON lines as they are in the file.
func RawLines(tb testing.TB) [][]byte {
	tb.Helper()
	b, err := os.ReadFile(Path("catalogue/sample-300.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(line) > 0 {
			out = append(out, line)
		}
	}
	return out
}
