package catalog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// jsonlReader reads one product object per line. A line longer than
// MaxRowBytes is skipped to its end without being held in memory.
type jsonlReader struct {
	br   *bufio.Reader
	opts Options
	line int
	buf  []byte
}

func newJSONLReader(r io.Reader, opts Options) *jsonlReader {
	return &jsonlReader{br: bufio.NewReaderSize(r, 64<<10), opts: opts}
}

func (j *jsonlReader) HeaderProblems() []Problem { return nil }
func (j *jsonlReader) Close() error              { return nil }

// readLine returns the next line without its end, or tooLong when it
// exceeded the limit (the rest of it is discarded).
func (j *jsonlReader) readLine() (line []byte, tooLong bool, err error) {
	j.buf = j.buf[:0]
	for {
		chunk, err := j.br.ReadSlice('\n')
		if !tooLong {
			if len(j.buf)+len(chunk) > j.opts.MaxRowBytes+2 {
				tooLong, j.buf = true, j.buf[:0]
			} else {
				j.buf = append(j.buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && (len(j.buf) > 0 || tooLong):
			return bytes.TrimRight(j.buf, "\r\n"), tooLong, nil
		case err != nil:
			return nil, false, err
		}
		return bytes.TrimRight(j.buf, "\r\n"), tooLong, nil
	}
}

func (j *jsonlReader) Next() (Row, error) {
	for {
		line, tooLong, err := j.readLine()
		if err != nil {
			return Row{}, err
		}
		j.line++
		n := j.line
		if tooLong {
			return Row{Number: n, Problems: []Problem{{Row: n, Message: fmt.Sprintf("line is over the limit of %d bytes", j.opts.MaxRowBytes)}}}, nil
		}
		if j.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		row := Row{Number: n}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&row.Product); err != nil {
			return Row{Number: n, Problems: []Problem{{Row: n, Column: jsonField(err), Message: "invalid JSON: " + err.Error()}}}, nil
		}
		if dec.More() {
			return Row{Number: n, Problems: []Problem{{Row: n, Message: "more than one JSON value on the line"}}}, nil
		}
		finish(&row, func(f string) string { return f })
		return row, nil
	}
}

// jsonField names the field a decoding error is about, when it says.
func jsonField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
	}
	return ""
}
