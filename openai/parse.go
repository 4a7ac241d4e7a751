package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/listinggen/listinggen"
)

// copySchema is the JSON schema of the structured output, sent with
// response_format json_schema (strict: every property required, nothing
// else allowed).
var copySchema = json.RawMessage(`{"type":"object","properties":{` +
	`"title":{"type":"string"},` +
	`"selling_points":{"type":"array","items":{"type":"string"}},` +
	`"description":{"type":"string"},` +
	`"keywords":{"type":"array","items":{"type":"string"}}},` +
	`"required":["title","selling_points","description","keywords"],"additionalProperties":false}`)

// ParseCopy reads the copy out of a model's answer, tolerating what chat
// models wrap JSON in: a ```json fence, prose before or after the object,
// and trailing commas. It checks the required fields (a title, a
// description and at least one selling point; keywords may be empty) and
// accepts a comma-separated string where a list is expected. A truncated
// object is an error, never partial copy.
func ParseCopy(content string) (listinggen.Copy, error) {
	fail := func(err error) (listinggen.Copy, error) {
		return listinggen.Copy{}, &ParseError{Content: content, Err: err}
	}
	obj, err := extractObject(content)
	if err != nil {
		return fail(err)
	}
	var raw struct {
		Title         *string         `json:"title"`
		SellingPoints json.RawMessage `json:"selling_points"`
		Description   *string         `json:"description"`
		Keywords      json.RawMessage `json:"keywords"`
	}
	if err := json.Unmarshal([]byte(obj), &raw); err != nil {
		if err2 := json.Unmarshal([]byte(dropTrailingCommas(obj)), &raw); err2 != nil {
			return fail(err)
		}
	}
	var problems []string
	var cp listinggen.Copy
	if raw.Title == nil || strings.TrimSpace(*raw.Title) == "" {
		problems = append(problems, "title is missing or empty")
	} else {
		cp.Title = strings.TrimSpace(*raw.Title)
	}
	if raw.Description == nil || strings.TrimSpace(*raw.Description) == "" {
		problems = append(problems, "description is missing or empty")
	} else {
		cp.Description = strings.TrimSpace(*raw.Description)
	}
	cp.SellingPoints, err = stringList(raw.SellingPoints, "\n")
	if err != nil {
		problems = append(problems, "selling_points: "+err.Error())
	} else if len(cp.SellingPoints) == 0 {
		problems = append(problems, "selling_points is missing or empty")
	}
	if cp.Keywords, err = stringList(raw.Keywords, ",，、;；\n"); err != nil {
		problems = append(problems, "keywords: "+err.Error())
	}
	if len(problems) > 0 {
		return fail(errors.New(strings.Join(problems, "; ")))
	}
	return cp, nil
}

// stringList decodes a list of strings, or one string split at seps,
// trimming items and dropping empty ones.
func stringList(raw json.RawMessage, seps string) ([]string, error) {
	out := []string{}
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	var list []string
	var one string
	if err := json.Unmarshal(raw, &list); err != nil {
		if json.Unmarshal(raw, &one) != nil {
			return nil, fmt.Errorf("must be a list of strings")
		}
		list = strings.FieldsFunc(one, func(r rune) bool { return strings.ContainsRune(seps, r) })
	}
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// extractObject returns the first complete JSON object of s, preferring
// the body of a ```json fence.
func extractObject(s string) (string, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "\ufeff")
	if s == "" {
		return "", errors.New("empty output")
	}
	if i := strings.Index(s, "```"); i >= 0 {
		body := s[i+3:]
		if nl := strings.IndexByte(body, '\n'); nl >= 0 && !strings.Contains(body[:nl], "{") {
			body = body[nl+1:] // the info string: json, JSON, javascript …
		}
		if j := strings.Index(body, "```"); j >= 0 && strings.Contains(body[:j], "{") {
			s = body[:j]
		}
	}
	start := strings.IndexByte(s, '{')
	if start < 0 {
		return "", errors.New("no JSON object in the output")
	}
	depth, inString, escaped := 0, false, false
	for i := start; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return s[start : i+1], nil
			}
		}
	}
	return "", errors.New("unterminated JSON object (truncated output)")
}

// dropTrailingCommas removes commas that directly precede } or ] outside
// strings.
func dropTrailingCommas(s string) string {
	var b strings.Builder
	inString, escaped := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && c == ',':
			j := i + 1
			for j < len(s) && strings.IndexByte(" \t\r\n", s[j]) >= 0 {
				j++
			}
			if j < len(s) && (s[j] == '}' || s[j] == ']') {
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
