package jpegscale

import (
	"os"
	"testing"
)

// testdata is the repository's shared image folder; tests read the photos
// in place.
const testdata = "../../testdata/images"

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
