package images

import (
	"errors"
	"io/fs"

	"github.com/listinggen/listinggen"
)

// Demo photos are read from Config.Demo, never fetched: a demo: URL (the
// scheme in any case, whatever follows the colon) names a file of that set
// and nothing else. The demo catalogue then works on a machine without a
// network, and showing it needs no exception in the Fetcher's address
// checks (which a server on loopback serving its own photos would).

// demoPhoto returns the demo photo of that name, as
// listinggen.DemoImageName gives it from a demo: URL ("" when the URL names
// no photo). Errors are EINVALID: the URL is not a photo name, this
// processor has no demo photos, or none has that name.
func (p *Processor) demoPhoto(name string) ([]byte, error) {
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
