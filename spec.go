package listinggen

import _ "embed"

// OpenAPISpec is the HTTP contract, embedded so that the binary validates
// requests against (and serves) exactly the document in the repository.
//
//go:embed openapi.yaml
var OpenAPISpec []byte
