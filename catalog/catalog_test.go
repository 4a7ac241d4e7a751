package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

const zhCSV = "商品ID,标题,描述,类目,品牌,价格,属性,图片,备注\n" +
	"1688-1,法式碎花连衣裙 收腰,\"夏季新款\n长裙\",女装/连衣裙,,¥59.00,材质:聚酯纤维;颜色:白色，黑色,https://img.example/a.jpg|https://img.example/b.jpg,x\n" +
	"1688-2,,没有标题,女装,,12,,,\n" +
	"\n" +
	"1688-3,纯棉T恤,,男装/T恤,,abc,尺码 M,,\n" +
	"1688-4,保温杯 316不锈钢,,家居/杯子,象印,88.5 CNY,容量：500ml；材质：316不锈钢,\"https://img.example/c.jpg\nhttps://img.example/d.jpg\",\n"

func readAll(t *testing.T, r Reader) []Row {
	t.Helper()
	var rows []Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
}

// checkZH checks the rows of zhCSV whatever container or encoding carried them.
func checkZH(t *testing.T, r Reader, rowNumbers []int) {
	t.Helper()
	if hp := r.HeaderProblems(); len(hp) != 1 || hp[0].Column != "备注" {
		t.Errorf("header problems = %+v, want one for 备注", hp)
	}
	rows := readAll(t, r)
	if len(rows) != 4 {
		t.Fatalf("got %d rows, want 4 (the blank one skipped): %+v", len(rows), rows)
	}
	for i, row := range rows {
		if row.Number != rowNumbers[i] {
			t.Errorf("row %d: number %d, want %d", i, row.Number, rowNumbers[i])
		}
	}
	p := rows[0].Product
	if len(rows[0].Problems) != 0 || p.ID != "1688-1" || p.Title != "法式碎花连衣裙 收腰" || p.Description != "夏季新款\n长裙" ||
		p.Price == nil || *p.Price != (listinggen.Money{Amount: "59.00", Currency: "CNY"}) || len(p.Images) != 2 {
		t.Errorf("row 1 = %+v problems %+v", p, rows[0].Problems)
	}
	want := listinggen.Attributes{{Name: "材质", Values: []string{"聚酯纤维"}}, {Name: "颜色", Values: []string{"白色", "黑色"}}}
	if !reflect.DeepEqual(p.Attributes, want) {
		t.Errorf("attributes = %+v", p.Attributes)
	}
	if pr := rows[1].Problems; len(pr) != 1 || pr[0].Column != "标题" || pr[0].Message != "is required" {
		t.Errorf("row without title: problems %+v", pr)
	}
	cols := map[string]bool{}
	for _, pr := range rows[2].Problems {
		cols[pr.Column] = true
	}
	if !cols["价格"] || !cols["属性"] {
		t.Errorf("bad price and attribute: problems %+v", rows[2].Problems)
	}
	p = rows[3].Product
	if len(rows[3].Problems) != 0 || p.Price.Amount != "88.5" || p.Price.Currency != "CNY" || p.Brand != "象印" ||
		len(p.Images) != 2 || p.Attributes.Get("容量")[0] != "500ml" {
		t.Errorf("row 5 = %+v problems %+v", p, rows[3].Problems)
	}
}

func TestCSVEncodings(t *testing.T) {
	t.Parallel()
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(strings.ReplaceAll(zhCSV, "¥", "￥")))
	if err != nil {
		t.Fatal(err)
	}
	tsv := strings.NewReplacer(",", "\t").Replace(strings.ReplaceAll(zhCSV, "白色，黑色", "白色、黑色"))
	cases := map[string]struct {
		data []byte
		enc  string
	}{
		"utf-8":           {[]byte(zhCSV), ""},
		"utf-8 with BOM":  {append([]byte("\xEF\xBB\xBF"), zhCSV...), ""},
		"gbk detected":    {gbk, ""},
		"gbk declared":    {gbk, "gbk"},
		"tab separated":   {[]byte(tsv), ""},
		"utf-8 declared":  {append([]byte("\xEF\xBB\xBF"), zhCSV...), "utf-8"},
		"gb18030 labeled": {gbk, "GB18030"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := Open(bytes.NewReader(c.data), CSV, Options{Encoding: c.enc})
			if err != nil {
				t.Fatal(err)
			}
			checkZH(t, r, []int{2, 4, 6, 7})
		})
	}
}

func TestCSVProblems(t *testing.T) {
	t.Parallel()
	if _, err := Open(strings.NewReader("name_cn,price\nx,1\n"), CSV, Options{}); !errors.Is(err, ErrNoTitleColumn) {
		t.Errorf("no title column: err = %v", err)
	}
	if _, err := Open(strings.NewReader("title\n"), CSV, Options{Encoding: "latin1"}); err == nil {
		t.Error("unknown encoding accepted")
	}
	// A stray quote breaks one record; the next ones still import. A row
	// with an invalid byte in a UTF-8 file names the encoding option.
	data := "title,price\n\"ok one\",1\nbad \"quote,2\n\"ok two\",3\nbad\xff,4\n"
	r, err := Open(strings.NewReader(data), CSV, Options{Encoding: "utf-8"})
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, r)
	var titles []string
	var problems []Problem
	for _, row := range rows {
		if len(row.Problems) == 0 {
			titles = append(titles, row.Product.Title)
		}
		problems = append(problems, row.Problems...)
	}
	if !reflect.DeepEqual(titles, []string{"ok one", "ok two"}) {
		t.Errorf("titles = %q (problems %+v)", titles, problems)
	}
	if len(problems) != 2 || problems[0].Row != 3 || !strings.Contains(problems[1].Message, "encoding=gb18030") || problems[1].Row != 5 {
		t.Errorf("problems = %+v", problems)
	}
	long := "title\n" + strings.Repeat("长", 400) + "\nshort\n"
	r, _ = Open(strings.NewReader(long), CSV, Options{MaxRowBytes: 1000})
	rows = readAll(t, r)
	if len(rows) != 2 || len(rows[0].Problems) != 1 || !strings.Contains(rows[0].Problems[0].Message, "over the limit") || rows[1].Product.Title != "short" {
		t.Errorf("long row: %+v", rows)
	}
}

func TestJSONL(t *testing.T) {
	t.Parallel()
	data := "\xEF\xBB\xBF" + `{"id":"a","title":"连衣裙","price":{"amount":"1.00","currency":"CNY"},"attributes":{"颜色":["白","黑"]}}` + "\n" +
		"\n" +
		`{"id":"b","title":12}` + "\r\n" +
		`{"id":"c","title":"x","colour":"red"}` + "\n" +
		`{"id":"d","title":"` + strings.Repeat("x", 3000) + `"}` + "\n" +
		`{"id":"e","title":""}` + "\n" +
		`{"id":"f","title":"杯子"} {"id":"g"}` + "\n" +
		`{"id":"h","title":"last line without newline"}`
	r, err := Open(strings.NewReader(data), JSONL, Options{MaxRowBytes: 2048})
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, r)
	type got struct {
		n      int
		id     string
		column string
		ok     bool
	}
	var g []got
	for _, row := range rows {
		c := ""
		if len(row.Problems) > 0 {
			c = row.Problems[0].Column
		}
		g = append(g, got{row.Number, row.Product.ID, c, len(row.Problems) == 0})
	}
	want := []got{{1, "a", "", true}, {3, "", "title", false}, {4, "", "colour", false}, {5, "", "", false}, {6, "e", "title", false}, {7, "", "", false}, {8, "h", "", true}}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", g, want)
	}
}

func writeXLSX(t testing.TB, path string, header []any, rows [][]any) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.SetRow("A1", header); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

func TestXLSX(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "c.xlsx")
	header := []any{"商品ID", "标题", "描述", "类目", "品牌", "价格", "属性", "图片", "备注"}
	writeXLSX(t, path, header, [][]any{
		{"1688-1", "法式碎花连衣裙 收腰", "夏季新款\n长裙", "女装/连衣裙", "", 59.0, "材质:聚酯纤维;颜色:白色，黑色", "https://img.example/a.jpg|https://img.example/b.jpg", "x"},
		{"1688-2", "", "没有标题", "女装", "", 12},
		{},
		{"1688-3", "纯棉T恤", "", "男装/T恤", "", "abc", "尺码 M"},
		{"1688-4", "保温杯 316不锈钢", "", "家居/杯子", "象印", 88.5, "容量：500ml；材质：316不锈钢", "https://img.example/c.jpg\nhttps://img.example/d.jpg"},
	})
	r, err := OpenXLSX(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// A numeric 59.0 cell is stored as "59".
	checkZHXLSX(t, r)
}

func checkZHXLSX(t *testing.T, r Reader) {
	t.Helper()
	rows := readAll(t, r)
	if len(rows) != 4 || rows[0].Number != 2 || rows[3].Number != 6 {
		t.Fatalf("rows = %+v", rows)
	}
	if p := rows[0].Product; p.Price.Amount != "59" || p.Title != "法式碎花连衣裙 收腰" || len(p.Attributes) != 2 || len(p.Images) != 2 {
		t.Errorf("row 2 = %+v", p)
	}
	if len(rows[1].Problems) != 1 || rows[1].Problems[0].Column != "标题" {
		t.Errorf("row 3 problems = %+v", rows[1].Problems)
	}
	if len(rows[2].Problems) != 2 {
		t.Errorf("row 5 problems = %+v", rows[2].Problems)
	}
	if p := rows[3].Product; p.Price.Amount != "88.5" || len(rows[3].Problems) != 0 {
		t.Errorf("row 6 = %+v %+v", p, rows[3].Problems)
	}
}

func TestEnglishHeadersAndPrices(t *testing.T) {
	t.Parallel()
	r, err := Open(strings.NewReader("Product ID,Title,Price,Currency,Image URLs,Attributes (k:v;k:v)\nx,Mug,12.3456,usd,https://a.example/1.jpg,colour:red\n"), CSV, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, r)
	p := rows[0].Product
	if len(rows[0].Problems) != 0 || p.ID != "x" || *p.Price != (listinggen.Money{Amount: "12.3456", Currency: "USD"}) || p.Attributes.Get("colour")[0] != "red" {
		t.Errorf("%+v %+v", p, rows[0].Problems)
	}
	for in, want := range map[string]string{"59": "59 CNY", "￥59.9": "59.9 CNY", "USD 3": "3 USD", "59.899999999": "59.90 CNY", "1.5 元": "1.5 CNY"} {
		m, err := ParsePrice(in, "", "CNY")
		if err != nil || m.Amount+" "+m.Currency != want {
			t.Errorf("ParsePrice(%q) = %+v, %v; want %s", in, m, err, want)
		}
	}
	for _, bad := range []string{"-1", "abc", "1e13"} {
		if _, err := ParsePrice(bad, "", "CNY"); err == nil {
			t.Errorf("ParsePrice(%q) accepted", bad)
		}
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Format{"a.XLSX": XLSX, "csv": CSV, "x.jsonl": JSONL, "b.tsv": CSV} {
		if f, err := ParseFormat(in); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %v, %v", in, f, err)
		}
	}
	if _, err := ParseFormat("a.pdf"); err == nil {
		t.Error("pdf accepted")
	}
}

func ExampleParseAttributes() {
	a, _ := ParseAttributes("材质:棉;颜色:白色,黑色")
	fmt.Println(a)
	// Output: [{材质 [棉]} {颜色 [白色 黑色]}]
}
