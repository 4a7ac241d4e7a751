package images

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/listinggen/listinggen"
)

// TestDemoPhotosAreReadNotFetched: a demo: URL is made from the processor's
// demo photos, with no network; a URL that is not one of those photos is
// refused with a reason, and never reaches the fetcher or the file system
// outside the set.
func TestDemoPhotosAreReadNotFetched(t *testing.T) {
	t.Parallel()
	canary := newCanary(t)
	rocket := readTestdata(t, "rocket.jpg")
	demo := fstest.MapFS{
		"rocket.jpg":  {Data: rocket},
		"notes.txt":   {Data: []byte("not a photo name")},
		"sub/cat.jpg": {Data: rocket},
	}
	// The canary is allow-listed: were a demo: URL fetched, it would
	// connect.
	p, _ := newProcessor(t, canary.addr(), func(c *Config) { c.Demo = demo })
	spec := profileSpec(t, "douyin")
	inputs := []listinggen.ImageInput{
		{URL: "demo:rocket.jpg"},
		{URL: "DEMO:rocket.jpg"},
		{URL: "demo:missing.jpg"},
		{URL: "demo:notes.txt"},
		{URL: "demo:sub/cat.jpg"},
		{URL: "demo:../rocket.jpg"},
		{URL: "demo://" + canary.addr() + "/rocket.jpg"},
		{URL: "demo:rocket.jpg?x=http://" + canary.addr()},
	}
	res, err := p.Process(context.Background(), spec, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Images) != 2 || !res.HasMain() {
		t.Fatalf("%d images made, want the two demo:rocket.jpg (errors %v)", len(res.Images), res.Errors)
	}
	for _, img := range res.Images {
		if img.Bytes != len(rocket) || len(img.Variants) == 0 || img.URL != inputs[img.Index].URL {
			t.Errorf("image %d: %d bytes, %d variants, URL %q", img.Index, img.Bytes, len(img.Variants), img.URL)
		}
	}
	if len(res.Errors) != len(inputs)-2 {
		t.Fatalf("errors %v, want one for each of the %d URLs that are not a demo photo", res.Errors, len(inputs)-2)
	}
	for _, e := range res.Errors {
		if e.Code != listinggen.EINVALID {
			t.Errorf("%s: %s (%s), want %s", e.URL, e.Code, e.Reason, listinggen.EINVALID)
		}
	}
	canary.assertUntouched(t)
}

// TestDemoURLsWithoutDemoPhotos: a processor without demo photos refuses
// demo: URLs instead of fetching them.
func TestDemoURLsWithoutDemoPhotos(t *testing.T) {
	t.Parallel()
	p, _ := newProcessor(t, "", nil)
	_, err := p.ProcessOne(context.Background(), profileSpec(t, "generic"), listinggen.ImageInput{URL: "demo:rocket.jpg"})
	wantCode(t, err, listinggen.EINVALID)
	if msg := listinggen.ErrorMessage(err); msg != "this server has no demo photos" {
		t.Errorf("message %q", msg)
	}
}

// TestDemoPhotoLimit: a demo photo is held to the byte limit of any other
// image.
func TestDemoPhotoLimit(t *testing.T) {
	t.Parallel()
	rocket := readTestdata(t, "rocket.jpg")
	p, _ := newProcessor(t, "", func(c *Config) {
		c.Demo = fstest.MapFS{"rocket.jpg": {Data: rocket}}
		c.Fetch.MaxBytes = int64(len(rocket) - 1)
	})
	_, err := p.ProcessOne(context.Background(), profileSpec(t, "generic"), listinggen.ImageInput{URL: "demo:rocket.jpg"})
	wantCode(t, err, listinggen.ETOOLARGE)
}
