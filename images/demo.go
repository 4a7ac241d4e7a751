package images

import (
	"errors"
	"io/fs"
	"strings"

	"github.com/listinggen/listinggen"
)

// Demo photos are read from Config.Demo, never fetched: a demo: URL names a
// file of that set and nothing else. The demo catalogue then works on a
// machine without a network, and showing it needs no exception in the
// Fetcher's address checks (which a server on loopback serving its own
// photos would).

// isDemo reports whether rawURL has the demo: scheme (in any case), so that
// such a URL never reaches the fetcher, whatever follows the colon.
func isDemo(rawURL string) bool {
	scheme, _, ok := strings.Cut(rawURL, ":")
	return ok && strings.EqualFold(scheme, listinggen.DemoImageScheme)
}

// demoPhoto returns the demo photo rawURL names. Errors are EINVALID: the
// URL is not a photo name, this processor has no demo photos, or none has
// that name.
func (p *Processor) demoPhoto(rawURL string) ([]byte, error) {
	name, _ := listinggen.DemoImageName(rawURL)
	switch {
	case name == "":
		return nil, listinggen.Errorf(listinggen.EINVALID, "a demo: URL names a demo photo, such as demo:coffee-cup.jpg")
	case p.cfg.Demo == nil:
		return nil, listinggen.Errorf(listinggen.EINVALID, "this server has no demo photos")
	}
	data, err := fs.ReadFile(p.cfg.Demo, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, listinggen.Errorf(listinggen.EINVALID, "there is no demo photo named %q", name)
	} else if err != nil {
		return nil, listinggen.WrapError(listinggen.EINTERNAL, err, "the demo photo %q could not be read", name)
	}
	return data, nil
}
