package catalog

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/listinggen/listinggen"
	"github.com/xuri/excelize/v2"
)

// ResultWriter writes job items, one per call, in (row, shop) order.
type ResultWriter interface {
	Write(it *listinggen.JobItem) error
	// Close flushes; for XLSX it writes the whole workbook, whose rows
	// excelize spilled to a temporary file as they came.
	Close() error
}

// NewResultWriter writes JSONL (one JobItem object per line, the listing
// included), CSV (UTF-8 with a BOM so that Excel opens it as such) or XLSX.
func NewResultWriter(w io.Writer, f Format) (ResultWriter, error) {
	switch f {
	case JSONL:
		bw := bufio.NewWriter(w)
		return &jsonlWriter{bw: bw, enc: json.NewEncoder(bw)}, nil
	case CSV:
		bw := bufio.NewWriter(w)
		bw.WriteString("\uFEFF")
		cw := csv.NewWriter(bw)
		return &csvWriter{bw: bw, cw: cw}, cw.Write(resultHeader)
	case XLSX:
		return newXLSXWriter(w)
	}
	return nil, fmt.Errorf("unknown results format %q: want jsonl, csv or xlsx", f)
}

type jsonlWriter struct {
	bw  *bufio.Writer
	enc *json.Encoder
}

func (j *jsonlWriter) Write(it *listinggen.JobItem) error { return j.enc.Encode(it) }
func (j *jsonlWriter) Close() error                       { return j.bw.Flush() }

// resultHeader is the table the CSV and XLSX results use: the seller's row
// and product, then the generated copy, then the checks and any error.
var resultHeader = []string{
	"行号 row", "商品ID product_id", "店铺ID shop_id", "状态 state", "错误 error",
	"标题 title", "卖点 selling_points", "描述 description", "关键词 keywords",
	"审核 listing_status", "审核原因 review_reasons", "查重 dedup", "listing_id",
	"tokens", "cost_usd", "原标题 source_title",
}

func resultRecord(it *listinggen.JobItem) []string {
	rec := []string{
		strconv.Itoa(it.Row), it.Product.ID, it.ShopID, string(it.State), it.Error,
		"", "", "", "", "", "", "", it.ListingID,
		strconv.FormatInt(it.PromptTokens+it.CompletionTokens, 10), strconv.FormatFloat(it.CostUSD, 'f', -1, 64), it.Product.Title,
	}
	if len(it.Problems) > 0 && it.State == listinggen.ItemInvalid {
		var ps []string
		for _, p := range it.Problems {
			ps = append(ps, p.Field+": "+p.Message)
		}
		rec[4] = strings.Join(ps, "\n")
	}
	if l := it.Listing; l != nil {
		rec[5] = l.Copy.Title
		rec[6] = strings.Join(l.Copy.SellingPoints, "\n")
		rec[7] = l.Copy.Description
		rec[8] = strings.Join(l.Copy.Keywords, ",")
		rec[9] = string(l.Status)
		rec[10] = strings.Join(l.ReviewReasons, "\n")
		rec[11] = string(l.Dedup.Verdict)
	}
	return rec
}

type csvWriter struct {
	bw *bufio.Writer
	cw *csv.Writer
}

// Write neutralises cells a spreadsheet would run as a formula (a leading
// = + - @), the CSV-injection guard OWASP describes; XLSX cells are typed
// as strings and need no such guard.
func (c *csvWriter) Write(it *listinggen.JobItem) error {
	rec := resultRecord(it)
	for i, v := range rec {
		if v != "" && strings.ContainsRune("=+-@", rune(v[0])) && i != 0 {
			rec[i] = "'" + v
		}
	}
	return c.cw.Write(rec)
}

func (c *csvWriter) Close() error {
	c.cw.Flush()
	return errors.Join(c.cw.Error(), c.bw.Flush())
}

// maxCellRunes is Excel's limit on one cell's text.
const maxCellRunes = 32767

type xlsxWriter struct {
	w   io.Writer
	f   *excelize.File
	sw  *excelize.StreamWriter
	row int
}

func newXLSXWriter(w io.Writer) (*xlsxWriter, error) {
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		f.Close()
		return nil, err
	}
	x := &xlsxWriter{w: w, f: f, sw: sw}
	return x, x.writeRow(resultHeader)
}

func (x *xlsxWriter) writeRow(rec []string) error {
	x.row++
	cells := make([]any, len(rec))
	for i, v := range rec {
		if r := []rune(v); len(r) > maxCellRunes {
			v = string(r[:maxCellRunes-1]) + "…"
		}
		cells[i] = v
	}
	cell, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, cells)
}

func (x *xlsxWriter) Write(it *listinggen.JobItem) error {
	if x.row >= excelize.TotalRows {
		return fmt.Errorf("results have more than %d rows, the XLSX limit: export as jsonl or csv", excelize.TotalRows-1)
	}
	return x.writeRow(resultRecord(it))
}

func (x *xlsxWriter) Close() error {
	err := x.sw.Flush()
	if err == nil {
		_, err = x.f.WriteTo(x.w)
	}
	return errors.Join(err, x.f.Close())
}
