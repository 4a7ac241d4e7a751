package listinggen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Limits on a source product. They bound the work one product can cause and
// are far above what any marketplace accepts.
const (
	MaxTitleRunes       = 500
	MaxDescriptionRunes = 50_000
	MaxAttributes       = 100
	MaxAttributeValues  = 100
	MaxImages           = 50
	MaxShortTextRunes   = 200
)

// Product is a source product as a supplier publishes it (typically a 1688
// offer). It is the input of the pipeline and is never modified by it.
type Product struct {
	ID          string     `json:"id"`
	Source      string     `json:"source,omitempty"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Category    string     `json:"category,omitempty"`
	Brand       string     `json:"brand,omitempty"`
	Price       *Money     `json:"price,omitempty"`
	Attributes  Attributes `json:"attributes,omitempty"`
	Images      []ImageRef `json:"images,omitempty"`
	Language    string     `json:"language,omitempty"`
}

// Money is a decimal amount kept as a string so that prices never pass
// through binary floating point.
type Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// ImageRef points at a source image: an http(s) URL, or a demo: URL naming
// one of the binary's demo photos (DemoImageScheme).
type ImageRef struct {
	URL string `json:"url"`
}

// Attribute is one named product attribute with one or more values.
// Suppliers send values as a string or a list; both decode to Values.
type Attribute struct {
	Name   string
	Values []string
}

// Attributes keeps the supplier's attribute order, which usually puts the
// most important attribute (material, capacity) first.
type Attributes []Attribute

// Get returns the values of the named attribute.
func (a Attributes) Get(name string) []string {
	for _, at := range a {
		if at.Name == name {
			return at.Values
		}
	}
	return nil
}

// UnmarshalJSON decodes an object whose values are strings or string lists,
// keeping key order.
func (a *Attributes) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		*a = nil
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("attributes must be an object")
	}
	var out Attributes
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		var values []string
		var one string
		if err := json.Unmarshal(raw, &one); err == nil {
			values = []string{one}
		} else if err := json.Unmarshal(raw, &values); err != nil {
			return fmt.Errorf("attribute %q must be a string or a list of strings", name)
		}
		out = append(out, Attribute{Name: name, Values: values})
	}
	*a = out
	return nil
}

// MarshalJSON writes a single value as a string and several as a list, in order.
func (a Attributes) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, at := range a {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(at.Name)
		buf.Write(k)
		buf.WriteByte(':')
		var v []byte
		if len(at.Values) == 1 {
			v, _ = json.Marshal(at.Values[0])
		} else {
			v, _ = json.Marshal(at.Values)
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

var amountPattern = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,4})?$`)
var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// Validate reports every problem with p at once, with field paths prefixed
// by prefix (for example "product").
func (p *Product) Validate(prefix string) error {
	f := func(name string) string { return joinField(prefix, name) }
	var errs []FieldError
	errs = append(errs, CheckText(f("id"), p.ID, MaxShortTextRunes, false)...)
	errs = append(errs, CheckText(f("source"), p.Source, MaxShortTextRunes, false)...)
	errs = append(errs, requireText(f("title"), p.Title, MaxTitleRunes, false)...)
	errs = append(errs, CheckText(f("description"), p.Description, MaxDescriptionRunes, true)...)
	errs = append(errs, CheckText(f("category"), p.Category, MaxShortTextRunes, false)...)
	errs = append(errs, CheckText(f("brand"), p.Brand, MaxShortTextRunes, false)...)
	errs = append(errs, CheckText(f("language"), p.Language, 20, false)...)
	if p.Price != nil {
		if !amountPattern.MatchString(p.Price.Amount) {
			errs = append(errs, FieldError{f("price.amount"), "must be a decimal amount such as 59.00"})
		}
		if !currencyPattern.MatchString(p.Price.Currency) {
			errs = append(errs, FieldError{f("price.currency"), "must be an ISO 4217 code such as CNY"})
		}
	}
	if len(p.Attributes) > MaxAttributes {
		errs = append(errs, FieldError{f("attributes"), fmt.Sprintf("has more than %d attributes", MaxAttributes)})
	}
	for _, at := range p.Attributes {
		name := f("attributes." + at.Name)
		errs = append(errs, requireText(name, at.Name, MaxShortTextRunes, false)...)
		if len(at.Values) > MaxAttributeValues {
			errs = append(errs, FieldError{name, fmt.Sprintf("has more than %d values", MaxAttributeValues)})
		}
		for _, v := range at.Values {
			errs = append(errs, CheckText(name, v, MaxShortTextRunes, false)...)
		}
	}
	if len(p.Images) > MaxImages {
		errs = append(errs, FieldError{f("images"), fmt.Sprintf("has more than %d images", MaxImages)})
	}
	for i, img := range p.Images {
		name := f(fmt.Sprintf("images[%d].url", i))
		if fe := CheckText(name, img.URL, 2048, false); fe != nil {
			errs = append(errs, fe...)
			continue
		}
		if msg := checkImageURL(img.URL); msg != "" {
			errs = append(errs, FieldError{name, msg})
		}
	}
	return Invalid(errs)
}

// Normalize trims surrounding white space from the text fields. It changes
// nothing a person would call content, so it is not a "silent fix".
func (p *Product) Normalize() {
	p.ID = strings.TrimSpace(p.ID)
	p.Title = strings.TrimSpace(p.Title)
	p.Description = strings.TrimSpace(p.Description)
	p.Category = strings.TrimSpace(p.Category)
	p.Brand = strings.TrimSpace(p.Brand)
	// A new slice: the product is passed by value, and its attributes must
	// not change under another goroutine holding the same backing array.
	if p.Attributes != nil {
		attrs := make(Attributes, len(p.Attributes))
		for i, at := range p.Attributes {
			attrs[i] = Attribute{Name: strings.TrimSpace(at.Name), Values: make([]string, len(at.Values))}
			for j, v := range at.Values {
				attrs[i].Values[j] = strings.TrimSpace(v)
			}
		}
		p.Attributes = attrs
	}
	if p.Language == "" {
		p.Language = "zh-CN"
	}
}

// ContentHash identifies the product's content: two submissions with the same
// content produce the same hash whatever their key order, so re-running an
// item is idempotent.
func (p *Product) ContentHash() string {
	c := *p
	c.Attributes = append(Attributes(nil), p.Attributes...)
	sort.SliceStable(c.Attributes, func(i, j int) bool { return c.Attributes[i].Name < c.Attributes[j].Name })
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// CategoryLeaf returns the most specific part of a "女装/连衣裙" style path,
// which is usually the core product word.
func (p *Product) CategoryLeaf() string {
	parts := strings.FieldsFunc(p.Category, func(r rune) bool { return strings.ContainsRune("/>›»》|", r) })
	if len(parts) == 0 {
		return ""
	}
	return strings.TrimSpace(parts[len(parts)-1])
}

func joinField(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
