package images

import (
	"encoding/json"
	"testing"

	"github.com/disintegration/imaging"
)

func hashOf(t *testing.T, data []byte) PHash {
	t.Helper()
	src, err := Decode(data, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return src.PHash()
}

func TestPHashNearAndFar(t *testing.T) {
	t.Parallel()
	memo := map[string]PHash{}
	h := func(name string) PHash {
		if v, ok := memo[name]; ok {
			return v
		}
		memo[name] = hashOf(t, readTestdata(t, name))
		return memo[name]
	}
	left, right := h("motorcycle_left.png"), h("motorcycle_right.png")
	chelsea, rocket := h("chelsea.png"), h("rocket.jpg")
	coffee, hubble := h("large/coffee-1500.jpg"), h("large/hubble_deep_field-1500.jpg")

	// The stereo pair: the same scene from two viewpoints a few cm apart.
	if d := Distance(left, right); d > 10 {
		t.Errorf("stereo pair distance %d, want ≤ 10", d)
	} else {
		t.Logf("stereo pair distance %d", d)
	}
	// The same photos at another size and compression.
	for _, pair := range [][2]string{
		{"motorcycle_left.png", "large/motorcycle_left-1500.jpg"},
		{"chelsea.png", "large/chelsea-1500.jpg"},
		{"rocket.jpg", "large/rocket-1500.jpg"},
		{"large/coffee-1500.jpg", "large/coffee-3000x2000.jpg"},
		{"chelsea.png", "chelsea-small.webp"},
	} {
		a, b := h(pair[0]), h(pair[1])
		if d := Distance(a, b); d > 4 {
			t.Errorf("%s vs %s: distance %d, want ≤ 4", pair[0], pair[1], d)
		}
	}
	// Different photos.
	diff := []PHash{left, chelsea, rocket, coffee, hubble}
	for i := range diff {
		for j := i + 1; j < len(diff); j++ {
			if d := Distance(diff[i], diff[j]); d < 22 {
				t.Errorf("different photos %d and %d: distance %d, want ≥ 22", i, j, d)
			}
		}
	}
}

func TestPHashSurvivesResizeAndReencode(t *testing.T) {
	t.Parallel()
	data := readTestdata(t, "motorcycle_left.png")
	orig, err := imaging.Decode(bytesReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want := hashOf(t, data)
	for _, w := range []int{600, 320, 160} {
		small := imaging.Resize(orig, w, 0, imaging.Box)
		for _, q := range []int{90, 60} {
			if d := Distance(want, hashOf(t, jpegBytes(t, small, q))); d > 3 {
				t.Errorf("resized to %d at q%d: distance %d, want ≤ 3", w, q, d)
			}
		}
		if d := Distance(want, hashOf(t, pngBytes(t, small))); d > 3 {
			t.Errorf("resized to %d as PNG: distance %d", w, d)
		}
	}
}

func TestPHashFollowsOrientation(t *testing.T) {
	t.Parallel()
	photo, err := imaging.Decode(bytesReader(readTestdata(t, "rocket.jpg")))
	if err != nil {
		t.Fatal(err)
	}
	// Stored rotated 90° counter-clockwise with orientation 6 (display
	// rotates it back clockwise): the hash must be the upright photo's.
	stored := jpegBytes(t, imaging.Rotate90(photo), 95)
	upright := hashOf(t, jpegBytes(t, photo, 95))
	if d := Distance(upright, hashOf(t, withExifOrientation(stored, OrientRotate90))); d > 3 {
		t.Fatalf("EXIF-rotated copy: distance %d", d)
	}
	if d := Distance(upright, hashOf(t, stored)); d < 16 {
		t.Fatalf("the sideways photo without EXIF is only %d bits away", d)
	}
}

func TestPHashText(t *testing.T) {
	t.Parallel()
	h := PHash(0x0123456789abcdef)
	b, err := json.Marshal(struct{ H PHash }{h})
	if err != nil || string(b) != `{"H":"0123456789abcdef"}` {
		t.Fatalf("json %s, %v", b, err)
	}
	var back struct{ H PHash }
	if err := json.Unmarshal(b, &back); err != nil || back.H != h {
		t.Fatalf("round trip %x, %v", back.H, err)
	}
	if err := back.H.UnmarshalText([]byte("xyz")); err == nil {
		t.Fatal("bad text accepted")
	}
	if Distance(0, ^PHash(0)) != 64 || Distance(h, h) != 0 {
		t.Fatal("Distance")
	}
}

// TestPHashUnchanged: the hashes of the test photos are the ones the
// image/jpeg full-size decode gave before shrink-on-load, however the
// photo is decoded now (listings store hashes, and duplicate detection
// compares new hashes with stored ones): full size, for Douyin's variants
// (1/2 scale for the 3000×2000 photo), and for a thumbnail alone (1/4 or
// 1/8).
func TestPHashUnchanged(t *testing.T) {
	t.Parallel()
	stored := map[string]string{
		"chelsea-alpha.webp":               "b15fe6465121175e",
		"chelsea-small.webp":               "b15fe6465121175e",
		"chelsea.png":                      "b15fe6465121175e",
		"motorcycle_left.png":              "c507c66b9370a877",
		"motorcycle_right.png":             "d507c36b9178aa53",
		"rocket.jpg":                       "c0371bec1be51267",
		"large/astronaut-1500.jpg":         "c2924c5532bddfc8",
		"large/chelsea-1500.jpg":           "b15fe6465121175e",
		"large/coffee-1500.jpg":            "bb8320376c0f3637",
		"large/coffee-3000x2000.jpg":       "bb8320376c0f3637",
		"large/hubble_deep_field-1500.jpg": "84cc4f96ba4d233e",
		"large/motorcycle_left-1500.jpg":   "c507c66b9370aa73",
		"large/rocket-1500.jpg":            "c8371bec1be51263",
	}
	douyin := Variants(profileSpec(t, "douyin").ForCategory("女装/连衣裙"), DefaultRenderConfig())
	thumb := []VariantSpec{{Name: VariantThumb, Width: 240, Height: 240, Fit: FitPad}}
	for name, want := range stored {
		data := readTestdata(t, name)
		for _, vs := range [][]VariantSpec{nil, douyin, thumb} {
			src, err := DecodeFor(data, DefaultLimits(), vs)
			if err != nil {
				t.Fatal(err)
			}
			if got := src.PHash().String(); got != want {
				t.Errorf("%s decoded at 1/%d: pHash %s, stored %s", name, src.denom, got, want)
			}
		}
	}
}
