package blob_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/blob"
)

func newLocal(t *testing.T) *blob.Local {
	t.Helper()
	l, err := blob.NewLocal(blob.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// conformance runs the behaviour every Store must have.
func conformance(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := []byte("\xff\xd8\xff\xe0 not really a jpeg but typed as one")

	key, err := s.Put(ctx, data, "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	if key != blob.Key(data) || !blob.ValidKey(key) {
		t.Fatalf("key = %q, want sha256 %q", key, blob.Key(data))
	}
	again, err := s.Put(ctx, data, "image/jpeg")
	if err != nil || again != key {
		t.Fatalf("second Put = %q, %v; want the same key", again, err)
	}

	got, info, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("Get returned %q", got)
	}
	if info.Key != key || info.Size != int64(len(data)) || info.ContentType != "image/jpeg" {
		t.Fatalf("info = %+v", info)
	}
	if info.ETag() != `"`+key+`"` {
		t.Fatalf("ETag = %s", info.ETag())
	}

	rc, info2, err := s.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(b, data) || info2.Size != info.Size {
		t.Fatalf("Open read %q, info %+v", b, info2)
	}
	if _, ok := rc.(io.ReadSeeker); !ok {
		t.Errorf("Open's reader is not an io.ReadSeeker (needed by http.ServeContent)")
	}

	st, err := s.Stat(ctx, key)
	if err != nil || st.Size != int64(len(data)) {
		t.Fatalf("Stat = %+v, %v", st, err)
	}

	missing := blob.Key([]byte("never stored"))
	if _, err := s.Stat(ctx, missing); listinggen.ErrorCode(err) != listinggen.ENOTFOUND {
		t.Fatalf("Stat(missing) err = %v, want ENOTFOUND", err)
	}
	if _, _, err := s.Get(ctx, missing); listinggen.ErrorCode(err) != listinggen.ENOTFOUND {
		t.Fatalf("Get(missing) err = %v, want ENOTFOUND", err)
	}

	// Keys are validated strictly: nothing but 64 lower-case hex digits
	// ever becomes a path.
	for _, bad := range []string{
		"", "..", "../../etc/passwd", strings.Repeat("a", 63), strings.Repeat("a", 65),
		strings.ToUpper(key), key[:62] + "/x", key[:63] + "g", "ab/cd/" + key[6:],
		strings.Repeat(".", 64), key[:60] + "%2e%2",
	} {
		if _, err := s.Stat(ctx, bad); listinggen.ErrorCode(err) != listinggen.EINVALID {
			t.Errorf("Stat(%q) err = %v, want EINVALID", bad, err)
		}
		if _, _, err := s.Open(ctx, bad); listinggen.ErrorCode(err) != listinggen.EINVALID {
			t.Errorf("Open(%q) err = %v, want EINVALID", bad, err)
		}
	}

	// Concurrent Puts of the same and of different content.
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := []byte{byte(i % 4), 1, 2, 3}
			k, err := s.Put(ctx, d, "application/octet-stream")
			if err != nil || k != blob.Key(d) {
				t.Errorf("concurrent Put = %q, %v", k, err)
			}
		}()
	}
	wg.Wait()
	for i := 0; i < 4; i++ {
		d := []byte{byte(i), 1, 2, 3}
		if got, _, err := s.Get(ctx, blob.Key(d)); err != nil || !bytes.Equal(got, d) {
			t.Errorf("after concurrent Puts Get = %v, %v", got, err)
		}
	}
}

func TestLocalConformance(t *testing.T) {
	t.Parallel()
	conformance(t, newLocal(t))
}

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	conformance(t, blob.NewMemory())
}

func TestLocalFansOutAndLeavesNoTemporaryFiles(t *testing.T) {
	t.Parallel()
	l := newLocal(t)
	ctx := context.Background()
	var keys []string
	for i := 0; i < 20; i++ {
		k, err := l.Put(ctx, []byte(strings.Repeat("x", i+1)), "text/plain")
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	for _, k := range keys {
		p := filepath.Join(l.Dir(), k[:2], k[2:4], k)
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("blob %s not at %s: %v", k, p, err)
		}
	}
	err := filepath.WalkDir(l.Dir(), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLocalSniffsTypeWhenSidecarIsMissing(t *testing.T) {
	t.Parallel()
	l := newLocal(t)
	ctx := context.Background()
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	k, err := l.Put(ctx, png, "image/png")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(l.Dir(), k[:2], k[2:4], k+".type")); err != nil {
		t.Fatal(err)
	}
	info, err := l.Stat(ctx, k)
	if err != nil || info.ContentType != "image/png" {
		t.Fatalf("Stat = %+v, %v; want image/png sniffed", info, err)
	}
}

func TestLocalRefusesBadContentTypeAndConfig(t *testing.T) {
	t.Parallel()
	l := newLocal(t)
	if _, err := l.Put(context.Background(), []byte("x"), "image/jpeg\r\nX-Evil: 1"); listinggen.ErrorCode(err) != listinggen.EINVALID {
		t.Fatalf("Put with a header-injecting type: err = %v, want EINVALID", err)
	}
	if err := (blob.Config{}).Validate(); err == nil {
		t.Fatal("empty Dir validated")
	}
	if err := blob.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPutHonoursCanceledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newLocal(t).Put(ctx, []byte("x"), "text/plain"); err == nil {
		t.Fatal("Put on a canceled context succeeded")
	}
}
