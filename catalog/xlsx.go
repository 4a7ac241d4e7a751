package catalog

import (
	"errors"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// xlsxUnzipLimit is the largest worksheet or shared-string part excelize
// keeps in memory; larger parts are unzipped to a temporary file and read
// from there, which is what keeps a million-row sheet in bounded memory.
var xlsxUnzipLimit int64 = 8 << 20

type xlsxReader struct {
	f    *excelize.File
	rows *excelize.Rows
	t    *table
	n    int
}

// OpenXLSX reads the first sheet (or Options.Sheet) of an XLSX file with
// excelize's streaming row reader. The header is the first non-empty row.
func OpenXLSX(path string, opts Options) (Reader, error) {
	opts = opts.withDefaults()
	f, err := excelize.OpenFile(path, excelize.Options{UnzipXMLSizeLimit: xlsxUnzipLimit})
	if err != nil {
		return nil, fmt.Errorf("catalogue: not a readable XLSX file: %w", err)
	}
	sheet := opts.Sheet
	if sheet == "" {
		sheet = f.GetSheetName(f.GetActiveSheetIndex())
		if list := f.GetSheetList(); len(list) > 0 {
			sheet = list[0]
		}
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("catalogue: sheet %q: %w", sheet, err)
	}
	x := &xlsxReader{f: f, rows: rows}
	for {
		rec, err := x.next()
		if err != nil {
			x.Close()
			if errors.Is(err, io.EOF) {
				return nil, ErrNoTitleColumn
			}
			return nil, err
		}
		if len(rec) == 0 {
			continue
		}
		if x.t, err = newTable(rec, x.n, opts); err != nil {
			x.Close()
			return nil, err
		}
		return x, nil
	}
}

// next returns the cells of the next spreadsheet row, raw (a number as
// stored, not as the cell's display format would round it).
func (x *xlsxReader) next() ([]string, error) {
	if !x.rows.Next() {
		if err := x.rows.Error(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	x.n++
	rec, err := x.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, err
	}
	for len(rec) > 0 && rec[len(rec)-1] == "" {
		rec = rec[:len(rec)-1]
	}
	return rec, nil
}

func (x *xlsxReader) HeaderProblems() []Problem { return x.t.problems }

func (x *xlsxReader) Next() (Row, error) {
	for {
		rec, err := x.next()
		if err != nil {
			return Row{}, err
		}
		if row, ok := x.t.row(x.n, rec); ok {
			return row, nil
		}
	}
}

func (x *xlsxReader) Close() error {
	return errors.Join(x.rows.Close(), x.f.Close())
}
