package textnorm

import (
	"sync"
	"unicode/utf8"
)

//go:generate go run ./internal/genscript -o script_table.go

// hanBase and hanLen bound the Han runes that IsHan reports: extension A
// and the basic block, held in one array indexed by r - hanBase.
const (
	hanBase = 0x3400
	hanLen  = 0xA000 - hanBase
)

// scriptTables are the rune maps behind Options.Script and Options.Numerals,
// built once on first use: han maps IsHan runes (0 for "unchanged"), other
// maps the rest.
type scriptTables struct {
	han   []rune
	other map[rune]rune
}

var (
	tablesOnce [4]sync.Once
	tables     [4]*scriptTables
)

// tablesFor returns the shared tables for a combination of Script and
// Numerals, or nil if neither is set.
func tablesFor(script, numerals bool) *scriptTables {
	i := 0
	if script {
		i |= 1
	}
	if numerals {
		i |= 2
	}
	if i == 0 {
		return nil
	}
	tablesOnce[i].Do(func() { tables[i] = buildTables(script, numerals) })
	return tables[i]
}

func buildTables(script, numerals bool) *scriptTables {
	t := &scriptTables{han: make([]rune, hanLen), other: map[rune]rune{}}
	set := func(from, to rune) {
		if IsHan(from) {
			t.han[from-hanBase] = to
		} else {
			t.other[from] = to
		}
	}
	digits := numeralRunes()
	if numerals {
		for from, to := range digits {
			set(from, to)
		}
	}
	if script {
		for s := tradSimp; s != ""; {
			from, n := utf8.DecodeRuneInString(s)
			to, m := utf8.DecodeRuneInString(s[n:])
			s = s[n+m:]
			if d, ok := digits[to]; ok && numerals {
				to = d // a traditional numeral (貳, 陸) folds to the digit too
			}
			set(from, to)
		}
	}
	return t
}

// mapRune applies the tables to one rune; ok is false if it is unchanged.
func (t *scriptTables) mapRune(r rune) (rune, bool) {
	if IsHan(r) {
		to := t.han[r-hanBase]
		return to, to != 0
	}
	to, ok := t.other[r]
	return to, ok
}

// numeralSets are runs of code points that stand for consecutive digits or
// letters, starting at the rune given.
var numeralSets = []struct {
	from, to rune
	first    rune
}{
	{'①', '⑨', '1'}, {'⑴', '⑼', '1'}, {'⒈', '⒐', '1'}, {'⓵', '⓽', '1'},
	{'❶', '❾', '1'}, {'➀', '➈', '1'}, {'➊', '➒', '1'},
	{'⓪', '⓪', '0'}, {'⓿', '⓿', '0'}, {'🄀', '🄀', '0'}, {'🄁', '🄊', '0'},
	{'Ⅰ', 'Ⅸ', '1'}, {'ⅰ', 'ⅸ', '1'},
	{'Ⓐ', 'Ⓩ', 'A'}, {'ⓐ', 'ⓩ', 'a'}, {'⒜', '⒵', 'a'},
	{'🄐', '🄩', 'A'}, {'🄰', '🅉', 'A'}, {'🅐', '🅩', 'A'}, {'🅰', '🆉', 'A'},
}

// chineseDigits are the Chinese ways of writing a digit: the ordinary
// numerals, the financial ones sellers use to dodge 第一, 幺 as 1 is read
// out in phone numbers, and 〇 and 零 for 0.
var chineseDigits = [...]string{"〇零", "一壹幺", "二贰", "三叁", "四肆", "五伍", "六陆", "七柒", "八捌", "九玖"}

// numeralRunes maps every rune of numeralSets and chineseDigits to its
// ASCII digit or letter.
var numeralRunes = sync.OnceValue(func() map[rune]rune {
	m := map[rune]rune{}
	for _, s := range numeralSets {
		for r := s.from; r <= s.to; r++ {
			m[r] = s.first + r - s.from
		}
	}
	for d, rs := range chineseDigits {
		for _, r := range rs {
			m[r] = '0' + rune(d)
		}
	}
	return m
})
