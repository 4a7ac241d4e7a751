package listinggen

import (
	"context"
	"io"
	"time"
)

// BlobStore is content-addressed storage of image variants: a blob's key is
// the sha256 hex digest of its bytes, so a key names one content forever.
type BlobStore interface {
	// Put stores data and returns its key; it returns once the blob is durable.
	Put(ctx context.Context, data []byte, contentType string) (key string, err error)
	// Open returns a reader of the blob and its info; ENOTFOUND when absent.
	Open(ctx context.Context, key string) (io.ReadCloser, BlobInfo, error)
	// Get returns the whole blob.
	Get(ctx context.Context, key string) ([]byte, BlobInfo, error)
	// Stat returns the blob's info; ENOTFOUND when absent.
	Stat(ctx context.Context, key string) (BlobInfo, error)
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Key         string
	Size        int64
	ContentType string
	ModTime     time.Time
}

// ETag returns the blob's HTTP entity tag: its key, quoted.
func (i BlobInfo) ETag() string { return `"` + i.Key + `"` }
