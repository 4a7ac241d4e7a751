package images

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/listinggen/listinggen/internal/benchinfo"
)

// TestMain prints the machine before any benchmark.
func TestMain(m *testing.M) { os.Exit(benchinfo.Run(m)) }

// benchPhotos returns the JPEGs the image benchmarks use, by name and
// their bytes: those in testdata/images/large, or in the directory
// LISTINGGEN_BENCH_PHOTOS names (scripts/bench-images.sh PHOTOS=…, to
// measure other photos, such as the same ones with 4:2:0 chroma).
func benchPhotos(b *testing.B) (files []string, data [][]byte) {
	dir := os.Getenv("LISTINGGEN_BENCH_PHOTOS")
	if dir == "" {
		dir = "../testdata/images/large"
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no photos in %s", dir)
	}
	data = make([][]byte, len(files))
	for i, f := range files {
		if data[i], err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
	}
	return files, data
}

// mainVariant is the Douyin main image as vipsthumbnail is asked for it.
func mainVariant() ([]VariantSpec, RenderConfig) {
	c := DefaultRenderConfig()
	c.Quality = 85
	return []VariantSpec{{Name: VariantMain, Width: 800, Height: 800, Fit: FitPad, MaxBytes: 1 << 20}}, c
}

// BenchmarkMainVariant makes the Douyin main image (800×800, JPEG q85, pad
// on white) from each large photo: decode, resize, encode — what
// `vipsthumbnail -s 800x800 -o %s.jpg[Q=85]` does. scripts/bench-images.sh
// runs both in the same run and prints the ratio. Besides the wall-clock
// time it reports the process's CPU time per op (cpu-ns/op), which other
// load on a shared machine disturbs far less.
func BenchmarkMainVariant(b *testing.B) {
	files, data := benchPhotos(b)
	vs, c := mainVariant()
	var total int64
	for _, d := range data {
		total += int64(len(d))
	}
	run := func(b *testing.B, set [][]byte) {
		cpu := benchinfo.CPUTime()
		defer func() { b.ReportMetric(float64(benchinfo.CPUTime()-cpu)/float64(b.N), "cpu-ns/op") }()
		for b.Loop() {
			for _, d := range set {
				src, err := DecodeFor(d, DefaultLimits(), vs)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Render(src, vs, c); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	// All photos per op: the unit vipsthumbnail is timed on.
	b.Run("all", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		run(b, data)
		b.ReportMetric(float64(len(data))*float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
	for i, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".jpg")
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data[i])))
			run(b, data[i:i+1])
		})
	}
}

// BenchmarkMainVariantStages times the stages of BenchmarkMainVariant
// apart, plus the perceptual hash the pipeline also makes, in CPU time per
// image: decode (shrink-on-load included), render (resample and pad into
// the 4:2:0 planes), encode, hash. It is the profile of one variant end to
// end that says which stage to work on next.
func BenchmarkMainVariantStages(b *testing.B) {
	_, data := benchPhotos(b)
	vs, c := mainVariant()
	var stages [4]time.Duration
	var buf []byte
	for b.Loop() {
		for _, d := range data {
			t0 := benchinfo.CPUTime()
			src, err := DecodeFor(d, DefaultLimits(), vs)
			if err != nil {
				b.Fatal(err)
			}
			t1 := benchinfo.CPUTime()
			cache := &shrinkCache{}
			img, err := src.render(vs[0], c, cache)
			if err != nil {
				b.Fatal(err)
			}
			t2 := benchinfo.CPUTime()
			if _, _, err := encodeJPEG(&buf, img, vs[0], c); err != nil {
				b.Fatal(err)
			}
			t3 := benchinfo.CPUTime()
			src.PHash()
			t4 := benchinfo.CPUTime()
			releaseYCbCr(img)
			cache.release()
			for i, d := range [4]time.Duration{t1 - t0, t2 - t1, t3 - t2, t4 - t3} {
				stages[i] += d
			}
		}
	}
	n := float64(b.N * len(data))
	for i, name := range []string{"decode", "render", "encode", "phash"} {
		b.ReportMetric(float64(stages[i])/1e6/n, name+"-cpu-ms/image")
	}
}
