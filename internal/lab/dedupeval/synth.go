package dedupeval

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/listinggen/listinggen"
)

// Synthesize makes a catalogue of n products in the style of base, with its
// true clusters, from a seed: the larger catalogue that shows how
// clustering holds up as a catalogue grows. It learns from base, per
// category, the words of its space-separated titles, the attribute names
// and values and the prices, and across categories the words every
// category uses (seasons, superlatives, supplier jargon) and the closing
// lines of descriptions. Each new item is a category, a set of that
// category's words, an attribute map (values drawn from what base lists
// for each name, in a random order) and a price; each of its 1–4 offers
// (in base's proportions) draws a title from the item's words and the
// common ones, a price within 10% and the item's attributes as they are,
// which is how base's offers of one item relate. Distinct items of a
// category share words and often attribute maps, as they do in base.
func Synthesize(base *Catalogue, n int, seed uint64) *Catalogue {
	rng := rand.New(rand.NewPCG(seed, 0x6c697374696e6767))
	st := learnStyle(base)
	out := &Catalogue{Name: fmt.Sprintf("synthetic-%d", n)}
	for item := 0; len(out.Products) < n; item++ {
		cat := st.cats[pickWeighted(rng, st.catWeight)]
		cs := st.byCat[cat]
		words := sample(rng, cs.words, 5+rng.IntN(4))
		var attrs listinggen.Attributes
		for _, name := range cs.attrNames {
			pool := cs.values[name]
			k := cs.sizes[name][rng.IntN(len(cs.sizes[name]))]
			attrs = append(attrs, listinggen.Attribute{Name: name, Values: sample(rng, pool, min(k, len(pool)))})
		}
		price := cs.prices[rng.IntN(len(cs.prices))]
		offers := st.clusterSizes[rng.IntN(len(st.clusterSizes))]
		for range offers {
			if len(out.Products) == n {
				break
			}
			out.Products = append(out.Products, st.offer(rng, len(out.Products), cat, words, attrs, price))
			out.Truth = append(out.Truth, item)
		}
	}
	return out
}

// style is what Synthesize learns from a catalogue.
type style struct {
	cats         []string
	catWeight    []int
	byCat        map[string]*catStyle
	common       []string // words of titles in three or more categories
	closings     []string // last lines of plain descriptions
	clusterSizes []int
}

type catStyle struct {
	words     []string
	attrNames []string
	values    map[string][]string
	sizes     map[string][]int // how many values the attribute lists, per product
	prices    []float64
}

func learnStyle(c *Catalogue) *style {
	st := &style{byCat: map[string]*catStyle{}}
	wordCats := map[string]map[string]bool{}
	closings := map[string]bool{}
	for _, p := range c.Products {
		cs, ok := st.byCat[p.Category]
		if !ok {
			cs = &catStyle{values: map[string][]string{}, sizes: map[string][]int{}}
			st.byCat[p.Category] = cs
		}
		fields := strings.Fields(p.Title)
		if len(fields) < 3 {
			// A title written without spaces does not show its words.
			fields = nil
		}
		for _, w := range fields {
			w = strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
			if w == "" || len([]rune(w)) > 8 {
				continue
			}
			if wordCats[w] == nil {
				wordCats[w] = map[string]bool{}
			}
			wordCats[w][p.Category] = true
		}
		for _, a := range p.Attributes {
			if !slices.Contains(cs.attrNames, a.Name) {
				cs.attrNames = append(cs.attrNames, a.Name)
			}
			for _, v := range a.Values {
				if !slices.Contains(cs.values[a.Name], v) {
					cs.values[a.Name] = append(cs.values[a.Name], v)
				}
			}
			cs.sizes[a.Name] = append(cs.sizes[a.Name], len(a.Values))
		}
		if p.Price != nil {
			var f float64
			if _, err := fmt.Sscan(p.Price.Amount, &f); err == nil && f > 0 {
				cs.prices = append(cs.prices, f)
			}
		}
		if !strings.HasPrefix(p.Description, "<") {
			lines := strings.Split(p.Description, "\n")
			closings[lines[len(lines)-1]] = true
		}
	}
	for _, w := range slices.Sorted(maps.Keys(wordCats)) {
		cats := wordCats[w]
		if len(cats) >= 3 {
			st.common = append(st.common, w)
			continue
		}
		for cat := range cats {
			st.byCat[cat].words = append(st.byCat[cat].words, w)
		}
	}
	for _, cat := range slices.Sorted(maps.Keys(st.byCat)) {
		cs := st.byCat[cat]
		sort.Strings(cs.words)
		st.cats = append(st.cats, cat)
		st.catWeight = append(st.catWeight, len(cs.prices)+1)
	}
	st.closings = slices.Sorted(maps.Keys(closings))
	sizes := map[int]int{}
	for _, t := range c.Truth {
		sizes[t]++
	}
	for _, t := range slices.Sorted(maps.Keys(sizes)) {
		st.clusterSizes = append(st.clusterSizes, sizes[t])
	}
	return st
}

// offer makes one supplier's offer of an item.
func (st *style) offer(rng *rand.Rand, n int, cat string, words []string, attrs listinggen.Attributes, price float64) listinggen.Product {
	title := sample(rng, words, max(3, len(words)-rng.IntN(3)))
	for range rng.IntN(3) {
		title = append(title, st.common[rng.IntN(len(st.common))])
	}
	rng.Shuffle(len(title), func(i, j int) { title[i], title[j] = title[j], title[i] })
	sep := ""
	if rng.IntN(5) < 2 {
		sep = " "
	}
	p := listinggen.Product{
		ID: fmt.Sprintf("syn-%06d", n), Source: "1688", Title: strings.Join(title, sep), Category: cat,
		Price:      &listinggen.Money{Amount: fmt.Sprintf("%.2f", price*(0.9+0.2*rng.Float64())), Currency: "CNY"},
		Attributes: attrs, Language: "zh-CN",
	}
	lines := []string{p.Title}
	for _, a := range attrs {
		lines = append(lines, "【"+a.Name+"】"+strings.Join(a.Values, "/"))
	}
	p.Description = strings.Join(append(lines, st.closings[rng.IntN(len(st.closings))]), "\n")
	for i := range 1 + rng.IntN(5) {
		p.Images = append(p.Images, listinggen.ImageRef{URL: fmt.Sprintf("https://img.example/syn/%06d_%d.jpg", n, i)})
	}
	return p
}

// sample returns k of xs in a random order.
func sample(rng *rand.Rand, xs []string, k int) []string {
	perm := rng.Perm(len(xs))
	out := make([]string, 0, k)
	for _, i := range perm[:min(k, len(xs))] {
		out = append(out, xs[i])
	}
	return out
}

func pickWeighted(rng *rand.Rand, ws []int) int {
	total := 0
	for _, w := range ws {
		total += w
	}
	r := rng.IntN(total)
	for i, w := range ws {
		if r < w {
			return i
		}
		r -= w
	}
	return len(ws) - 1
}
