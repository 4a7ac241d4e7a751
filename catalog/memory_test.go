package catalog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// genCSV produces a catalogue of n rows on the fly, so the test measures the
// reader and not a buffer holding the file.
type genCSV struct {
	n, i int
	buf  []byte
}

func (g *genCSV) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		if g.i > g.n {
			return 0, io.EOF
		}
		if g.i == 0 {
			g.buf = []byte("商品ID,标题,类目,价格,属性,图片\n")
		} else {
			g.buf = fmt.Appendf(g.buf, "1688-%d,法式复古碎花连衣裙 款%d 收腰显瘦,女装/连衣裙,%d.90,\"材质:聚酯纤维;颜色:白色,黑色;尺码:S,M,L\",https://img.example/%d.jpg|https://img.example/%d-2.jpg\n", g.i, g.i, g.i%500, g.i, g.i)
		}
		g.i++
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

// heapAfterGC is the live heap: what a streaming reader must keep flat.
func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// drainMeasuring reads every row, sampling the live heap ten times, and
// returns the rows read and the growth from the first sample to the largest.
func drainMeasuring(t testing.TB, r Reader, n int) (rows int, growth uint64) {
	var first, peak uint64
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(row.Problems) > 0 {
			t.Fatalf("row %d: %+v", row.Number, row.Problems)
		}
		rows++
		if rows%(n/10) == 0 {
			h := heapAfterGC()
			if first == 0 {
				first = h
			}
			peak = max(peak, h)
		}
	}
	return rows, peak - first
}

// TestCSVMillionRowsBoundedMemory imports a 1,000,000-row catalogue and
// checks that the live heap does not grow with it (a reader that kept rows
// would grow by hundreds of MB).
func TestCSVMillionRowsBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1M rows")
	}
	n := 1_000_000
	if raceEnabled {
		n = 50_000
	}
	r, err := Open(&genCSV{n: n}, CSV, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows, growth := drainMeasuring(t, r, n)
	if rows != n {
		t.Fatalf("read %d rows, want %d", rows, n)
	}
	t.Logf("%d rows, live heap growth %d KiB", rows, growth>>10)
	if growth > 4<<20 {
		t.Errorf("live heap grew by %d KiB over %d rows: not streaming", growth>>10, n)
	}
}

// xlsxFixture writes an n-row sheet once per size into dir.
func xlsxFixture(t testing.TB, dir string, n int) string {
	path := filepath.Join(dir, "rows-"+strconv.Itoa(n)+".xlsx")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	rows := make([][]any, 0, n)
	for i := 1; i <= n; i++ {
		rows = append(rows, []any{fmt.Sprintf("1688-%d", i), fmt.Sprintf("法式复古碎花连衣裙 款%d", i), "女装/连衣裙", float64(i%500) + 0.9, "材质:聚酯纤维;颜色:白色,黑色"})
	}
	writeXLSX(t, path, []any{"商品ID", "标题", "类目", "价格", "属性"}, rows)
	return path
}

// TestXLSXBoundedMemory reads a sheet whose worksheet part is larger than
// the unzip limit (lowered here so that the test stays quick under -race),
// which excelize then streams from a temporary file.
func TestXLSXBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large sheet")
	}
	defer func(old int64) { xlsxUnzipLimit = old }(xlsxUnzipLimit)
	xlsxUnzipLimit = 512 << 10
	const n = 15_000
	path := xlsxFixture(t, t.TempDir(), n)
	r, err := OpenXLSX(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows, growth := drainMeasuring(t, r, n)
	if rows != n {
		t.Fatalf("read %d rows, want %d", rows, n)
	}
	t.Logf("%d rows, live heap growth %d KiB", rows, growth>>10)
	if growth > 4<<20 {
		t.Errorf("live heap grew by %d KiB over %d rows: not streaming", growth>>10, n)
	}
}

// BenchmarkImport reports rows/s for CSV and XLSX imports of 100k rows.
func BenchmarkImport(b *testing.B) {
	const n = 100_000
	b.Run("csv", func(b *testing.B) {
		for b.Loop() {
			r, _ := Open(&genCSV{n: n}, CSV, Options{})
			drainCount(b, r)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("xlsx", func(b *testing.B) {
		path := xlsxFixture(b, b.TempDir(), n)
		b.ResetTimer()
		for b.Loop() {
			r, err := OpenXLSX(path, Options{})
			if err != nil {
				b.Fatal(err)
			}
			drainCount(b, r)
			r.Close()
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

func drainCount(b testing.TB, r Reader) {
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
