// Package compliance checks copy against the advertising-law and platform
// word lists (embedded data/terms.json) and the platform's limits. Sellers
// are fined for advertising-law violations and lose listings to platform
// rules, so every verdict names the rule it comes from.
package compliance

import "embed"

//go:embed data/*.json
var dataFS embed.FS
