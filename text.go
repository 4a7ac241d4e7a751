package listinggen

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TitleUnits counts a string the way Chinese marketplaces count title length:
// one unit for each ASCII character and two for everything else (CJK,
// full-width punctuation). Douyin's "30 汉字" and Taobao's "60 bytes" are both
// 60 units under this rule.
func TitleUnits(s string) int {
	n := 0
	for _, r := range s {
		if r < utf8.RuneSelf {
			n++
		} else {
			n += 2
		}
	}
	return n
}

// CheckText reports why s is not acceptable text for field: invalid UTF-8,
// a NUL or other control character, the U+FFFD replacement character (the
// trace JSON decoding leaves of invalid UTF-8 or a lone surrogate, which we
// refuse rather than store silently), or more than maxRunes runes. maxRunes
// <= 0 means no length limit. multiline permits \n, \r and \t.
func CheckText(field, s string, maxRunes int, multiline bool) []FieldError {
	if !utf8.ValidString(s) {
		return []FieldError{{field, "is not valid UTF-8"}}
	}
	for _, r := range s {
		switch {
		case r == 0:
			return []FieldError{{field, "contains a NUL character"}}
		case r == utf8.RuneError:
			return []FieldError{{field, "contains U+FFFD: the input had invalid UTF-8 or an unpaired surrogate"}}
		case multiline && (r == '\n' || r == '\r' || r == '\t'):
		case unicode.IsControl(r):
			return []FieldError{{field, fmt.Sprintf("contains control character %U", r)}}
		}
	}
	if maxRunes > 0 && utf8.RuneCountInString(s) > maxRunes {
		return []FieldError{{field, fmt.Sprintf("is longer than %d characters", maxRunes)}}
	}
	return nil
}

// requireText is CheckText plus "must not be empty" after trimming spaces.
func requireText(field, s string, maxRunes int, multiline bool) []FieldError {
	if strings.TrimSpace(s) == "" {
		return []FieldError{{field, "is required"}}
	}
	return CheckText(field, s, maxRunes, multiline)
}
