package catalog

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/listinggen/listinggen"
)

// field is a product field a table column can hold.
type field string

const (
	fID          field = "id"
	fTitle       field = "title"
	fDescription field = "description"
	fCategory    field = "category"
	fBrand       field = "brand"
	fPrice       field = "price"
	fCurrency    field = "currency"
	fAttributes  field = "attributes"
	fImages      field = "images"
	fSource      field = "source"
	fLanguage    field = "language"
)

// headerNames is the column template: the Chinese headers a seller's sheet
// uses and their English equivalents, compared after lower-casing and
// removing spaces, underscores and a trailing "(…)" note.
var headerNames = map[string]field{
	"商品id": fID, "商品编号": fID, "货号": fID, "id": fID, "productid": fID, "offerid": fID,
	"标题": fTitle, "商品标题": fTitle, "商品名称": fTitle, "title": fTitle, "name": fTitle,
	"描述": fDescription, "商品描述": fDescription, "详情": fDescription, "description": fDescription,
	"类目": fCategory, "分类": fCategory, "商品类目": fCategory, "category": fCategory,
	"品牌": fBrand, "brand": fBrand,
	"价格": fPrice, "售价": fPrice, "price": fPrice,
	"币种": fCurrency, "货币": fCurrency, "currency": fCurrency,
	"属性": fAttributes, "商品属性": fAttributes, "attributes": fAttributes,
	"图片": fImages, "图片链接": fImages, "主图": fImages, "images": fImages, "imageurls": fImages,
	"来源": fSource, "source": fSource,
	"语言": fLanguage, "language": fLanguage,
}

func normaliseHeader(h string) string {
	h = strings.TrimPrefix(h, "\uFEFF")
	if i := strings.IndexAny(h, "(（"); i > 0 {
		h = h[:i]
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '_' || r == '-' {
			return -1
		}
		return unicode.ToLower(r)
	}, h)
}

// table maps a header row to product fields.
type table struct {
	cols     []field  // per column index; "" means ignored
	names    []string // the seller's header text per column
	byField  map[field]string
	problems []Problem
	opts     Options
}

func newTable(header []string, headerRow int, opts Options) (*table, error) {
	t := &table{cols: make([]field, len(header)), names: make([]string, len(header)), byField: map[field]string{}, opts: opts}
	for i, h := range header {
		name := strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		t.names[i] = name
		if name == "" {
			continue
		}
		f, ok := headerNames[normaliseHeader(name)]
		switch {
		case !ok:
			t.problems = append(t.problems, Problem{Row: headerRow, Column: name, Message: "unknown column, ignored (see the column template in README)"})
		case t.byField[f] != "":
			t.problems = append(t.problems, Problem{Row: headerRow, Column: name, Message: fmt.Sprintf("second column for %s (first: %s), ignored", f, t.byField[f])})
		default:
			t.cols[i] = f
			t.byField[f] = name
		}
	}
	if t.byField[fTitle] == "" {
		return nil, ErrNoTitleColumn
	}
	return t, nil
}

// column names the seller's column for a product field path.
func (t *table) column(path string) string {
	head, _, _ := strings.Cut(path, ".")
	head, _, _ = strings.Cut(head, "[")
	switch head {
	case "price":
		if strings.HasSuffix(path, "currency") && t.byField[fCurrency] != "" {
			return t.byField[fCurrency]
		}
		return t.byField[fPrice]
	}
	if name := t.byField[field(head)]; name != "" {
		return name
	}
	return path
}

// row decodes one record. Blank records return ok=false.
func (t *table) row(number int, rec []string) (Row, bool) {
	row := Row{Number: number}
	blank := true
	var price, currency string
	for i, v := range rec {
		if i >= len(t.cols) || t.cols[i] == "" {
			continue
		}
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		blank = false
		p := &row.Product
		switch t.cols[i] {
		case fID:
			p.ID = v
		case fTitle:
			p.Title = v
		case fDescription:
			p.Description = v
		case fCategory:
			p.Category = v
		case fBrand:
			p.Brand = v
		case fSource:
			p.Source = v
		case fLanguage:
			p.Language = v
		case fPrice:
			price = v
		case fCurrency:
			currency = v
		case fAttributes:
			attrs, err := ParseAttributes(v)
			if err != nil {
				row.Problems = append(row.Problems, Problem{Row: number, Column: t.names[i], Message: err.Error()})
			}
			p.Attributes = attrs
		case fImages:
			p.Images = ParseImages(v)
		}
	}
	if blank {
		return row, false
	}
	if price != "" || currency != "" {
		m, err := ParsePrice(price, currency, t.opts.DefaultCurrency)
		if err != nil {
			row.Problems = append(row.Problems, Problem{Row: number, Column: t.byField[fPrice], Message: err.Error()})
		} else {
			row.Product.Price = m
		}
	}
	finish(&row, t.column)
	return row, true
}

// ParseAttributes reads the template's attribute cell: pairs separated by
// ';' (or '；' or a line break), name and value by the first ':' or '：',
// several values by ',', '，' or '、'. "材质:棉;颜色:白色,黑色".
func ParseAttributes(s string) (listinggen.Attributes, error) {
	var out listinggen.Attributes
	var bad []string
	pairs := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '；' || r == '\n' || r == '\r' })
	for _, pair := range pairs {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		i := strings.IndexAny(pair, ":：")
		if i <= 0 {
			bad = append(bad, pair)
			continue
		}
		name := strings.TrimSpace(pair[:i])
		_, size := utf8.DecodeRuneInString(pair[i:])
		var values []string
		for _, v := range strings.FieldsFunc(pair[i+size:], func(r rune) bool { return r == ',' || r == '，' || r == '、' }) {
			if v = strings.TrimSpace(v); v != "" {
				values = append(values, v)
			}
		}
		if len(values) == 0 {
			bad = append(bad, pair)
			continue
		}
		out = append(out, listinggen.Attribute{Name: name, Values: values})
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("attribute %q is not name:value (write 材质:棉;颜色:白色,黑色)", bad[0])
	}
	return out, nil
}

// ParseImages splits an image cell on line breaks and '|'.
func ParseImages(s string) []listinggen.ImageRef {
	var out []listinggen.ImageRef
	for _, u := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == '|' }) {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, listinggen.ImageRef{URL: u})
		}
	}
	return out
}

// ParsePrice reads "59", "59.00", "¥59.00", "59.00 CNY" or "CNY 59.00";
// a number a spreadsheet stored in binary floating point (59.899999999)
// is rounded to cents.
func ParsePrice(price, currency, def string) (*listinggen.Money, error) {
	s := strings.TrimSpace(price)
	cur := strings.ToUpper(strings.TrimSpace(currency))
	for _, sym := range []string{"¥", "￥", "元"} {
		if strings.Contains(s, sym) {
			s = strings.TrimSpace(strings.ReplaceAll(s, sym, ""))
			if cur == "" {
				cur = "CNY"
			}
		}
	}
	if fields := strings.Fields(s); len(fields) == 2 {
		if isCurrency(fields[0]) {
			cur, s = strings.ToUpper(fields[0]), fields[1]
		} else if isCurrency(fields[1]) {
			cur, s = strings.ToUpper(fields[1]), fields[0]
		}
	}
	if cur == "" {
		cur = def
	}
	if s == "" {
		return nil, fmt.Errorf("price is missing (currency %s given)", cur)
	}
	if amountOK(s) {
		return &listinggen.Money{Amount: s, Currency: cur}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f >= 1e12 {
		return nil, fmt.Errorf("price %q is not an amount such as 59.00", price)
	}
	return &listinggen.Money{Amount: strconv.FormatFloat(f, 'f', 2, 64), Currency: cur}, nil
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) || r > unicode.MaxASCII {
			return false
		}
	}
	return true
}

// amountOK mirrors the product's own rule: up to 12 digits and 4 decimals.
func amountOK(s string) bool {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if len(whole) < 1 || len(whole) > 12 || (hasFrac && (len(frac) < 1 || len(frac) > 4)) {
		return false
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
