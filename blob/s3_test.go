package blob_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/blob"
	"github.com/listinggen/listinggen/internal/s3test"
)

// s3Config is a config for the test server's bucket.
func s3Config(srv *s3test.Server, bucket string) blob.S3Config {
	return blob.S3Config{Endpoint: srv.Endpoint, Bucket: bucket, Region: s3test.Region,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Prefix: "variants", CreateBucket: true}
}

func newS3(t *testing.T, cfg blob.S3Config) *blob.S3 {
	t.Helper()
	s, err := blob.NewS3(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3Conformance(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	conformance(t, newS3(t, s3Config(srv, "conformance")))
}

// countingTransport counts the requests by method and keeps the last
// PUT's headers.
type countingTransport struct {
	mu  sync.Mutex
	n   map[string]int
	put http.Header
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[r.Method]++
	if r.Method == http.MethodPut {
		c.put = r.Header.Clone()
	}
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = nil
	return n
}

// Two processes of a deployment (an API node and a worker) each have their
// own store and connections on one bucket: what one stores the other reads,
// and storing it again costs one HEAD, no upload.
func TestS3BlobsAreSharedBetweenProcesses(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	ctx := context.Background()
	worker := newS3(t, s3Config(srv, "shared"))
	apiTransport := &countingTransport{}
	apiCfg := s3Config(srv, "shared")
	apiCfg.Prefix, apiCfg.CreateBucket, apiCfg.Transport = "variants/", false, apiTransport
	api := newS3(t, apiCfg)

	data := bytes.Repeat([]byte("variant bytes "), 5000)
	key, err := worker.Put(ctx, data, "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	apiTransport.take()
	got, info, err := api.Get(ctx, key)
	if err != nil || !bytes.Equal(got, data) || info.ContentType != "image/jpeg" || info.Size != int64(len(data)) || info.ModTime.IsZero() {
		t.Fatalf("the other process's Get = %d bytes, %+v, %v", len(got), info, err)
	}
	if again, err := api.Put(ctx, data, "image/jpeg"); err != nil || again != key {
		t.Fatalf("Put of a stored blob = %q, %v", again, err)
	}
	if n := apiTransport.take(); n["PUT"] != 0 || n["HEAD"] != 1 || n["GET"] != 1 {
		t.Errorf("Get then Put of a stored blob sent %v, want one GET and one HEAD", n)
	}

	// A Put sends the payload's SHA-256 (its key) in the signed header and
	// its MD5, for the service to check.
	fresh := []byte("made by the API node")
	if _, err := api.Put(ctx, fresh, "text/plain"); err != nil {
		t.Fatal(err)
	}
	apiTransport.take()
	sum := md5.Sum(fresh)
	if h := apiTransport.put; h.Get("X-Amz-Content-Sha256") != blob.Key(fresh) || h.Get("Content-Md5") != base64.StdEncoding.EncodeToString(sum[:]) ||
		!strings.Contains(h.Get("Authorization"), "x-amz-content-sha256") || h.Get("Content-Type") != "text/plain" {
		t.Errorf("PUT headers %v", h)
	}

	// Serving it as the image handler does (http.ServeContent seeks to the
	// end and back) reads it with one GET; a range costs one more.
	rc, info, err := api.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", "image/jpeg") // as api/images.go does: no sniffing read
	http.ServeContent(rec, httptest.NewRequest("GET", "/x", nil), "", info.ModTime, rc.(io.ReadSeeker))
	rc.Close()
	if !bytes.Equal(rec.Body.Bytes(), data) {
		t.Fatalf("served %d bytes, want %d", rec.Body.Len(), len(data))
	}
	if n := apiTransport.take(); n["GET"] != 1 || len(n) != 1 {
		t.Errorf("serving a blob sent %v, want one GET", n)
	}
	rc, info, _ = api.Open(ctx, key)
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set("Range", "bytes=100-199")
	rec = httptest.NewRecorder()
	rec.Header().Set("Content-Type", "image/jpeg")
	http.ServeContent(rec, req, "", info.ModTime, rc.(io.ReadSeeker))
	rc.Close()
	if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), data[100:200]) {
		t.Fatalf("range: %d %q", rec.Code, rec.Body.Bytes())
	}
	if n := apiTransport.take(); n["GET"] != 2 {
		t.Errorf("serving a range sent %v, want two GETs", n)
	}

	// Another prefix is another store.
	otherCfg := s3Config(srv, "shared")
	otherCfg.Prefix = "other/"
	if _, err := newS3(t, otherCfg).Stat(ctx, key); listinggen.ErrorCode(err) != listinggen.ENOTFOUND {
		t.Errorf("Stat under another prefix: %v, want ENOTFOUND", err)
	}
}

// rawClient writes to the bucket behind the store's back.
func rawClient(t *testing.T, srv *s3test.Server) *minio.Client {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(srv.Endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(s3test.AccessKey, s3test.SecretKey, ""), Region: s3test.Region})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// An object whose bytes do not hash to its name is refused by Get, and a
// Put of the true content replaces it when the sizes differ.
func TestS3GetRefusesCorruptObject(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	ctx := context.Background()
	s := newS3(t, s3Config(srv, "corrupt"))
	data := []byte("the real content")
	key := blob.Key(data)
	bad := []byte("something else entirely")
	if _, err := rawClient(t, srv).PutObject(ctx, "corrupt", "variants/"+key, bytes.NewReader(bad), int64(len(bad)),
		minio.PutObjectOptions{DisableContentSha256: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, key); listinggen.ErrorCode(err) != listinggen.EINTERNAL || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("Get of a corrupt object: %v, want EINTERNAL corrupt", err)
	}
	if _, err := s.Put(ctx, data, "text/plain"); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Get(ctx, key); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after Put: %q, %v", got, err)
	}
}

func TestS3StartChecksBucketAndCredentials(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	cfg := s3Config(srv, "not-there")
	cfg.CreateBucket = false
	if _, err := blob.NewS3(context.Background(), cfg); !errors.Is(err, blob.ErrBucketMissing) || !strings.Contains(err.Error(), "s3://not-there/variants/") {
		t.Errorf("missing bucket: %v, want ErrBucketMissing naming it", err)
	}
	// Two processes starting at once both create it, or find it made.
	cfg.CreateBucket = true
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := blob.NewS3(context.Background(), cfg); err != nil {
				t.Errorf("concurrent create: %v", err)
			}
		})
	}
	wg.Wait()
	// (s3rver checks access keys, not SigV4 signatures.)
	cfg.AccessKey, cfg.SecretKey = "NOBODY", "a-secret-never-shown"
	if _, err := blob.NewS3(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "not reachable") {
		t.Errorf("unknown access key: %v", err)
	} else if strings.Contains(err.Error(), cfg.SecretKey) {
		t.Errorf("the error shows the secret: %v", err)
	}
}

// bounded runs f and fails the test if it takes longer than limit.
func bounded(t *testing.T, limit time.Duration, what string, f func() error) error {
	t.Helper()
	start := time.Now()
	err := f()
	d := time.Since(start)
	t.Logf("%s: %v after %v", what, err, d.Round(time.Millisecond))
	if d > limit {
		t.Errorf("%s took %v, want at most %v", what, d.Round(time.Millisecond), limit)
	}
	return err
}

// A server that has gone away gives a clear EUNAVAILABLE at once, from
// every method.
func TestS3ServerStopped(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	ctx := context.Background()
	s := newS3(t, s3Config(srv, "stopped"))
	key, err := s.Put(ctx, []byte("stored before the outage"), "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	port := strings.TrimPrefix(srv.Endpoint, "http://")
	check := func(what string, err error) {
		t.Helper()
		if listinggen.ErrorCode(err) != listinggen.EUNAVAILABLE || !strings.Contains(err.Error(), "connection refused") ||
			!strings.Contains(err.Error(), port) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s with the server stopped: %v, want EUNAVAILABLE naming the object, the endpoint and the refusal", what, err)
		}
	}
	const limit = 10 * time.Second // three attempts with backoff take about 1.5 s
	check("Stat", bounded(t, limit, "Stat", func() error { _, err := s.Stat(ctx, key); return err }))
	check("Get", bounded(t, limit, "Get", func() error { _, _, err := s.Get(ctx, key); return err }))
	check("Open", bounded(t, limit, "Open", func() error { _, _, err := s.Open(ctx, key); return err }))
	bounded(t, limit, "Put", func() error {
		_, err := s.Put(ctx, []byte("stored during the outage"), "text/plain")
		if listinggen.ErrorCode(err) != listinggen.EUNAVAILABLE || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("Put with the server stopped: %v", err)
		}
		return err
	})
	if _, err := blob.NewS3(ctx, s3Config(srv, "stopped")); err == nil || !strings.Contains(err.Error(), "not reachable") {
		t.Errorf("start with the server stopped: %v", err)
	}
}

// hangingProxy forwards to the server until hang is called; from then on it
// drops its connections and accepts new ones without ever answering.
type hangingProxy struct {
	ln      net.Listener
	target  string
	hanging atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
}

func startProxy(t *testing.T, target string) *hangingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &hangingProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.closeAll() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			if p.hanging.Load() {
				continue // held open, never read nor answered
			}
			go func() {
				up, err := net.Dial("tcp", target)
				if err != nil {
					c.Close()
					return
				}
				p.mu.Lock()
				p.conns = append(p.conns, up)
				p.mu.Unlock()
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return p
}

func (p *hangingProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *hangingProxy) hang() { p.hanging.Store(true); p.closeAll() }

// A server that accepts connections but never answers cannot hang a
// caller: every method gives up after the configured timeout.
func TestS3ServerNotAnswering(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	proxy := startProxy(t, strings.TrimPrefix(srv.Endpoint, "http://"))
	cfg := s3Config(srv, "hanging")
	cfg.Endpoint = "http://" + proxy.ln.Addr().String()
	cfg.Timeout = 500 * time.Millisecond
	ctx := context.Background()
	s := newS3(t, cfg)
	key, err := s.Put(ctx, []byte("stored before the hang"), "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	proxy.hang()
	const limit = 6 * time.Second // Put, Get, Stat: 0.5 s in all; Open: three attempts of 0.5 s plus backoff
	for what, f := range map[string]func() error{
		"Stat": func() error { _, err := s.Stat(ctx, key); return err },
		"Get":  func() error { _, _, err := s.Get(ctx, key); return err },
		"Open": func() error { _, _, err := s.Open(ctx, key); return err },
		"Put":  func() error { _, err := s.Put(ctx, []byte("stored during the hang"), "text/plain"); return err },
	} {
		if err := bounded(t, limit, what, f); listinggen.ErrorCode(err) != listinggen.EUNAVAILABLE {
			t.Errorf("%s against a server that does not answer: %v, want EUNAVAILABLE", what, err)
		}
	}
	// The caller's own deadline is honoured too.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := bounded(t, 2*time.Second, "Open with a 100 ms deadline", func() error { _, _, err := s.Open(short, key); return err }); err == nil {
		t.Error("Open succeeded against a server that does not answer")
	}
}

func TestS3ConfigValidation(t *testing.T) {
	t.Parallel()
	good := blob.S3Config{Bucket: "variants", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com", Prefix: "a/b"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, endpoint := range []string{"", "s3.amazonaws.com", "127.0.0.1:9000", "http://127.0.0.1:9000", "https://cos.ap-guangzhou.myqcloud.com/"} {
		c := good
		c.Endpoint = endpoint
		if err := c.Validate(); err != nil {
			t.Errorf("endpoint %q: %v", endpoint, err)
		}
	}
	for name, mutate := range map[string]func(*blob.S3Config){
		"no bucket":           func(c *blob.S3Config) { c.Bucket = "" },
		"bad bucket":          func(c *blob.S3Config) { c.Bucket = "Bad_Bucket" },
		"ftp endpoint":        func(c *blob.S3Config) { c.Endpoint = "ftp://example.com" },
		"endpoint with path":  func(c *blob.S3Config) { c.Endpoint = "https://example.com/bucket" },
		"endpoint with user":  func(c *blob.S3Config) { c.Endpoint = "https://key:secret@example.com" },
		"access key alone":    func(c *blob.S3Config) { c.AccessKey = "AKIA" },
		"secret key alone":    func(c *blob.S3Config) { c.SecretKey = "s" },
		"absolute prefix":     func(c *blob.S3Config) { c.Prefix = "/variants" },
		"dot-dot prefix":      func(c *blob.S3Config) { c.Prefix = "a/../b" },
		"empty segment":       func(c *blob.S3Config) { c.Prefix = "a//b" },
		"control in prefix":   func(c *blob.S3Config) { c.Prefix = "a\nb" },
		"negative timeout":    func(c *blob.S3Config) { c.Timeout = -time.Second },
		"unknown style":       func(c *blob.S3Config) { c.URLStyle = 7 },
		"key in endpoint URL": func(c *blob.S3Config) { c.Endpoint = "https://example.com?X-Amz-Credential=x" },
	} {
		c := good
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: validated", name)
		}
	}
	// Every problem at once.
	if err := (blob.S3Config{Endpoint: "ftp://x", AccessKey: "a"}).Validate(); err == nil || strings.Count(err.Error(), "\n") < 2 {
		t.Errorf("want three problems, got %v", err)
	}
}
