package listinggen

import (
	"embed"
	"io/fs"
	"net/url"
	"regexp"
	"strings"
)

// DemoCatalogue is demo/catalogue.jsonl, one product a line: the catalogue
// the preview UI's import page loads, so that a new user goes from
// `make run` to reviewed listings without a file, a shell or a network.
// Its images are demo: URLs (see DemoImageScheme).
//
//go:embed demo/catalogue.jsonl
var DemoCatalogue []byte

//go:embed demo/photos/*.jpg
var demoPhotos embed.FS

// DemoPhotos returns the demo catalogue's photos, each under the name its
// demo: URL gives ("demo:coffee-cup.jpg" is "coffee-cup.jpg"). They are
// crops of the photographs in testdata/images (demo/README.md says which).
func DemoPhotos() fs.FS {
	sub, err := fs.Sub(demoPhotos, "demo/photos")
	if err != nil {
		panic(err) // the directory is embedded above, so this cannot happen
	}
	return sub
}

// DemoImageScheme is the URL scheme of the demo photos: "demo:NAME" names
// a photo embedded in the binary, which the image stage reads from memory
// instead of fetching. The demo catalogue's images resolve without a
// network and without letting the fetcher reach this machine's own
// addresses, and a demo: URL can name nothing but those photos.
const DemoImageScheme = "demo"

// demoPhotoName is what a photo name may look like: no directories, no
// dots but the extension's, so that a name is never a path.
var demoPhotoName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*\.jpg$`)

// DemoImageName reports whether rawURL has the demo: scheme and, when it
// has, the photo name it gives; name is "" when the rest of the URL is not
// a photo name (a path, a host, a query).
func DemoImageName(rawURL string) (name string, isDemo bool) {
	scheme, rest, ok := strings.Cut(rawURL, ":")
	if !ok || !strings.EqualFold(scheme, DemoImageScheme) {
		return "", false
	}
	if !demoPhotoName.MatchString(rest) {
		return "", true
	}
	// Parsed as a URL it must be the same opaque name, so that no other
	// reader of the URL sees a host, a path or a query in it.
	if u, err := url.Parse(rawURL); err != nil || u.Opaque != rest || u.Host != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", true
	}
	return rest, true
}

// checkImageURL returns why a product image URL is not accepted, or "".
func checkImageURL(raw string) string {
	if name, isDemo := DemoImageName(raw); isDemo {
		if name == "" {
			return "must be demo: and a photo name such as demo:coffee-cup.jpg"
		}
		if _, err := fs.Stat(DemoPhotos(), name); err != nil {
			return "names no demo photo"
		}
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be an absolute http or https URL, or a demo: photo"
	}
	return ""
}
