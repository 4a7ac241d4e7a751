// Package catalog reads supplier catalogues (JSONL, CSV, XLSX) into source
// products one row at a time, and writes job results back out in the same
// formats. Reading streams: memory stays flat whatever the number of rows,
// so a million-row sheet imports like a ten-row one. A bad row never stops
// the import: it comes back with its problems (row number, column, message)
// and the next row is read.
package catalog

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/listinggen/listinggen"
)

// Format is a catalogue file format.
type Format string

const (
	JSONL Format = "jsonl"
	CSV   Format = "csv"
	XLSX  Format = "xlsx"
)

// ParseFormat accepts a format name or a file name whose extension names one.
func ParseFormat(s string) (Format, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if ext := filepath.Ext(name); ext != "" {
		name = ext[1:]
	}
	switch name {
	case "jsonl", "ndjson", "json":
		return JSONL, nil
	case "csv", "tsv", "txt":
		return CSV, nil
	case "xlsx", "xlsm":
		return XLSX, nil
	}
	return "", fmt.Errorf("unknown catalogue format %q: want jsonl, csv or xlsx", s)
}

// Problem is one thing wrong with one row. Row is the 1-based line (JSONL,
// CSV) or spreadsheet row (XLSX) as the seller sees it in an editor or in
// Excel; Column is the header the seller wrote (or the JSON field).
type Problem struct {
	Row     int    `json:"row"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

// Row is one imported product. When Problems is not empty the product must
// not be processed; the row is reported with them instead.
type Row struct {
	Number   int
	Product  listinggen.Product
	Problems []Problem
}

// Reader yields rows until io.EOF. An error other than io.EOF means the
// file itself cannot be read further (not a bad row).
type Reader interface {
	Next() (Row, error)
	// HeaderProblems are problems with the file's header (unknown columns,
	// which are ignored), reported once.
	HeaderProblems() []Problem
	Close() error
}

// Options tune reading.
type Options struct {
	// Encoding of a CSV file: "" (detect: a UTF-8 BOM, UTF-16 with BOM,
	// valid UTF-8, else GB18030), "utf-8", "gb18030" or "gbk" (read as
	// GB18030, its superset).
	Encoding string
	// Sheet of an XLSX file; empty means the first sheet.
	Sheet string
	// MaxRowBytes bounds one JSONL line or CSV record (default 1 MiB); a
	// longer one is a row problem, not an out-of-memory.
	MaxRowBytes int
	// DefaultCurrency for prices written without one (default CNY).
	DefaultCurrency string
}

func (o Options) withDefaults() Options {
	if o.MaxRowBytes <= 0 {
		o.MaxRowBytes = 1 << 20
	}
	if o.DefaultCurrency == "" {
		o.DefaultCurrency = "CNY"
	}
	return o
}

// ErrNoTitleColumn says a table has no column for the product title, which
// usually means the wrong sheet or a file that is not a catalogue.
var ErrNoTitleColumn = errors.New("catalogue: no title column (标题 or title) in the header row")

// Open reads a JSONL or CSV stream. XLSX needs random access; use OpenXLSX.
func Open(r io.Reader, f Format, opts Options) (Reader, error) {
	opts = opts.withDefaults()
	switch f {
	case JSONL:
		return newJSONLReader(r, opts), nil
	case CSV:
		return newCSVReader(r, opts)
	case XLSX:
		return nil, errors.New("catalogue: XLSX needs a file: use OpenXLSX")
	}
	return nil, fmt.Errorf("catalogue: unknown format %q", f)
}

// OpenFile opens a catalogue file of any format.
func OpenFile(path string, f Format, opts Options) (Reader, error) {
	if f == XLSX {
		return OpenXLSX(path, opts)
	}
	file, err := openPlain(path)
	if err != nil {
		return nil, err
	}
	r, err := Open(file, f, opts)
	if err != nil {
		file.Close()
		return nil, err
	}
	return &closeBoth{Reader: r, c: file}, nil
}

type closeBoth struct {
	Reader
	c io.Closer
}

func (c *closeBoth) Close() error { return errors.Join(c.Reader.Close(), c.c.Close()) }

// finish validates a decoded product and turns its field errors into row
// problems, naming the column the seller used for each field.
func finish(row *Row, column func(field string) string) {
	row.Product.Normalize()
	if err := row.Product.Validate(""); err != nil {
		for _, fe := range listinggen.ErrorFields(err) {
			row.Problems = append(row.Problems, Problem{Row: row.Number, Column: column(fe.Field), Message: fe.Message})
		}
	}
}

// Products reads products that arrived decoded (POST /v1/jobs with JSON
// items): row n is items[n-1], validated like a file's rows.
func Products(ps []listinggen.Product) Reader { return &productsReader{ps: ps} }

type productsReader struct {
	ps []listinggen.Product
	i  int
}

func (p *productsReader) HeaderProblems() []Problem { return nil }
func (p *productsReader) Close() error              { return nil }

func (p *productsReader) Next() (Row, error) {
	if p.i >= len(p.ps) {
		return Row{}, io.EOF
	}
	p.i++
	row := Row{Number: p.i, Product: p.ps[p.i-1]}
	prefix := fmt.Sprintf("items[%d]", p.i-1)
	finish(&row, func(f string) string { return prefix + "." + f })
	return row, nil
}
