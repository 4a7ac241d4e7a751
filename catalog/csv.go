package catalog

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

func openPlain(path string) (*os.File, error) { return os.Open(path) }

// sniffBytes is how much of a CSV file decides its encoding.
const sniffBytes = 64 << 10

// decodeText returns r as UTF-8 and the name of the encoding it was read in.
// Chinese Excel saves "CSV" in GB18030 (its GBK code page) unless the user
// picks "CSV UTF-8", which adds a BOM; "Unicode text" is UTF-16 with a BOM.
// Without a BOM the first 64 KiB decide: valid UTF-8 means UTF-8,
// anything else GB18030. A GB18030 byte beyond that window in a file that
// looked like UTF-8 shows up as a row problem naming the encoding option.
func decodeText(r io.Reader, enc string) (io.Reader, string, error) {
	br := bufio.NewReaderSize(r, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, "", err
	}
	switch strings.ToLower(strings.ReplaceAll(enc, "-", "")) {
	case "utf8":
		if bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")) {
			br.Discard(3)
		}
		return br, "utf-8", nil
	case "gb18030", "gbk", "gb2312":
		return transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), "gb18030", nil
	case "":
	default:
		return nil, "", fmt.Errorf("unknown encoding %q: want utf-8, gb18030 or gbk", enc)
	}
	switch {
	case bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")):
		br.Discard(3)
		return br, "utf-8", nil
	case bytes.HasPrefix(head, []byte("\xFF\xFE")), bytes.HasPrefix(head, []byte("\xFE\xFF")):
		dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		return transform.NewReader(br, dec), "utf-16", nil
	}
	if validPrefix(head, len(head) < sniffBytes) {
		return br, "utf-8", nil
	}
	return transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), "gb18030", nil
}

// validPrefix reports whether b is UTF-8, allowing a rune cut at the end of
// the window unless the window is the whole file.
func validPrefix(b []byte, whole bool) bool {
	if utf8.Valid(b) {
		return true
	}
	if whole {
		return false
	}
	for cut := 1; cut < utf8.UTFMax && cut <= len(b); cut++ {
		if utf8.Valid(b[:len(b)-cut]) {
			return true
		}
	}
	return false
}

type csvReader struct {
	cr       *csv.Reader
	t        *table
	encoding string
	opts     Options
	line     int
}

func newCSVReader(r io.Reader, opts Options) (*csvReader, error) {
	text, enc, err := decodeText(r, opts.Encoding)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(text, 4096)
	// Excel's "Text (tab delimited)" is the same table with tabs.
	first, _ := br.Peek(4096)
	line, _, _ := bytes.Cut(first, []byte("\n"))
	cr := csv.NewReader(br)
	if bytes.Count(line, []byte("\t")) > bytes.Count(line, []byte(",")) {
		cr.Comma = '\t'
	}
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	c := &csvReader{cr: cr, encoding: enc, opts: opts}
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrNoTitleColumn
		}
		return nil, fmt.Errorf("catalogue: header row: %w", err)
	}
	line1, _ := cr.FieldPos(0)
	if c.t, err = newTable(header, line1, opts); err != nil {
		return nil, err
	}
	return c, nil
}

// Encoding is the text encoding the file was read in.
func (c *csvReader) Encoding() string { return c.encoding }

func (c *csvReader) HeaderProblems() []Problem { return c.t.problems }

func (c *csvReader) Close() error { return nil }

func (c *csvReader) Next() (Row, error) {
	for {
		rec, err := c.cr.Read()
		line := c.line + 1
		if len(rec) > 0 || err == nil {
			line, _ = c.cr.FieldPos(0)
		}
		var pe *csv.ParseError
		switch {
		case errors.Is(err, io.EOF):
			return Row{}, io.EOF
		case errors.As(err, &pe) && !errors.Is(err, csv.ErrFieldCount):
			// A broken quote: the reader resynchronises on the next line.
			c.line = pe.Line
			return Row{Number: pe.StartLine, Problems: []Problem{{Row: pe.StartLine, Message: "malformed CSV: " + pe.Err.Error()}}}, nil
		case err != nil && !errors.Is(err, csv.ErrFieldCount):
			return Row{}, err
		}
		c.line = line
		if n := recordBytes(rec); n > c.opts.MaxRowBytes {
			return Row{Number: line, Problems: []Problem{{Row: line, Message: fmt.Sprintf("row is %d bytes, over the limit of %d", n, c.opts.MaxRowBytes)}}}, nil
		}
		row, ok := c.t.row(line, rec)
		if !ok {
			continue
		}
		if c.encoding == "utf-8" {
			for i, p := range row.Problems {
				if strings.Contains(p.Message, "UTF-8") {
					row.Problems[i].Message += " (if the file is GB18030/GBK, pass encoding=gb18030)"
				}
			}
		}
		return row, nil
	}
}

func recordBytes(rec []string) int {
	n := 0
	for _, f := range rec {
		n += len(f)
	}
	return n
}
