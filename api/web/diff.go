package web

import (
	"fmt"

	"github.com/listinggen/listinggen"
)

// Segment is a run of text rendered one way: unchanged, added (not in the
// source), removed (in the source only) or inside a compliance violation.
type Segment struct {
	Text string
	// Kind is "", "add", "del" or "violation".
	Kind string
	// Severity and Note describe a violation: its rule and suggestion.
	Severity string
	Note     string
}

// maxDiffCells bounds the LCS table (runes of source × runes of copy):
// beyond it the copy is shown without change marks rather than spending
// seconds and hundreds of megabytes on a long description.
const maxDiffCells = 4_000_000

// lcsMarks returns, for each rune of a and of b, whether it is part of a
// longest common subsequence of the two.
func lcsMarks(a, b []rune) (inA, inB []bool, ok bool) {
	inA, inB = make([]bool, len(a)), make([]bool, len(b))
	if len(a)*len(b) > maxDiffCells {
		return inA, inB, false
	}
	w := len(b) + 1
	t := make([]int32, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				t[i*w+j] = t[(i+1)*w+j+1] + 1
			} else {
				t[i*w+j] = max(t[(i+1)*w+j], t[i*w+j+1])
			}
		}
	}
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			inA[i], inB[j] = true, true
			i, j = i+1, j+1
		case t[(i+1)*w+j] >= t[i*w+j+1]:
			i++
		default:
			j++
		}
	}
	return inA, inB, true
}

// runeMark is how one rune is shown.
type runeMark struct {
	kind string
	v    int // index of the violation covering the rune, or -1
}

// markedText splits text into segments: runes whose flag is set (kind
// flagKind: "add" for what the copy added, "del" for what it dropped from
// the source; flags may be nil) and runes inside a violation of this field.
// A violation wins over the flag in the same place; its note names the rule
// and the suggested replacement.
func markedText(text string, flags []bool, flagKind string, vs []listinggen.Violation) []Segment {
	rs := []rune(text)
	marks := make([]runeMark, len(rs))
	for i := range marks {
		marks[i].v = -1
		if flags != nil && flags[i] {
			marks[i].kind = flagKind
		}
	}
	for vi, v := range vs {
		for i := max(v.Start, 0); i < min(v.End, len(rs)); i++ {
			marks[i] = runeMark{kind: "violation", v: vi}
		}
	}
	var out []Segment
	start := 0
	for i := 1; i <= len(rs); i++ {
		if i < len(rs) && marks[i] == marks[start] {
			continue
		}
		seg := Segment{Text: string(rs[start:i]), Kind: marks[start].kind}
		if v := marks[start].v; v >= 0 {
			seg.Severity = string(vs[v].Severity)
			seg.Note = violationNote(vs[v])
		}
		out = append(out, seg)
		start = i
	}
	return out
}

func violationNote(v listinggen.Violation) string {
	note := v.Rule
	if v.Suggestion != "" {
		note += fmt.Sprintf(" → %s", v.Suggestion)
	}
	return note
}

// sideBySide is a source text and the copy made from it, with the changes
// and the copy's violations marked.
type sideBySide struct {
	Source []Segment
	Copy   []Segment
}

func compare(source, copyText string, sourceVs, vs []listinggen.Violation) sideBySide {
	src, cp := []rune(source), []rune(copyText)
	inSrc, inCopy, ok := lcsMarks(src, cp)
	if !ok {
		return sideBySide{Source: markedText(source, nil, "", sourceVs), Copy: markedText(copyText, nil, "", vs)}
	}
	return sideBySide{Source: markedText(source, negate(inSrc), "del", sourceVs), Copy: markedText(copyText, negate(inCopy), "add", vs)}
}

func negate(bs []bool) []bool {
	out := make([]bool, len(bs))
	for i, b := range bs {
		out[i] = !b
	}
	return out
}

// fieldViolations returns the violations of one field of the copy.
func fieldViolations(vs []listinggen.Violation, field string) []listinggen.Violation {
	var out []listinggen.Violation
	for _, v := range vs {
		if v.Field == field {
			out = append(out, v)
		}
	}
	return out
}
