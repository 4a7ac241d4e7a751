package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/listinggen/listinggen"
)

// Config configures the Local store.
type Config struct {
	// Dir is the root directory; it is created if missing.
	Dir string
}

// DefaultConfig returns the settings used by `listinggen serve`.
func DefaultConfig() Config {
	return Config{Dir: "data/blobs"}
}

// Validate reports every problem with the config at once.
func (c Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Dir) == "" {
		errs = append(errs, errors.New("blob: Dir must name a directory"))
	}
	return errors.Join(errs...)
}

// Local stores blobs as files under Dir, fanned out by key prefix:
// Dir/ab/cd/abcd…. The content type is kept in a sidecar file
// Dir/ab/cd/abcd….type written before the blob, so a blob that exists is
// complete and typed. Each file is written to a temporary name, fsynced and
// renamed into place, and the directory fsynced, so a crash leaves either no
// blob or the whole blob, never a partial file.
type Local struct {
	dir string
}

var _ Store = (*Local)(nil)

// NewLocal opens (creating if needed) a Local store.
func NewLocal(cfg Config) (*Local, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, listinggen.WrapError(listinggen.EUNAVAILABLE, err, "blob directory unavailable")
	}
	return &Local{dir: dir}, nil
}

// Dir returns the store's root directory.
func (l *Local) Dir() string { return l.dir }

func (l *Local) path(key string) string {
	return filepath.Join(l.dir, key[0:2], key[2:4], key)
}

const typeSuffix = ".type"

// Put stores data; see Store.
func (l *Local) Put(ctx context.Context, data []byte, contentType string) (string, error) {
	key, contentType, err := admit(ctx, data, contentType)
	if err != nil {
		return "", err
	}
	p := l.path(key)
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Size() == int64(len(data)) {
		return key, nil // already stored: content addressing makes Put idempotent
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", listinggen.WrapError(listinggen.EUNAVAILABLE, err, "could not store the blob")
	}
	if err := writeAtomic(dir, p+typeSuffix, []byte(contentType)); err != nil {
		return "", listinggen.WrapError(listinggen.EUNAVAILABLE, err, "could not store the blob")
	}
	if err := writeAtomic(dir, p, data); err != nil {
		return "", listinggen.WrapError(listinggen.EUNAVAILABLE, err, "could not store the blob")
	}
	if err := syncDir(dir); err != nil {
		return "", listinggen.WrapError(listinggen.EUNAVAILABLE, err, "could not store the blob")
	}
	return key, nil
}

// writeAtomic writes data to a temporary file in dir, fsyncs it and renames
// it to name.
func writeAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Open returns the blob's file; see Store.
func (l *Local) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := checkKey(key); err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	f, err := os.Open(l.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Info{}, notFound(key)
	} else if err != nil {
		return nil, Info{}, listinggen.WrapError(listinggen.EUNAVAILABLE, err, "could not read the blob")
	}
	info, err := l.info(key, f)
	if err != nil {
		f.Close()
		return nil, Info{}, err
	}
	return f, info, nil
}

// Get returns the whole blob; see Store.
func (l *Local) Get(ctx context.Context, key string) ([]byte, Info, error) {
	rc, info, err := l.Open(ctx, key)
	if err != nil {
		return nil, Info{}, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	buf.Grow(int(info.Size))
	if _, err := buf.ReadFrom(rc); err != nil {
		return nil, Info{}, listinggen.WrapError(listinggen.EUNAVAILABLE, err, "could not read the blob")
	}
	return buf.Bytes(), info, nil
}

// Stat returns the blob's Info; see Store.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	rc, info, err := l.Open(ctx, key)
	if err != nil {
		return Info{}, err
	}
	rc.Close()
	return info, nil
}

func (l *Local) info(key string, f *os.File) (Info, error) {
	fi, err := f.Stat()
	if err != nil {
		return Info{}, listinggen.WrapError(listinggen.EUNAVAILABLE, err, "could not read the blob")
	}
	if !fi.Mode().IsRegular() {
		return Info{}, notFound(key)
	}
	ct, err := os.ReadFile(l.path(key) + typeSuffix)
	if err != nil || len(ct) == 0 || len(ct) > 255 {
		// A blob without a usable type sidecar (stored by hand, or by a
		// version that writes none): sniff its type.
		head := make([]byte, 512)
		n, _ := f.ReadAt(head, 0)
		ct = []byte(http.DetectContentType(head[:n]))
	}
	return Info{Key: key, Size: fi.Size(), ContentType: string(ct), ModTime: fi.ModTime()}, nil
}
