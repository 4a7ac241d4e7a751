// Package prompts holds the LLM prompt templates (embedded with go:embed,
// overridable from a directory so staff can tune them without a rebuild)
// and renders them for one product, shop and platform.
//
// A template set is the files under templates/:
//
//	system.<lang>.tmpl            the system prompt: output contract, platform
//	                              limits, advertising-law bans, grounding, safety
//	user.<lang>.tmpl              the user message: shop style and product data
//	repair.<lang>.tmpl            the follow-up message of a repair round
//	platform.<platform>.<lang>.tmpl  defines "platform_name" and "platform"
//	                              (platform-specific guidance) for the system prompt
//
// Untrusted text (the supplier's product, the shop style, the problems found
// in a model's earlier output) only ever reaches a prompt as JSON inside a
// ```json fence, with every backtick escaped as \u0060 so that it can neither
// close the fence nor change the JSON it decodes to. The system prompt tells
// the model to treat fenced content as data.
//
// Version is a content hash of the whole set: it changes whenever any
// template changes, and is recorded on every listing.
package prompts

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/htmltext"
	"github.com/listinggen/listinggen/textnorm"
)

//go:embed templates/*.tmpl
var embedded embed.FS

// Languages the template set is written in. Listings for the Chinese
// marketplaces are always written in Chinese; LangFor picks the prompt
// language.
var Languages = []string{"zh", "en"}

// DescriptionPromptRunes caps the supplier description quoted in a prompt:
// descriptions beyond it are boilerplate that costs tokens and adds no facts
// the attributes do not already carry.
const DescriptionPromptRunes = 1500

// Data is what a prompt is rendered from.
type Data struct {
	Product *listinggen.Product
	// Style is the shop's style note (tone, audience); it is fenced like the
	// product because sellers type it.
	Style string
	Rules listinggen.TextRules
	// ExtraBannedTerms are words this shop never uses, on top of the
	// advertising-law list the system prompt states.
	ExtraBannedTerms []string
	// AvoidTitles are titles other shops of the group already publish for
	// this product; the model is asked for a clearly different one. They
	// are fenced like the product: earlier model output is untrusted too.
	AvoidTitles []string
}

// view is what the templates see.
type view struct {
	Rules               listinggen.TextRules
	TitleMaxHan         int
	MinSellingPoints    int
	DescriptionMaxRunes int
	ExtraBannedTerms    []string
	ProductJSON         string
	StyleJSON           string
	AvoidTitlesJSON     string
	ProblemsJSON        string
}

// Set is one parsed template set. It is immutable and safe for concurrent use.
type Set struct {
	version string
	files   map[string]string
	tmpl    map[setKey]*template.Template
}

type setKey struct {
	platform listinggen.Platform
	lang     string
}

var defaultSet = func() *Set {
	s, err := load(nil)
	if err != nil {
		panic("prompts: embedded templates: " + err.Error())
	}
	return s
}()

// Default returns the embedded template set.
func Default() *Set { return defaultSet }

// Render renders the embedded set; see Set.Render.
func Render(platform listinggen.Platform, lang string, d Data) (system, user string, err error) {
	return defaultSet.Render(platform, lang, d)
}

// Version is the embedded set's version; see Set.Version.
func Version() string { return defaultSet.Version() }

// FileNames lists the files of a template set, sorted.
func FileNames() []string {
	names, _ := fs.Glob(embedded, "templates/*.tmpl")
	for i, n := range names {
		names[i] = strings.TrimPrefix(n, "templates/")
	}
	sort.Strings(names)
	return names
}

// Load reads a template set from dir (the PROMPTS_DIR override). Each file
// of the embedded set is taken from dir when present there and from the
// embedded set otherwise, so staff can tune one prompt without copying all;
// a *.tmpl file in dir that is not part of the set is an error (a misspelt
// name would otherwise be ignored silently). Every template is parsed and
// rendered once against a sample product, so a broken override fails at
// start-up rather than on the first listing. The version covers the files
// actually used.
func Load(dir string) (*Set, error) {
	overrides := map[string]string{}
	known := map[string]bool{}
	for _, n := range FileNames() {
		known[n] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("prompts: %w", err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".tmpl") {
			continue
		}
		if !known[name] {
			errs = append(errs, fmt.Errorf("prompts: %s: unknown template file (known: %s)", filepath.Join(dir, name), strings.Join(FileNames(), ", ")))
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, fmt.Errorf("prompts: %w", err))
			continue
		}
		if !utf8.Valid(b) {
			errs = append(errs, fmt.Errorf("prompts: %s is not valid UTF-8", filepath.Join(dir, name)))
			continue
		}
		overrides[name] = string(b)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return load(overrides)
}

// WriteDefaults writes the embedded template files into dir, the starting
// point for a PROMPTS_DIR. Existing files are not overwritten.
func WriteDefaults(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, n := range FileNames() {
		b, _ := embedded.ReadFile("templates/" + n)
		f, err := os.OpenFile(filepath.Join(dir, n), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		} else if err != nil {
			return err
		}
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func load(overrides map[string]string) (*Set, error) {
	s := &Set{files: map[string]string{}, tmpl: map[setKey]*template.Template{}}
	h := sha256.New()
	for _, n := range FileNames() {
		text, ok := overrides[n]
		if !ok {
			b, err := embedded.ReadFile("templates/" + n)
			if err != nil {
				return nil, err
			}
			text = string(b)
		}
		s.files[n] = text
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", n, len(text), text)
	}
	s.version = "p-" + hex.EncodeToString(h.Sum(nil))[:12]
	var errs []error
	for _, lang := range Languages {
		for _, pl := range listinggen.Platforms {
			t, err := s.parse(pl, lang)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s.tmpl[setKey{pl, lang}] = t
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Render every combination once so that a template referring to a
	// field that does not exist fails now, not on the first listing.
	for k := range s.tmpl {
		d := Data{Product: sampleProduct(), Style: "sample", Rules: sampleRules(k.platform), ExtraBannedTerms: []string{"sample"}}
		if _, _, err := s.Render(k.platform, k.lang, d); err != nil {
			errs = append(errs, err)
		} else if _, err := s.RenderRepair(k.platform, k.lang, d, listinggen.Copy{Title: "sample"}, []string{"sample"}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

var funcs = template.FuncMap{"join": strings.Join}

func (s *Set) parse(pl listinggen.Platform, lang string) (*template.Template, error) {
	root := template.New("").Funcs(funcs).Option("missingkey=error")
	for _, part := range []string{"system", "user", "repair"} {
		name := part + "." + lang + ".tmpl"
		if _, err := root.New(part).Parse(s.files[name]); err != nil {
			return nil, fmt.Errorf("prompts: %s: %w", name, err)
		}
	}
	name := "platform." + string(pl) + "." + lang + ".tmpl"
	if _, err := root.New(name).Parse(s.files[name]); err != nil {
		return nil, fmt.Errorf("prompts: %s: %w", name, err)
	}
	for _, need := range []string{"platform", "platform_name"} {
		if root.Lookup(need) == nil {
			return nil, fmt.Errorf("prompts: %s must define template %q", name, need)
		}
	}
	return root, nil
}

// Version identifies the template set by content hash ("p-" and 12 hex
// digits). Listings record it; a new version makes new listings.
func (s *Set) Version() string { return s.version }

// File returns the text of one template file of the set.
func (s *Set) File(name string) (string, bool) {
	t, ok := s.files[name]
	return t, ok
}

// LangFor picks the prompt language: Chinese for the Chinese marketplaces
// (their listings are written in Chinese whatever the source), and the
// product's language on the generic platform when it is English.
func LangFor(platform listinggen.Platform, productLanguage string) string {
	if platform == listinggen.PlatformGeneric && strings.HasPrefix(strings.ToLower(productLanguage), "en") {
		return "en"
	}
	return "zh"
}

func (s *Set) lookup(platform listinggen.Platform, lang string) (*template.Template, error) {
	if lang == "" {
		lang = "zh"
	}
	t, ok := s.tmpl[setKey{platform, lang}]
	if !ok {
		return nil, listinggen.Errorf(listinggen.EINVALID, "no prompt for platform %q and language %q", platform, lang)
	}
	return t, nil
}

// Render renders the system prompt and the user message for one product.
func (s *Set) Render(platform listinggen.Platform, lang string, d Data) (system, user string, err error) {
	t, err := s.lookup(platform, lang)
	if err != nil {
		return "", "", err
	}
	if d.Product == nil {
		return "", "", listinggen.Errorf(listinggen.EINVALID, "prompts: no product")
	}
	v := newView(d)
	v.ProductJSON = ProductJSON(d.Product)
	if strings.TrimSpace(d.Style) != "" {
		v.StyleJSON = fenceJSON(map[string]string{"shop_style": d.Style})
	}
	if len(d.AvoidTitles) > 0 {
		v.AvoidTitlesJSON = fenceJSON(map[string][]string{"titles_in_use": d.AvoidTitles})
	}
	if system, err = execute(t, "system", v); err != nil {
		return "", "", err
	}
	if user, err = execute(t, "user", v); err != nil {
		return "", "", err
	}
	return system, user, nil
}

// RenderRepair renders the follow-up user message of a repair round. The
// conversation it continues is [system, user] from Render, then the model's
// previous answer as an assistant message (PreviousMessage), then this.
func (s *Set) RenderRepair(platform listinggen.Platform, lang string, d Data, previous listinggen.Copy, problems []string) (string, error) {
	t, err := s.lookup(platform, lang)
	if err != nil {
		return "", err
	}
	v := newView(d)
	if problems == nil {
		problems = []string{}
	}
	v.ProblemsJSON = fenceJSON(problems)
	return execute(t, "repair", v)
}

// PreviousMessage is the assistant message that stands for a model's earlier
// answer in a repair round: the copy as compact JSON, fence-safe.
func PreviousMessage(previous listinggen.Copy) string {
	return fenceJSON(previous)
}

func newView(d Data) view {
	v := view{
		Rules:               d.Rules,
		TitleMaxHan:         d.Rules.TitleMaxUnits / 2,
		MinSellingPoints:    3,
		DescriptionMaxRunes: 300,
		ExtraBannedTerms:    d.ExtraBannedTerms,
	}
	if v.Rules.MaxSellingPoints > 0 && v.Rules.MaxSellingPoints < v.MinSellingPoints {
		v.MinSellingPoints = v.Rules.MaxSellingPoints
	}
	if d.Rules.DescriptionMaxRunes > 0 && d.Rules.DescriptionMaxRunes < v.DescriptionMaxRunes {
		v.DescriptionMaxRunes = d.Rules.DescriptionMaxRunes
	}
	return v
}

func execute(t *template.Template, name string, v view) (string, error) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, v); err != nil {
		return "", fmt.Errorf("prompts: %w", err)
	}
	return b.String(), nil
}

// promptProduct is the product as a prompt quotes it: the fields that carry
// facts, without price, images or ids.
type promptProduct struct {
	Title       string                `json:"title"`
	Category    string                `json:"category,omitempty"`
	Brand       string                `json:"brand,omitempty"`
	Attributes  listinggen.Attributes `json:"attributes,omitempty"`
	Description string                `json:"description,omitempty"`
}

// ProductJSON is the product as the prompts quote it: compact JSON with the
// description turned into plain text, stripped of lines that only repeat the
// title or an attribute, and capped at DescriptionPromptRunes; fence-safe.
func ProductJSON(p *listinggen.Product) string {
	return fenceJSON(promptProduct{
		Title:       p.Title,
		Category:    p.Category,
		Brand:       p.Brand,
		Attributes:  p.Attributes,
		Description: promptDescription(p),
	})
}

// fenceJSON marshals v so that it can sit inside a ``` fence: Go's encoder
// already escapes <, >, &, U+2028 and U+2029; a backtick only ever occurs
// inside a JSON string, where \u0060 is the same character, so escaping it
// keeps the JSON's meaning and makes a fence-closing sequence impossible.
func fenceJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only strings, string slices and maps of them reach here.
		panic("prompts: " + err.Error())
	}
	return strings.ReplaceAll(string(b), "`", `\u0060`)
}

func promptDescription(p *listinggen.Product) string {
	attrNames := map[string]bool{}
	for _, at := range p.Attributes {
		attrNames[at.Name] = true
	}
	seen := map[string]bool{textnorm.Squash(p.Title): true}
	var lines []string
	n := 0
	for _, line := range strings.Split(htmltext.PlainText(p.Description), "\n") {
		key := textnorm.Squash(line)
		if key == "" || seen[key] || attributeLine(line, attrNames) {
			continue
		}
		seen[key] = true
		rs := utf8.RuneCountInString(line)
		if n+rs > DescriptionPromptRunes {
			break
		}
		n += rs + 1
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// attributeLine reports lines such as "【材质】棉" or "材质：棉" that restate
// an attribute the prompt already carries.
func attributeLine(line string, attrNames map[string]bool) bool {
	for _, pair := range [][2]string{{"【", "】"}, {"[", "]"}} {
		if rest, ok := strings.CutPrefix(line, pair[0]); ok {
			if name, _, ok := strings.Cut(rest, pair[1]); ok && attrNames[strings.TrimSpace(name)] {
				return true
			}
		}
	}
	for _, sep := range []string{"：", ":"} {
		if name, _, ok := strings.Cut(line, sep); ok && attrNames[strings.TrimSpace(name)] {
			return true
		}
	}
	return false
}

func sampleProduct() *listinggen.Product {
	return &listinggen.Product{
		Title: "sample", Category: "a/b", Brand: "b", Description: "d",
		Attributes: listinggen.Attributes{{Name: "n", Values: []string{"v"}}},
	}
}

func sampleRules(pl listinggen.Platform) listinggen.TextRules {
	return listinggen.TextRules{Platform: pl, TitleMaxUnits: 60, ForbidEmoji: true, MaxSellingPoints: 5, SellingPointMaxUnits: 40, DescriptionMaxRunes: 5000}
}
