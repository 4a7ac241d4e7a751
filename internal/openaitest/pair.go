package openaitest

import (
	"encoding/json"
	"strings"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

// ParsePair finds a dedup question in a prompt: a ```json block holding
// {"a": item, "b": item}.
func ParsePair(text string) (a, b listinggen.DedupItem, ok bool) {
	for _, m := range fencedJSON.FindAllStringSubmatch(text, -1) {
		var pair struct {
			A *listinggen.DedupItem `json:"a"`
			B *listinggen.DedupItem `json:"b"`
		}
		if json.Unmarshal([]byte(m[1]), &pair) == nil && pair.A != nil && pair.B != nil {
			return *pair.A, *pair.B, true
		}
	}
	return a, b, false
}

// JudgePair answers a dedup question as a careful model would, and
// reproducibly: the same item when the verifier's evidence leans that way
// (score at least 0.3), with the strongest evidence as the reason.
func JudgePair(a, b listinggen.DedupItem) string {
	as := dedup.NewVerifier(nil).Compare(a, b)
	reason := "no deciding evidence"
	if r := as.Reasons(); len(r) > 0 {
		reason = strings.Join(r[:min(2, len(r))], "; ")
	}
	out, _ := json.Marshal(map[string]any{"same": as.Score >= 0.3, "reason": reason})
	return string(out)
}
