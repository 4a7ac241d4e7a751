// Package rules is the offline rewriter: deterministic copy from the source
// product's own words, with no model and no network. It is the default when
// no LLM is configured and the fallback when a model's output fails
// validation, so it must always produce valid, grounded copy.
package rules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/htmltext"
	"github.com/listinggen/listinggen/textnorm"
)

// algorithmVersion changes whenever the output for the same input changes,
// so that stored listings keyed by version are regenerated, not reused.
const algorithmVersion = "rules-v1"

// Cleaner removes banned terms and emoji from supplier text. The compliance
// checker implements it; the rewriter does not need to know the word lists.
type Cleaner interface {
	Clean(text string) string
}

// Rewriter is the rules rewriter. It is immutable and safe for concurrent use.
type Rewriter struct {
	cleaner Cleaner
	lexicon *lexicon
	version string
}

var _ listinggen.Rewriter = (*Rewriter)(nil)

// New returns a rules rewriter that cleans text with cleaner.
func New(cleaner Cleaner) (*Rewriter, error) {
	lx, err := parseLexicon(lexiconData)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(algorithmVersion + "\n" + lexiconData))
	return &Rewriter{cleaner: cleaner, lexicon: lx, version: algorithmVersion + "-" + hex.EncodeToString(sum[:4])}, nil
}

// Name identifies the rewriter in provenance.
func (rw *Rewriter) Name() string { return "rules" }

// Version identifies the algorithm and lexicon; it plays the role a prompt
// version plays for an LLM rewriter.
func (rw *Rewriter) Version() string { return rw.version }

// Rewrite produces copy for one product in one shop.
func (rw *Rewriter) Rewrite(ctx context.Context, req listinggen.RewriteRequest) (*listinggen.Rewrite, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := req.Product
	rng := rand.New(rand.NewPCG(req.Seed, 0x6c697374696e67))
	core := rw.cleaner.Clean(p.CategoryLeaf())
	lx := rw.lexicon.with(rw.productPhrases(p, core))
	tokens := dedupe(segment(rw.cleaner.Clean(p.Title), lx))

	title := rw.title(tokens, core, p, req.Rules, rng)
	if d := req.Distinct; title != "" && d != nil && d.Similarity != nil && len(d.Titles) > 0 {
		title = distinctTitle(title, d, func() string { return rw.title(tokens, core, p, req.Rules, rng) })
	}
	if title == "" {
		return nil, listinggen.Invalid([]listinggen.FieldError{{Field: "product.title",
			Message: "has no usable words once supplier jargon, banned terms and emoji are removed, and the product has no category"}})
	}
	cp := listinggen.Copy{
		Title:         title,
		SellingPoints: rw.sellingPoints(tokens, p, req.Rules),
		Description:   rw.description(title, p, req.Rules),
		Keywords:      keywords(tokens, core),
	}
	return &listinggen.Rewrite{Copy: cp, Provenance: listinggen.Provenance{
		Rewriter: rw.Name(), PromptVersion: rw.version, Seed: req.Seed,
	}}, nil
}

// distinctDraws bounds the titles drawn to find one unlike the group's:
// a draw is cheap next to the rest of a rewrite, and a product whose words
// allow a distinct title at all shows one long before the bound; one whose
// words do not would otherwise draw forever.
const distinctDraws = 64

// distinctTitle returns first, or, when it repeats one of d's titles, the
// draw least like any of them (the first below d.Below ends the search).
func distinctTitle(first string, d *listinggen.Distinctness, draw func() string) string {
	best, worst := first, d.MaxSimilarity(first)
	for i := 0; i < distinctDraws && worst >= d.Below; i++ {
		if t := draw(); t != "" {
			if s := d.MaxSimilarity(t); s < worst {
				best, worst = t, s
			}
		}
	}
	return best
}

// productPhrases are the product's own words: its category leaf (the core
// product word) and its attribute values.
func (rw *Rewriter) productPhrases(p *listinggen.Product, core string) map[string]class {
	out := map[string]class{}
	for _, at := range p.Attributes {
		for _, v := range at.Values {
			if v = rw.cleaner.Clean(v); utf8.RuneCountInString(v) >= 1 {
				out[v] = classAttribute
			}
		}
	}
	if core != "" {
		out[core] = classCore
	}
	return out
}

// dedupe drops repeated phrases and phrases contained in a longer phrase of
// the same title (全包 next to 镜头全包), keeping first-occurrence order.
func dedupe(tokens []token) []token {
	var out []token
	for i, t := range tokens {
		key := textnorm.LowerASCII(t.text)
		redundant := false
		for j, o := range tokens {
			ok := textnorm.LowerASCII(o.text)
			if i != j && (ok == key && j < i || len(ok) > len(key) && strings.Contains(ok, key)) {
				redundant = true
				break
			}
		}
		if !redundant {
			out = append(out, t)
		}
	}
	return out
}

// dropOrder lists classes from the first to give up when a title is too long.
var dropOrder = []class{classSeason, classUnknown, classScene, classAudience, classStyle, classFunction, classProduct, classMaterial, classAttribute}

// title puts the core product word first, then attributes and materials,
// then the describing words (shuffled per shop), then audience, season and
// scene words, and drops the least important words until the platform limit
// is met.
func (rw *Rewriter) title(tokens []token, core string, p *listinggen.Product, rules listinggen.TextRules, rng *rand.Rand) string {
	var coreTok *token
	rest := make([]token, 0, len(tokens))
	for i, t := range tokens {
		if coreTok == nil && core != "" && strings.Contains(textnorm.LowerASCII(t.text), textnorm.LowerASCII(core)) {
			coreTok = &tokens[i]
			continue
		}
		rest = append(rest, t)
	}
	if coreTok == nil && core != "" {
		coreTok = &token{text: core, class: classCore}
	}
	if coreTok == nil {
		for i, t := range rest {
			if t.class == classProduct || i == len(rest)-1 {
				coreTok = &token{text: t.text, class: classCore}
				rest = append(rest[:i:i], rest[i+1:]...)
				break
			}
		}
	}
	if coreTok == nil {
		return ""
	}
	groups := map[class][]token{}
	for _, t := range rest {
		c := t.class
		if c == classStyle || c == classFunction || c == classUnknown {
			c = classStyle // describing words share one group, in supplier order
		}
		if c == classMaterial {
			c = classAttribute
		}
		groups[c] = append(groups[c], t)
	}
	// Each shop keeps its own share of the optional words (describing,
	// audience, season, scene), so that the shops of a group do not publish
	// the same bag of words reordered: a title scorer that ignores order
	// (as platforms' duplicate checks do) would call those the same copy.
	for _, c := range []class{classProduct, classAttribute, classStyle, classAudience, classSeason, classScene} {
		groups[c] = keepShare(groups[c], rng)
	}
	// and states its own pick of the product's attribute values (facts of
	// the source, so still grounded) that the supplier's title left out.
	groups[classAttribute] = append(groups[classAttribute], rw.extraAttributes(p, tokens, rng)...)
	desc := groups[classStyle]
	rng.Shuffle(len(desc), func(i, j int) { desc[i], desc[j] = desc[j], desc[i] })
	if attrs := groups[classAttribute]; len(attrs) > 1 {
		k := rng.IntN(len(attrs))
		groups[classAttribute] = append(attrs[k:], attrs[:k]...)
	}
	// The seed also picks the order of the middle groups, so that two shops
	// differ even when a title has few describing words.
	middle := []class{classProduct, classAttribute, classStyle}
	rng.Shuffle(len(middle), func(i, j int) { middle[i], middle[j] = middle[j], middle[i] })
	ordered := []token{*coreTok}
	for _, c := range append(middle, classAudience, classSeason, classScene) {
		ordered = append(ordered, groups[c]...)
	}
	ordered = fit(ordered, rules.TitleMaxUnits)
	// Room left: add the material attribute if the title does not name it.
	if m := rw.material(p); m != "" && !rw.namesMaterial(ordered, p) && !hasClass(ordered, classMaterial) {
		if with := append(append([]token(nil), ordered[:1]...), append([]token{{text: m, class: classAttribute}}, ordered[1:]...)...); fits(with, rules.TitleMaxUnits) {
			ordered = with
		}
	}
	return join(ordered)
}

// extraAttributes picks up to two (0, 1 or 2) attribute values the title does not
// state, by the shop's seed.
func (rw *Rewriter) extraAttributes(p *listinggen.Product, tokens []token, rng *rand.Rand) []token {
	var pool []string
	for _, at := range p.Attributes {
		for _, v := range at.Values {
			if v = rw.cleaner.Clean(v); v != "" && utf8.RuneCountInString(v) <= 16 && !containsText(tokens, v) && !slices.Contains(pool, v) {
				pool = append(pool, v)
			}
		}
	}
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	var out []token
	for _, v := range pool[:min(rng.IntN(3), len(pool))] {
		out = append(out, token{text: v, class: classAttribute})
	}
	return out
}

// keepShare keeps a seed-chosen half of the tokens (rounded up, so at
// least one), in their order: enough variety between shops, and titles
// that keep most of their words.
func keepShare(ts []token, rng *rand.Rand) []token {
	if len(ts) < 2 {
		return ts
	}
	order := rng.Perm(len(ts))
	keep := map[int]bool{}
	for _, i := range order[:(len(ts)+1)/2+rng.IntN(len(ts)/2+1)/2] {
		keep[i] = true
	}
	out := make([]token, 0, len(keep))
	for i, t := range ts {
		if keep[i] {
			out = append(out, t)
		}
	}
	return out
}

var materialAttributes = []string{"材质", "面料", "材料", "主要材质"}

func (rw *Rewriter) material(p *listinggen.Product) string {
	for _, name := range materialAttributes {
		if vs := p.Attributes.Get(name); len(vs) > 0 {
			return rw.cleaner.Clean(vs[0])
		}
	}
	return ""
}

// namesMaterial reports whether the title already states any of the
// product's materials.
func (rw *Rewriter) namesMaterial(ts []token, p *listinggen.Product) bool {
	for _, name := range materialAttributes {
		for _, v := range p.Attributes.Get(name) {
			if v = rw.cleaner.Clean(v); v != "" && containsText(ts, v) {
				return true
			}
		}
	}
	return false
}

func hasClass(ts []token, c class) bool {
	for _, t := range ts {
		if t.class == c {
			return true
		}
	}
	return false
}

func containsText(ts []token, s string) bool {
	for _, t := range ts {
		if strings.Contains(textnorm.LowerASCII(t.text), textnorm.LowerASCII(s)) {
			return true
		}
	}
	return false
}

// fit drops tokens in dropOrder (the last of a class first) until the joined
// title is within maxUnits. The core word (index 0) is cut only if it alone
// is too long.
func fit(ts []token, maxUnits int) []token {
	if maxUnits <= 0 {
		return ts
	}
	for _, c := range dropOrder {
		for i := len(ts) - 1; i >= 1 && !fits(ts, maxUnits); i-- {
			if ts[i].class == c {
				ts = append(ts[:i:i], ts[i+1:]...)
			}
		}
	}
	if !fits(ts, maxUnits) {
		ts = ts[:1]
		rs := []rune(ts[0].text)
		for len(rs) > 0 && listinggen.TitleUnits(string(rs)) > maxUnits {
			rs = rs[:len(rs)-1]
		}
		ts[0].text = string(rs)
	}
	return ts
}

func fits(ts []token, maxUnits int) bool {
	return maxUnits <= 0 || listinggen.TitleUnits(join(ts)) <= maxUnits
}

// join concatenates phrases with textnorm.JoinWords: a space only where
// an ASCII letter or digit would otherwise run into the next phrase.
func join(ts []token) string {
	ws := make([]string, len(ts))
	for i, t := range ts {
		ws[i] = t.text
	}
	return textnorm.JoinWords(ws)
}

// sellingPoints states the attributes and the functional and scene words of
// the title, each within the platform's selling-point length.
func (rw *Rewriter) sellingPoints(tokens []token, p *listinggen.Product, rules listinggen.TextRules) []string {
	var points []string
	add := func(label string, values []string) {
		if rules.MaxSellingPoints > 0 && len(points) >= rules.MaxSellingPoints {
			return
		}
		for n := len(values); n > 0; n-- {
			point := label + "：" + strings.Join(values[:n], "、")
			if rules.SellingPointMaxUnits <= 0 || listinggen.TitleUnits(point) <= rules.SellingPointMaxUnits {
				points = append(points, point)
				return
			}
		}
	}
	var features, scenes []string
	for _, t := range tokens {
		switch t.class {
		case classFunction:
			features = append(features, t.text)
		case classScene:
			scenes = append(scenes, t.text)
		}
	}
	if len(features) > 0 {
		add("特点", features)
	}
	for _, at := range p.Attributes {
		var vs []string
		for _, v := range at.Values {
			if v = rw.cleaner.Clean(v); v != "" {
				vs = append(vs, v)
			}
		}
		if name := rw.cleaner.Clean(at.Name); name != "" && len(vs) > 0 {
			add(name, vs)
		}
	}
	if len(scenes) > 0 {
		add("适用场景", scenes)
	}
	if points == nil {
		points = []string{}
	}
	return points
}

// description is the new title, the attributes, and the supplier's own
// description lines, all cleaned, without lines that only repeat the
// supplier title or an attribute.
func (rw *Rewriter) description(title string, p *listinggen.Product, rules listinggen.TextRules) string {
	lines := []string{title}
	attrNames := map[string]bool{}
	if len(p.Attributes) > 0 {
		lines = append(lines, "【商品参数】")
		for _, at := range p.Attributes {
			attrNames[at.Name] = true
			line := rw.cleaner.Clean(at.Name + "：" + strings.Join(at.Values, "/"))
			lines = append(lines, line)
		}
	}
	sourceTitle := normalizeLine(rw.cleaner.Clean(p.Title))
	seen := map[string]bool{normalizeLine(title): true, sourceTitle: true}
	for _, line := range strings.Split(htmltext.PlainText(p.Description), "\n") {
		line = strings.TrimSpace(rw.cleaner.Clean(line))
		key := normalizeLine(line)
		if key == "" || seen[key] || isAttributeLine(line, attrNames) {
			continue
		}
		seen[key] = true
		lines = append(lines, line)
	}
	var b strings.Builder
	for _, line := range lines {
		if rules.DescriptionMaxRunes > 0 && utf8.RuneCountInString(b.String())+utf8.RuneCountInString(line)+1 > rules.DescriptionMaxRunes {
			break
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(line)
	}
	return b.String()
}

// isAttributeLine reports lines such as "【材质】棉" that restate an attribute.
func isAttributeLine(line string, attrNames map[string]bool) bool {
	for _, pair := range [][2]string{{"【", "】"}, {"[", "]"}} {
		if rest, ok := strings.CutPrefix(line, pair[0]); ok {
			if name, _, ok := strings.Cut(rest, pair[1]); ok && attrNames[strings.TrimSpace(name)] {
				return true
			}
		}
	}
	if name, _, ok := strings.Cut(line, "："); ok && attrNames[strings.TrimSpace(name)] {
		return true
	}
	return false
}

// normalizeLine is the key under which description lines repeat the title
// or each other: spacing and ASCII case do not count.
func normalizeLine(s string) string { return textnorm.LowerASCII(textnorm.RemoveSpace(s)) }

// keywords are the core word, then product, attribute and function phrases.
func keywords(tokens []token, core string) []string {
	out := []string{}
	seen := map[string]bool{}
	add := func(s string) {
		if k := textnorm.LowerASCII(s); s != "" && !seen[k] && len(out) < 8 {
			seen[k] = true
			out = append(out, s)
		}
	}
	add(core)
	ranked := append([]token(nil), tokens...)
	rank := map[class]int{classCore: 0, classProduct: 1, classAttribute: 2, classMaterial: 2, classFunction: 3, classStyle: 4}
	sort.SliceStable(ranked, func(i, j int) bool { return rankOf(rank, ranked[i].class) < rankOf(rank, ranked[j].class) })
	for _, t := range ranked {
		if _, ok := rank[t.class]; ok {
			add(t.text)
		}
	}
	return out
}

func rankOf(rank map[class]int, c class) int {
	if r, ok := rank[c]; ok {
		return r
	}
	return 99
}
