package listinggen

import (
	"encoding/base64"
	"strings"
)

// Page sizes for cursor pagination.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// PageLimit clamps a requested page size into [1, MaxPageSize], using the
// default for zero or negative values.
func PageLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

const cursorPrefix = "c1:"

// EncodeCursor makes an opaque cursor from the last id of a page. Ids are
// time-ordered, so "ids below this one" is a stable keyset position that
// stays fast at any depth, unlike OFFSET.
func EncodeCursor(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + lastID))
}

// DecodeCursor returns the id inside a cursor, "" for an empty cursor, or an
// EINVALID error naming the cursor field.
func DecodeCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !strings.HasPrefix(string(b), cursorPrefix) || len(b) == len(cursorPrefix) {
		return "", Invalid([]FieldError{{"cursor", "is not a cursor returned by this API"}})
	}
	return string(b[len(cursorPrefix):]), nil
}
