package blob

import (
	"bytes"
	"context"
	"io"
	"sync"
	"time"
)

// Memory is an in-memory Store for tests.
type Memory struct {
	mu    sync.RWMutex
	blobs map[string]memBlob
	now   func() time.Time
}

type memBlob struct {
	data []byte
	info Info
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{blobs: make(map[string]memBlob), now: time.Now}
}

// Put stores a copy of data; see Store.
func (m *Memory) Put(ctx context.Context, data []byte, contentType string) (string, error) {
	key, contentType, err := admit(ctx, data, contentType)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.blobs[key]; !ok {
		m.blobs[key] = memBlob{data: bytes.Clone(data), info: Info{Key: key, Size: int64(len(data)), ContentType: contentType, ModTime: m.now()}}
	}
	return key, nil
}

// Open returns a reader of the blob; see Store.
func (m *Memory) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	data, info, err := m.Get(ctx, key)
	if err != nil {
		return nil, Info{}, err
	}
	return readSeekNopCloser{bytes.NewReader(data)}, info, nil
}

// Get returns the blob; see Store.
func (m *Memory) Get(ctx context.Context, key string) ([]byte, Info, error) {
	if err := checkKey(key); err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	m.mu.RLock()
	b, ok := m.blobs[key]
	m.mu.RUnlock()
	if !ok {
		return nil, Info{}, notFound(key)
	}
	return bytes.Clone(b.data), b.info, nil
}

// Stat returns the blob's Info; see Store.
func (m *Memory) Stat(ctx context.Context, key string) (Info, error) {
	_, info, err := m.Get(ctx, key)
	return info, err
}

// Len returns the number of stored blobs.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.blobs)
}

type readSeekNopCloser struct{ *bytes.Reader }

func (readSeekNopCloser) Close() error { return nil }
