package web

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/images"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

// enumValues are the values of every enumeration of the API a page shows,
// by the message group that names them.
func enumValues() map[string][]string {
	strs := func(vs ...any) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = fmt.Sprint(v)
		}
		return out
	}
	var items, platforms, evidence []any
	for _, s := range listinggen.ItemStates {
		items = append(items, s)
	}
	for _, p := range listinggen.Platforms {
		platforms = append(platforms, p)
	}
	for _, k := range dedup.EvidenceKinds {
		evidence = append(evidence, k)
	}
	return map[string][]string{
		"status":    strs(listinggen.StatusDraft, listinggen.StatusNeedsReview, listinggen.StatusApproved, listinggen.StatusRejected),
		"verdict":   strs(listinggen.VerdictUnique, listinggen.VerdictSimilar, listinggen.VerdictDuplicate),
		"images":    strs(listinggen.ImagesPending, listinggen.ImagesReady, listinggen.ImagesPartial, listinggen.ImagesFailed, listinggen.ImagesNone),
		"job.state": strs(listinggen.JobRunning, listinggen.JobPaused, listinggen.JobCancelled, listinggen.JobCompleted, listinggen.JobEstimated),
		"item":      strs(items...),
		"code": strs(listinggen.EINVALID, listinggen.ENOTFOUND, listinggen.ECONFLICT, listinggen.EUNAUTHORIZED, listinggen.EFORBIDDEN,
			listinggen.ETOOLARGE, listinggen.ERATELIMIT, listinggen.EUNAVAILABLE, listinggen.EINTERNAL),
		"severity": strs(listinggen.SeverityBlock, listinggen.SeverityWarn),
		"scope":    strs("shop", "group", "tenant"),
		"kind":     strs(dedup.KindSameShop, dedup.KindSameGroup, dedup.KindTenant),
		"evidence": strs(evidence...),
		"platform": strs(platforms...),
		// Open sets: the values this server has.
		"job.source": strs("items"),
		"rewriter":   strs("rules", "openai"),
		"variant":    strs(images.VariantMain, images.VariantMain+"_3x4", images.VariantDetail, images.VariantThumb),
	}
}

var latin = regexp.MustCompile(`[A-Za-z]`)

// TestEveryEnumValueHasALabel: each value of each enumeration has its own
// words in both languages; the Chinese ones use no Latin letters and the
// English ones are not the API's identifier, so no page shows a raw value.
func TestEveryEnumValueHasALabel(t *testing.T) {
	t.Parallel()
	for group, values := range enumValues() {
		for _, v := range values {
			key := group + "." + v
			zh, ok := messages["zh"][key]
			if !ok {
				t.Errorf("no Chinese label for %s", key)
			} else if latin.MatchString(zh) {
				t.Errorf("the Chinese label of %s is %q", key, zh)
			}
			en, ok := messages["en"][key]
			if !ok {
				t.Errorf("no English label for %s", key)
			} else if en == v {
				t.Errorf("the English label of %s is the identifier itself", key)
			}
		}
	}
	for lang := range messages {
		if got := label(lang, "status", listinggen.StatusNeedsReview); got != messages[lang]["status.needs_review"] {
			t.Errorf("label(%s, status, needs_review) = %q", lang, got)
		}
	}
}

func TestFieldLabel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ lang, field, want string }{
		{"zh", "title", "标题"},
		{"zh", "selling_points[0]", "卖点 1"},
		{"en", "selling_points[2]", "Selling point 3"},
		{"en", "keywords[1]", "Keyword 2"},
		{"zh", "source.description", "货源详情"},
		{"en", "source.title", "Source title"},
		{"zh", "unknown", "field.unknown"},
	} {
		if got := fieldLabel(tc.lang, tc.field); got != tc.want {
			t.Errorf("fieldLabel(%s, %s) = %q, want %q", tc.lang, tc.field, got, tc.want)
		}
	}
}
