package listinggen

import _ "embed"

// SampleCatalogue is testdata/catalogue/sample-300.jsonl, one product per
// line: the preview UI offers it on its import page so that a new user goes
// from `make run` to reviewed listings without a file or a shell.
//
//go:embed testdata/catalogue/sample-300.jsonl
var SampleCatalogue []byte
