// Package blob stores image variants by content: the key of a blob is the
// sha256 hex digest of its bytes, so storing the same bytes twice is a no-op
// and a key names exactly one content forever (safe to cache as immutable).
// Local keeps blobs in a directory, S3 in an S3-compatible bucket that many
// processes share, Memory in memory for tests.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"net/http"
	"strings"

	"github.com/listinggen/listinggen"
)

// Store is listinggen.BlobStore; Local and Memory implement it.
type Store = listinggen.BlobStore

// Info describes a stored blob.
type Info = listinggen.BlobInfo

// Key returns the key data is stored under.
func Key(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ValidKey reports whether key is 64 lower-case hex digits. Nothing else is
// ever turned into a path, so no key can traverse directories.
func ValidKey(key string) bool {
	if len(key) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func checkKey(key string) error {
	if !ValidKey(key) {
		return listinggen.Errorf(listinggen.EINVALID, "blob key must be 64 lower-case hex digits")
	}
	return nil
}

func notFound(key string) error {
	return listinggen.Errorf(listinggen.ENOTFOUND, "blob %s not found", key)
}

// admit is what every store does before storing a blob: give up if ctx is
// done, settle the stored content type (storedType) and name the blob.
func admit(ctx context.Context, data []byte, contentType string) (key, storedAs string, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	if storedAs, err = storedType(data, contentType); err != nil {
		return "", "", err
	}
	return Key(data), storedAs, nil
}

// storedType returns the type a blob is stored with: the caller's, or the
// one sniffed from data. A type that is not a media type, or that could
// split a header, is refused: it is sent back verbatim when the blob is read.
func storedType(data []byte, ct string) (string, error) {
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil || strings.ContainsAny(ct, "\r\n") {
		return "", listinggen.Errorf(listinggen.EINVALID, "invalid content type %q", ct)
	}
	return ct, nil
}
