package dedup

import (
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/textnorm"
)

// Item is one side of a candidate pair; see listinggen.DedupItem.
type Item = listinggen.DedupItem

// ItemFromProduct is the evidence a source product carries.
func ItemFromProduct(p *listinggen.Product) Item {
	it := Item{Title: p.Title, Text: p.Description, Brand: p.Brand, Category: p.Category, Attributes: p.Attributes}
	if p.Price != nil {
		it.Price, _ = strconv.ParseFloat(p.Price.Amount, 64)
	}
	return it
}

// ItemFromListing is the evidence a stored listing carries: its source
// product's facts, its copy's title as the title (what a shopper and a
// platform see) and the source title among the searched text, and the
// hashes of its processed images.
func ItemFromListing(l *listinggen.Listing) Item {
	it := ItemFromProduct(&l.Source)
	it.Title = l.Copy.Title
	it.Text = strings.Join(append([]string{l.Source.Title, l.Source.Description}, l.Copy.SellingPoints...), "\n")
	it.PHashes = ListingHashes(l)
	return it
}

// ListingHashes returns the perceptual hashes of a listing's images that
// have one, in image order.
func ListingHashes(l *listinggen.Listing) []uint64 {
	var out []uint64
	for _, im := range l.Images {
		if h, err := strconv.ParseUint(im.PHash, 16, 64); err == nil && im.PHash != "" {
			out = append(out, h)
		}
	}
	return out
}

// features is an Item prepared once for many comparisons.
type features struct {
	item     Item
	grams    sparse   // title character n-grams, weighted by length
	title    sparse   // title tokens, weighted by rarity
	top      []uint64 // the title\'s rarest tokens
	all      sparse   // title and text tokens
	codes    []code   // identifiers of the title
	allCodes []code   // of title and text
	squashed string   // title and text, letters and digits only, lower case
	numbers  []string // plain numbers of the title
	measures map[string][]float64
	units    []string // the keys of measures, sorted
	attrs    map[string]map[string]bool
	// attrOrder keeps each attribute's values in the supplier's order.
	attrOrder map[string][]string
	// attrUnit names the unit of an attribute whose every value is a
	// measure in that unit (容量: 500ml, 750ml), which the measures
	// already compare.
	attrUnit map[string]string
	// attrNames are the keys of attrs, sorted.
	attrNames []string
	brand     string
	category  string
	cjk       float64 // share of the title's letters that are Han
}

// foldText is the folding every feature sees: NFKC, full-width to
// half-width and lower case, so that ＩＰＨＯＮＥ１５, iPhone15 and
// IPHONE15 are one token.
var foldText = textnorm.New(textnorm.Options{Fold: textnorm.FoldWidth | textnorm.FoldCase, Compat: true})

func fold(s string) string { return foldText.String(s) }

// categoryKey is the category as clustering blocks on it.
func categoryKey(c string) string { return strings.TrimSpace(fold(c)) }

// prepare computes what the features of an item's pairs need, once.
func prepare(it Item, idf *IDF) *features {
	f := &features{item: it, brand: strings.TrimSpace(fold(it.Brand)), category: categoryKey(it.Category)}
	title := fold(it.Title)
	all := title + "\n" + fold(it.Text)
	f.grams = ngrams(title)
	titleToks := Tokens(title)
	f.title = newSparse(dedupe(titleToks), idf.Weight, true)
	f.top = f.title.topRarest(3)
	f.all = newSparse(dedupe(append(titleToks, Tokens(fold(it.Text))...)), idf.Weight, false)
	f.codes = identifiers(title, idf)
	f.allCodes = identifiers(all, idf)
	f.squashed = textnorm.KeepASCIIAlnum(all)
	f.numbers = plainNumbers(title)
	f.measures = measures(all)
	f.units = slices.Sorted(maps.Keys(f.measures))
	var han, letters int
	for _, r := range title {
		if unicode.IsLetter(r) {
			letters++
			if textnorm.IsHan(r) {
				han++
			}
		}
	}
	if letters > 0 {
		f.cjk = float64(han) / float64(letters)
	}
	if len(it.Attributes) > 0 {
		f.attrs, f.attrOrder = map[string]map[string]bool{}, map[string][]string{}
		for _, a := range it.Attributes {
			set := map[string]bool{}
			var order []string
			for _, v := range a.Values {
				if v = strings.TrimSpace(fold(v)); v != "" && !set[v] {
					set[v] = true
					order = append(order, v)
				}
			}
			if len(set) > 0 {
				name := strings.TrimSpace(fold(a.Name))
				f.attrs[name], f.attrOrder[name] = set, order
				if u := valuesUnit(order); u != "" {
					if f.attrUnit == nil {
						f.attrUnit = map[string]string{}
					}
					f.attrUnit[name] = u
				}
			}
		}
		f.attrNames = slices.Sorted(maps.Keys(f.attrs))
	}
	return f
}

// Tokens splits folded text into the tokens whose rarity the model
// weighs: Latin words and numbers as they are, and Han text as character
// bigrams (a lone Han character as itself), since Chinese titles run their
// words together and a bigram is the commonest word length.
func Tokens(s string) []string {
	var out []string
	for _, w := range textnorm.Words(s) {
		rs := []rune(w)
		for i := 0; i < len(rs); {
			j := i + 1
			han := textnorm.IsHan(rs[i])
			for j < len(rs) && textnorm.IsHan(rs[j]) == han {
				j++
			}
			switch {
			case !han:
				out = append(out, string(rs[i:j]))
			case j-i == 1:
				out = append(out, string(rs[i]))
			default:
				for k := i; k+2 <= j; k++ {
					out = append(out, string(rs[k:k+2]))
				}
			}
			i = j
		}
	}
	return out
}

// ngrams returns the character bigrams and trigrams of s's words (runs of
// letters and digits; a CJK run is one word), each weighted by its length.
// Grams do not cross word boundaries, so word order (which per-shop titles
// shuffle) matters little.
func ngrams(s string) sparse {
	var grams []string
	for _, w := range textnorm.Words(s) {
		r := []rune(w)
		if len(r) == 1 {
			grams = append(grams, w)
			continue
		}
		for n := 2; n <= 3; n++ {
			for i := 0; i+n <= len(r); i++ {
				grams = append(grams, string(r[i:i+n]))
			}
		}
	}
	return newSparse(grams, func(g string) float64 { return float64(min(3, utf8.RuneCountInString(g))) }, false)
}

// cosineGrams is the character n-gram cosine of two items' titles.
func cosineGrams(a, b *features) float64 {
	return cosineOf(&a.grams, &b.grams, merge(&a.grams, &b.grams, false))
}

// dedupe returns the distinct strings of xs, in first-seen order.
func dedupe(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	out := xs[:0:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// plainNumber is a number standing alone: a version, a series or a size
// without its unit (Pegasus 33, iPad Pro 12.9).
var plainNumber = regexp.MustCompile(`(?:^|[^0-9a-z.])([0-9]+(?:\.[0-9]+)?)(?:$|[^0-9a-z.])`)

// plainNumbers returns the distinct plain numbers of s (already folded),
// sorted.
func plainNumbers(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		loc := plainNumber.FindStringSubmatchIndex(s[i:])
		if loc == nil {
			break
		}
		if n := s[i+loc[2] : i+loc[3]]; !slices.Contains(out, n) {
			out = append(out, n)
		}
		// The expression consumes one character either side; resume at
		// the number's end so that "12 15" yields both.
		i += loc[3]
	}
	sort.Strings(out)
	return out
}

var (
	// codeRun is an ASCII token that may be an identifier, with its inner
	// hyphens, slashes and dots: DSC-W120P, SD-P71S, KDL-40V4100.
	codeRun = regexp.MustCompile(`[a-z0-9]+(?:[-/.][a-z0-9]+)*`)
	// measurement is a number with a short unit (120w, 32gb, 1080p, 4x):
	// a quantity, not an identifier.
	measurement = regexp.MustCompile(`^[0-9]+(?:\.[0-9]+)?[a-z]{1,3}$`)
)

// code is an identifier: a model number or a SKU-like code.
type code struct {
	c string // letters and digits only, lower case
	// part marks a hyphenated part of a longer code (554724 of
	// 554724-110), which names the family, not the item.
	part bool
	// rarity is the rarity of its rarest word: a code every shop prints
	// (a coupon code, DDR3-1600) weighs little.
	rarity float64
}

// identifiers returns the identifiers of s (already folded): model
// numbers and SKU-like codes, normalised by dropping separators. A token
// qualifies if it mixes letters and digits and is not a measurement.
// Hyphenated codes are joined (dsc-w120p is dscw120p), since suppliers
// write the same code with and without separators, except where the
// hyphen joins a number to a word or a range (24-port, 18-70mm), which are
// quantities; their parts are kept too, marked as parts. A slash
// separates codes (dvpfx820/w, 10/100). The result is sorted by code.
func identifiers(s string, idf *IDF) []code {
	index := map[string]int{}
	var out []code
	add := func(piece string, part bool) {
		c := textnorm.KeepASCIIAlnum(piece)
		if !isCode(c) || measurement.MatchString(piece) || resolution.MatchString(c) {
			return
		}
		if i, ok := index[c]; ok {
			out[i].part = out[i].part && part
			return
		}
		r := 0.0
		for _, w := range textnorm.Words(piece) {
			r = math.Max(r, idf.Weight(w))
		}
		index[c] = len(out)
		out = append(out, code{c: c, part: part, rarity: r})
	}
	for _, run := range codeRun.FindAllString(s, -1) {
		pieces := strings.Split(run, "/")
		for i, slashed := range pieces {
			if !quantityJoin.MatchString(slashed) {
				add(slashed, false)
			}
			// A letter or two after a slash is the code's variant suffix
			// (dvpfx820/w is the white dvpfx820w).
			if i > 0 && len(slashed) <= 2 && strings.Trim(slashed, "abcdefghijklmnopqrstuvwxyz") == "" {
				add(pieces[i-1]+slashed, false)
			}
			if strings.Contains(slashed, "-") {
				for _, part := range strings.Split(slashed, "-") {
					add(part, true)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].c < out[j].c })
	return out
}

// states reports whether codes hold c, whole or as a part.
func states(codes []code, c string) bool {
	i := sort.Search(len(codes), func(i int) bool { return codes[i].c >= c })
	return i < len(codes) && codes[i].c == c
}

var (
	// resolution is 1920x1080 and the like.
	resolution = regexp.MustCompile(`^[0-9]+x[0-9]+$`)
	// quantityJoin is a short number hyphenated to a word or to another
	// short number: 24-port, 10-cup, 18-70mm, 3-6. Longer numbers so
	// joined are a style and its colourway (554724-110).
	quantityJoin = regexp.MustCompile(`^[0-9.]{1,4}-([a-z]+|[0-9.]{1,4}[a-z]*)$`)
)

// isCode: 5 to 30 characters, letters and digits (or five digits), and
// no run of more than five letters (iphone15promax names a phone that a
// case fits, not the case; model numbers are short letter groups around
// digits: lmvm2085wh, dscw120p, kdl40v4100).
func isCode(c string) bool {
	if len(c) < 5 || len(c) > 30 {
		return false
	}
	var letters, digits, run int
	for _, r := range c {
		if r >= '0' && r <= '9' {
			digits++
			run = 0
		} else {
			letters++
			if run++; run > 5 {
				return false
			}
		}
	}
	// Five or more digits alone are a SKU or catalogue number (10020780).
	return digits >= 1 && letters >= 1 || digits >= 5
}

// unitAliases maps the ways a unit is written to one name. Values with the
// same unit name are compared; a listing of 2.0 cu ft and one of 1.6 cu ft
// are different items whatever their titles share.
var unitAliases = map[string]string{
	"gb": "GB", "g b": "GB", "tb": "TB", "mb": "MB",
	"megapixel": "MP", "megapixels": "MP", "mp": "MP",
	"cu ft": "cu ft", "cu. ft": "cu ft", "cu . ft": "cu ft", "cubic feet": "cu ft",
	"inch": "in", "inches": "in", "in": "in", "'": "in", "\"": "in", "寸": "in", "英寸": "in",
	"w": "W", "watt": "W", "watts": "W", "瓦": "W",
	"mah": "mAh", "毫安": "mAh",
	"ml": "ml", "毫升": "ml", "l": "L", "升": "L",
	"mm": "mm", "毫米": "mm", "cm": "cm", "厘米": "cm", "m": "m", "米": "m",
	"kg": "kg", "公斤": "kg", "g": "g", "克": "g",
	"hz": "Hz", "ghz": "GHz", "mhz": "MHz",
	"x": "x", "倍": "x",
	"a": "A", "v": "V",
	"支": "pcs", "件": "pcs", "片": "pcs", "只": "pcs", "个": "pcs", "pcs": "pcs", "pc": "pcs",
	"小时": "h", "h": "h", "hours": "h",
}

var measureRe = func() *regexp.Regexp {
	alts := make([]string, 0, len(unitAliases))
	for k := range unitAliases {
		alts = append(alts, regexp.QuoteMeta(k))
	}
	// Longest first, so that "cu ft" wins over "cu" and "ml" over "m".
	sort.Slice(alts, func(i, j int) bool {
		if len(alts[i]) != len(alts[j]) {
			return len(alts[i]) > len(alts[j])
		}
		return alts[i] < alts[j]
	})
	return regexp.MustCompile(`([0-9]+(?:\.[0-9]+)?) ?(` + strings.Join(alts, "|") + `)`)
}()

// measures returns the numbers with units in s, by unit: a number not
// glued to a word or another number before it (a12gb, 1.5 of x1.5), and a
// unit not running on into a word (8gbx).
func measures(s string) map[string][]float64 {
	out := map[string][]float64{}
	if !strings.ContainsAny(s, "0123456789") {
		return out
	}
	for _, loc := range measureRe.FindAllStringSubmatchIndex(s, -1) {
		if before := loc[0] - 1; before >= 0 && isMeasureGlue(s[before], true) {
			continue
		}
		if after := loc[1]; after < len(s) && isMeasureGlue(s[after], false) {
			continue
		}
		num, unit := s[loc[2]:loc[3]], s[loc[4]:loc[5]]
		if v, err := strconv.ParseFloat(num, 64); err == nil {
			u := unitAliases[unit]
			if !containsFloat(out[u], v) {
				out[u] = append(out[u], v)
			}
		}
	}
	return out
}

// valuesUnit returns the unit every value is a single measure in, or "".
func valuesUnit(values []string) string {
	unit := ""
	for _, v := range values {
		m := measures(v)
		if len(m) != 1 {
			return ""
		}
		for u, vs := range m {
			if len(vs) != 1 || unit != "" && u != unit {
				return ""
			}
			unit = u
		}
	}
	return unit
}

// isMeasureGlue reports a byte that joins a measure to its neighbour: a
// letter or digit, and before the number a decimal point too.
func isMeasureGlue(c byte, before bool) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || before && c == '.'
}

func containsFloat(vs []float64, v float64) bool {
	for _, x := range vs {
		if math.Abs(x-v) < 1e-9 {
			return true
		}
	}
	return false
}
