package listinggen_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/images"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

var update = flag.Bool("update", false, "remake demo/photos from testdata/images")

// demoCrop is one demo photo: a rectangle of a source photograph, given as
// fractions of its width and height so that it does not depend on the
// source's resolution.
type demoCrop struct {
	name           string
	source         string // under testdata/images
	x0, y0, x1, y1 float64
}

// demoCrops are the demo photos and where each comes from. Each product of
// the demo catalogue has photos of its own, except the two offers of one
// motorcycle model (demoSharedPhotos); crops of one photograph are far
// enough apart that the dedup check never takes them for one image.
var demoCrops = []demoCrop{
	{"coffee-cup", "large/coffee-3000x2000.jpg", 100.0 / 600, 0, 500.0 / 600, 1},
	{"coffee-spoon", "large/coffee-3000x2000.jpg", 290.0 / 600, 50.0 / 400, 460.0 / 600, 340.0 / 400},
	{"coffee-crema", "large/coffee-3000x2000.jpg", 215.0 / 600, 92.0 / 400, 365.0 / 600, 192.0 / 400},
	{"coffee-saucer", "large/coffee-3000x2000.jpg", 60.0 / 600, 240.0 / 400, 200.0 / 600, 390.0 / 400},
	{"wood-grain", "large/coffee-3000x2000.jpg", 470.0 / 600, 0, 1, 130.0 / 400},
	{"cat-face", "large/chelsea-1500.jpg", 75.0 / 451, 0, 375.0 / 451, 1},
	{"cat-eyes", "large/chelsea-1500.jpg", 110.0 / 451, 60.0 / 300, 370.0 / 451, 190.0 / 300},
	{"cat-nose", "large/chelsea-1500.jpg", 180.0 / 451, 130.0 / 300, 330.0 / 451, 280.0 / 300},
	{"cat-fur", "large/chelsea-1500.jpg", 0, 0, 130.0 / 451, 130.0 / 300},
	{"astronaut-suit", "large/astronaut-1500.jpg", 0, 0, 1, 1},
	{"space-shuttle", "large/astronaut-1500.jpg", 345.0 / 512, 0, 475.0 / 512, 290.0 / 512},
	{"space-helmet", "large/astronaut-1500.jpg", 270.0 / 512, 335.0 / 512, 1, 1},
	{"rocket-pad", "large/rocket-1500.jpg", 107.0 / 640, 0, 533.0 / 640, 1},
	{"rocket-nose", "large/rocket-1500.jpg", 230.0 / 640, 110.0 / 427, 410.0 / 640, 290.0 / 427},
	{"stars-1", "large/hubble_deep_field-1500.jpg", 0, 0, 0.33, 0.378},
	{"stars-2", "large/hubble_deep_field-1500.jpg", 0.335, 0, 0.665, 0.378},
	{"stars-3", "large/hubble_deep_field-1500.jpg", 0.67, 0, 1, 0.378},
	{"stars-4", "large/hubble_deep_field-1500.jpg", 0, 0.5, 0.33, 0.878},
	{"stars-5", "large/hubble_deep_field-1500.jpg", 0.335, 0.5, 0.665, 0.878},
	{"stars-6", "large/hubble_deep_field-1500.jpg", 0.67, 0.5, 1, 0.878},
	{"moto-left", "large/motorcycle_left-1500.jpg", 0, 0, 1, 1},
	{"moto-right", "motorcycle_right.png", 0, 0, 1, 1},
	{"moto-engine", "large/motorcycle_left-1500.jpg", 300.0 / 741, 200.0 / 500, 500.0 / 741, 380.0 / 500},
	{"moto-headlight", "large/motorcycle_left-1500.jpg", 450.0 / 741, 70.0 / 500, 650.0 / 741, 260.0 / 500},
	{"moto-seat", "large/motorcycle_left-1500.jpg", 140.0 / 741, 140.0 / 500, 370.0 / 741, 270.0 / 500},
	{"moto-wheel", "large/motorcycle_left-1500.jpg", 505.0 / 741, 245.0 / 500, 695.0 / 741, 455.0 / 500},
	{"moto-boxes", "large/motorcycle_left-1500.jpg", 590.0 / 741, 130.0 / 500, 1, 300.0 / 500},
	{"moto-shelf", "large/motorcycle_left-1500.jpg", 340.0 / 741, 0, 1, 120.0 / 500},
	{"moto-bench", "large/motorcycle_left-1500.jpg", 30.0 / 741, 95.0 / 500, 250.0 / 741, 195.0 / 500},
}

// demoSharedPhotos are the photos that stand for one item in two offers:
// the motorcycle photographed as a stereo pair, which both suppliers use.
var demoSharedPhotos = [][2]string{{"moto-left", "moto-right"}}

const (
	demoPhotoSide    = 800     // the longer side of every demo photo
	demoPhotoQuality = 85      // JPEG quality
	demoPhotosBudget = 3 << 20 // the photos' total size: the repository stays small
)

// TestDemoPhotos checks the embedded demo photos against demoCrops: every
// crop is there at its size, nothing else is, and together they stay
// within budget. With -update it remakes them from testdata/images.
func TestDemoPhotos(t *testing.T) {
	if *update {
		for _, c := range demoCrops {
			writeDemoPhoto(t, c)
		}
		// The test binary embeds the photos it was built with.
		t.Log("remade demo/photos; run the test again to check them")
		return
	}
	photos := listinggen.DemoPhotos()
	entries, err := fs.ReadDir(photos, ".")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]demoCrop{}
	for _, c := range demoCrops {
		want[c.name+".jpg"] = c
	}
	total := 0
	for _, e := range entries {
		c, ok := want[e.Name()]
		if !ok {
			t.Errorf("demo/photos/%s is not in demoCrops", e.Name())
			continue
		}
		delete(want, e.Name())
		data, err := fs.ReadFile(photos, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		total += len(data)
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || format != "jpeg" {
			t.Errorf("%s: %s, %v; want a JPEG", e.Name(), format, err)
			continue
		}
		if w, h := demoPhotoSize(t, c); cfg.Width != w || cfg.Height != h {
			t.Errorf("%s is %d×%d, its crop makes %d×%d: run go test -run TestDemoPhotos -update", e.Name(), cfg.Width, cfg.Height, w, h)
		}
	}
	for name := range want {
		t.Errorf("demo/photos/%s is missing: run go test -run TestDemoPhotos -update", name)
	}
	if total > demoPhotosBudget {
		t.Errorf("the demo photos take %d bytes, more than the budget of %d", total, demoPhotosBudget)
	}
}

// demoSource decodes a source photograph and returns its crop rectangle.
func demoSource(t *testing.T, c demoCrop) (image.Image, image.Rectangle) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "images", c.source))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", c.source, err)
	}
	b := src.Bounds()
	at := func(f float64, n int) int { return int(f*float64(n) + 0.5) }
	return src, image.Rect(at(c.x0, b.Dx()), at(c.y0, b.Dy()), at(c.x1, b.Dx()), at(c.y1, b.Dy())).Add(b.Min)
}

// demoPhotoSize is the size a crop is saved at: its longer side
// demoPhotoSide, its aspect ratio kept.
func demoPhotoSize(t *testing.T, c demoCrop) (int, int) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "images", c.source))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", c.source, err)
	}
	w, h := (c.x1-c.x0)*float64(cfg.Width), (c.y1-c.y0)*float64(cfg.Height)
	if w >= h {
		return demoPhotoSide, int(demoPhotoSide*h/w + 0.5)
	}
	return int(demoPhotoSide*w/h + 0.5), demoPhotoSide
}

func writeDemoPhoto(t *testing.T, c demoCrop) {
	t.Helper()
	src, rect := demoSource(t, c)
	w, h := demoPhotoSize(t, c)
	out := imaging.Resize(imaging.Crop(src, rect), w, h, imaging.Lanczos)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: demoPhotoQuality}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("demo", "photos", c.name+".jpg"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDemoPhotosAreTellApart holds the promise of demoCrops: two photos of
// different items are never near enough for the dedup check to call them
// one image, and each shared pair is.
func TestDemoPhotosAreTellApart(t *testing.T) {
	t.Parallel()
	photos := listinggen.DemoPhotos()
	hashes := map[string]images.PHash{}
	for _, c := range demoCrops {
		data, err := fs.ReadFile(photos, c.name+".jpg")
		if err != nil {
			t.Fatal(err)
		}
		src, err := images.Decode(data, images.DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		hashes[c.name] = src.PHash()
	}
	shared := func(a, b string) bool {
		return slices.Contains(demoSharedPhotos, [2]string{a, b}) || slices.Contains(demoSharedPhotos, [2]string{b, a})
	}
	for i, a := range demoCrops {
		for _, b := range demoCrops[i+1:] {
			d := images.Distance(hashes[a.name], hashes[b.name])
			switch {
			case shared(a.name, b.name) && d > dedup.NearImageBits:
				t.Errorf("%s and %s are %d bits apart: the dedup check would not see one photo (near is ≤ %d)", a.name, b.name, d, dedup.NearImageBits)
			case !shared(a.name, b.name) && d <= dedup.NearImageBits:
				t.Errorf("%s and %s are %d bits apart: the dedup check would take them for one photo", a.name, b.name, d)
			}
		}
	}
}

// TestDemoCatalogue checks what the walkthrough and the import page rely
// on: every line is a valid product with a unique id, every image is a
// demo photo that exists, every photo is used, and the catalogue has the
// cases it exists to show (an item offered twice sharing a photo, copy
// that breaks the advertising law, apparel with its 3:4 images).
func TestDemoCatalogue(t *testing.T) {
	t.Parallel()
	var products []listinggen.Product
	sc := bufio.NewScanner(bytes.NewReader(listinggen.DemoCatalogue))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var p listinggen.Product
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("line %d: %v", len(products)+1, err)
		}
		if err := p.Validate(fmt.Sprintf("line %d", len(products)+1)); err != nil {
			t.Errorf("%v", err)
		}
		products = append(products, p)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n := len(products); n < 24 || n > 40 {
		t.Errorf("%d demo products, want a few dozen", n)
	}
	ids := map[string]bool{}
	used := map[string][]string{} // photo → products
	var adLaw, apparel int
	for _, p := range products {
		if ids[p.ID] {
			t.Errorf("product id %s twice", p.ID)
		}
		ids[p.ID] = true
		if len(p.Images) == 0 {
			t.Errorf("%s has no photo", p.ID)
		}
		for _, img := range p.Images {
			name, isDemo := listinggen.DemoImageName(img.URL)
			if !isDemo {
				t.Errorf("%s: image %s is not a demo photo", p.ID, img.URL)
			}
			used[strings.TrimSuffix(name, ".jpg")] = append(used[strings.TrimSuffix(name, ".jpg")], p.ID)
		}
		if containsAny(p.Title+p.Description, "最佳", "国家级", "第一") {
			adLaw++
		}
		if strings.HasPrefix(p.Category, "童装") || strings.HasPrefix(p.Category, "女装") || strings.HasPrefix(p.Category, "男装") {
			apparel++
		}
	}
	for _, c := range demoCrops {
		owners := used[c.name]
		switch {
		case len(owners) == 0:
			t.Errorf("photo %s is used by no product", c.name)
		case len(owners) > 1 && !slices.ContainsFunc(demoSharedPhotos, func(p [2]string) bool { return p[0] == c.name || p[1] == c.name }):
			t.Errorf("photo %s is used by %v: only demoSharedPhotos stand for one item in two offers", c.name, owners)
		}
	}
	if adLaw < 3 {
		t.Errorf("%d products break the advertising law's absolute terms, want at least 3", adLaw)
	}
	if apparel < 1 {
		t.Error("no apparel product: the 3:4 main images would not show")
	}
}

func containsAny(s string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(sub string) bool { return strings.Contains(s, sub) })
}

// TestDemoImageName covers the demo: URLs a product may carry and those
// that must never name a file.
func TestDemoImageName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url    string
		name   string
		isDemo bool
	}{
		{"demo:coffee-cup.jpg", "coffee-cup.jpg", true},
		{"DEMO:coffee-cup.jpg", "coffee-cup.jpg", true},
		{"demo:../coffee-cup.jpg", "", true},
		{"demo:/etc/passwd", "", true},
		{"demo://coffee-cup.jpg", "", true},
		{"demo:photos/coffee-cup.jpg", "", true},
		{"demo:coffee-cup.jpg?x=1", "", true},
		{"demo:coffee-cup.jpg#x", "", true},
		{"demo:coffee%2Dcup.jpg", "", true},
		{"demo:Coffee-Cup.jpg", "", true},
		{"demo:coffee-cup.png", "", true},
		{"demo:", "", true},
		{"https://img.example/coffee-cup.jpg", "", false},
		{"coffee-cup.jpg", "", false},
	} {
		name, isDemo := listinggen.DemoImageName(tc.url)
		if name != tc.name || isDemo != tc.isDemo {
			t.Errorf("DemoImageName(%q) = %q, %v; want %q, %v", tc.url, name, isDemo, tc.name, tc.isDemo)
		}
	}
	p := listinggen.Product{Title: "咖啡杯", Images: []listinggen.ImageRef{{URL: "demo:coffee-cup.jpg"}, {URL: "demo:no-such-photo.jpg"}, {URL: "demo:../x.jpg"}}}
	err := p.Validate("product")
	var fields []string
	for _, fe := range listinggen.ErrorFields(err) {
		fields = append(fields, fe.Field+": "+fe.Message)
	}
	want := []string{"product.images[1].url: names no demo photo",
		"product.images[2].url: must be demo: and a photo name such as demo:coffee-cup.jpg"}
	if !slices.Equal(fields, want) {
		t.Errorf("validation errors %q, want %q", fields, want)
	}
}
