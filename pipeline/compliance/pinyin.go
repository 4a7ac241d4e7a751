package compliance

import (
	"encoding/json"
	"strings"
	"sync"

	"github.com/listinggen/listinggen/textnorm"
)

//go:generate go run ./internal/genpinyin -o data/pinyin.json

// pinyinData is data/pinyin.json: the toneless readings of every Han
// character of the word lists, generated from a pinyin table so that no
// reading is typed by hand.
type pinyinData struct {
	Source   string              `json:"source"`
	Readings map[string][]string `json:"readings"`
}

// pinyinTable is the embedded table, keyed by character.
var pinyinTable = sync.OnceValues(func() (map[rune][]string, error) {
	b, err := dataFS.ReadFile("data/pinyin.json")
	if err != nil {
		return nil, err
	}
	var d pinyinData
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	t := make(map[rune][]string, len(d.Readings))
	for k, v := range d.Readings {
		for _, r := range k {
			t[r] = v
		}
	}
	return t, nil
})

// Limits on the spellings made of one term, which keep the pinyin
// automaton small: every mix of characters and pinyin for short terms,
// one character at a time and all pinyin for long ones.
const (
	maxReadings      = 3
	maxMixedRunes    = 3
	maxPinyinVariant = 64
)

// pinyinVariants returns the pinyin spellings of term, normalised by
// matchForm: each character replaced by a reading (zui佳, 最di价), several
// at once for short terms, and every character for terms of three
// characters or more (zuidijia), where all-Latin spellings are long enough
// not to be an English word. Readings with ü are also spelt with v and u
// (lv, lu), as sellers type them. A term of one character gets none.
func pinyinVariants(term string) []string {
	table, err := pinyinTable()
	if err != nil {
		return nil
	}
	runes := []rune(term)
	options := make([][]string, len(runes))
	han := 0
	for i, r := range runes {
		options[i] = []string{string(r)}
		if !textnorm.IsHan(r) {
			continue
		}
		han++
		var rs []string
		for _, p := range table[r] {
			rs = append(rs, p)
			if u := strings.ReplaceAll(p, "v", "u"); u != p {
				rs = append(rs, u)
			}
		}
		if len(rs) > maxReadings {
			rs = rs[:maxReadings]
		}
		options[i] = append(options[i], rs...)
	}
	if han < 2 {
		return nil
	}
	var out []string
	emit := func(parts []string, replaced int) {
		if replaced == 0 || replaced == han && han < 3 {
			return
		}
		if v := matchForm.String(strings.Join(parts, "")); v != "" {
			out = append(out, v)
		}
	}
	parts := make([]string, len(runes))
	if han <= maxMixedRunes {
		var walk func(i, replaced int)
		walk = func(i, replaced int) {
			if len(out) >= maxPinyinVariant {
				return
			}
			if i == len(runes) {
				emit(parts, replaced)
				return
			}
			for k, o := range options[i] {
				parts[i] = o
				walk(i+1, replaced+min(k, 1))
			}
		}
		walk(0, 0)
		return out
	}
	for i := range runes {
		parts[i] = options[i][0]
	}
	for i := range runes {
		for _, o := range options[i][1:] {
			parts[i] = o
			emit(parts, 1)
		}
		parts[i] = options[i][0]
	}
	for i := range runes {
		if len(options[i]) > 1 {
			parts[i] = options[i][1]
		}
	}
	emit(parts, han)
	return out
}
