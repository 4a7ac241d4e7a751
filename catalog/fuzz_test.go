package catalog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// drain reads every row of r (at most limit) and checks the importer's
// promises about each: a row without problems holds a product that passes
// validation, all its text is valid UTF-8, and a row with problems names
// at least a message. It never panics: that is the fuzzer's other check.
func drain(t *testing.T, r Reader, limit int) {
	t.Helper()
	defer r.Close()
	for n := 0; n < limit; n++ {
		row, err := r.Next()
		if err != nil {
			return // io.EOF, or a file that cannot be read further: an error, not a crash
		}
		if len(row.Problems) > 0 {
			for _, p := range row.Problems {
				if p.Message == "" {
					t.Fatalf("row %d: a problem without a message: %+v", row.Number, p)
				}
			}
			continue
		}
		p := row.Product
		if err := p.Validate(""); err != nil {
			t.Fatalf("row %d passed import but not validation: %v (%+v)", row.Number, err, p)
		}
		for _, s := range []string{p.ID, p.Title, p.Description, p.Category, p.Brand} {
			if !utf8.ValidString(s) {
				t.Fatalf("row %d: invalid UTF-8 %q", row.Number, s)
			}
		}
		for _, a := range p.Attributes {
			for _, v := range append([]string{a.Name}, a.Values...) {
				if !utf8.ValidString(v) {
					t.Fatalf("row %d: invalid UTF-8 in attribute %q", row.Number, v)
				}
			}
		}
	}
}

// FuzzCSVImport feeds arbitrary bytes to the CSV importer, with its
// encoding detection (UTF-8, BOMs, UTF-16, GB18030).
func FuzzCSVImport(f *testing.F) {
	f.Add([]byte("标题,价格,属性\n连衣裙,¥59.00,材质:棉;颜色:白色,黑色\n"))
	f.Add([]byte("\xef\xbb\xbftitle,price\nT-shirt,USD 3\n,\n"))
	f.Add([]byte("\xff\xfet\x00i\x00t\x00l\x00e\x00\n\x00a\x00\n\x00"))
	f.Add([]byte("\xb1\xea\xcc\xe2,\xbc\xdb\xb8\xf1\n\xc1\xac\xd2\xc2\xc8\xb9,59\n")) // GBK 标题,价格 / 连衣裙
	f.Add([]byte("标题\t图片\n杯子\thttps://img.example/a.jpg|https://img.example/b.jpg\n\"broken\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data), CSV, Options{MaxRowBytes: 4 << 10})
		if err != nil {
			return
		}
		drain(t, r, 1000)
	})
}

// FuzzJSONLImport does the same for JSON lines.
func FuzzJSONLImport(f *testing.F) {
	f.Add([]byte(`{"id":"1","title":"连衣裙","attributes":{"颜色":["白色","黑色"]},"price":{"amount":"59","currency":"CNY"}}` + "\n{}\n"))
	f.Add([]byte("{\"title\":\"a\\u0000b\"}\n[1,2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data), JSONL, Options{MaxRowBytes: 4 << 10})
		if err != nil {
			return
		}
		drain(t, r, 1000)
	})
}

// FuzzXLSXImport feeds arbitrary bytes, as a file, to the XLSX importer
// (a zip of XML parts), seeded with a real sheet written by this package.
func FuzzXLSXImport(f *testing.F) {
	seed := filepath.Join(f.TempDir(), "seed.xlsx")
	writeXLSX(f, seed, []any{"商品ID", "标题", "价格", "属性", "图片"}, [][]any{
		{"1", "连衣裙", 59.5, "材质:棉;颜色:白色,黑色", "https://img.example/a.jpg\nhttps://img.example/b.jpg"},
		{"2", "", "abc", "尺码 M", ""},
	})
	sheet, err := os.ReadFile(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sheet)
	f.Add([]byte("PK\x03\x04 not really a zip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "c.xlsx")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := OpenXLSX(path, Options{MaxRowBytes: 4 << 10})
		if err != nil {
			return
		}
		drain(t, r, 1000)
	})
}
