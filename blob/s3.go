package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/listinggen/listinggen"
)

// URLStyle says how a bucket is named in request URLs.
type URLStyle int

const (
	// StyleAuto lets minio-go choose: virtual-host style for the endpoints
	// it knows need it (AWS, Aliyun OSS …), path style for the rest (an IP
	// address, localhost, a self-hosted MinIO).
	StyleAuto URLStyle = iota
	// StylePath puts the bucket in the path: https://endpoint/bucket/key.
	StylePath
	// StyleVirtualHost puts it in the host name: https://bucket.endpoint/key.
	StyleVirtualHost
)

// S3Config configures the S3 store.
type S3Config struct {
	// Endpoint is the service: "https://host[:port]", "http://host:port"
	// for a plain-HTTP server on a private network (a local MinIO), or a
	// bare "host[:port]", which means HTTPS. Empty means AWS S3.
	Endpoint string
	// Bucket must exist unless CreateBucket is set.
	Bucket string
	// Region of the bucket; empty asks the service once per bucket.
	Region string
	// AccessKey and SecretKey are static credentials. Both empty means the
	// usual AWS chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and
	// AWS_SESSION_TOKEN), ~/.aws/credentials, then the instance's role.
	AccessKey, SecretKey string
	// Prefix is put before every key ("listinggen/variants/"); a trailing
	// slash is added when missing.
	Prefix string
	// URLStyle: path or virtual-host requests; StyleAuto by default.
	URLStyle URLStyle
	// CreateBucket creates a missing bucket at start (in Region) instead of
	// refusing to start.
	CreateBucket bool
	// Timeout bounds each request (connect, waiting for the answer, and
	// for Put, Get and Stat the whole exchange); 0 means 30 s.
	Timeout time.Duration
	// MaxRetries is how many times a failed request is sent in all
	// (network errors, 5xx, throttling, with backoff); 0 means 3.
	MaxRetries int
	// Transport replaces the HTTP transport (custom TLS roots, tests).
	Transport http.RoundTripper
}

// DefaultS3Timeout bounds each S3 request unless S3Config.Timeout says
// otherwise.
const DefaultS3Timeout = 30 * time.Second

// endpoint returns the host[:port] minio-go wants and whether to use TLS.
func (c S3Config) endpoint() (host string, secure bool, err error) {
	e := strings.TrimSpace(c.Endpoint)
	if e == "" {
		return "s3.amazonaws.com", true, nil
	}
	if !strings.Contains(e, "://") {
		e = "https://" + e
	}
	u, err := url.Parse(e)
	if err != nil {
		return "", false, fmt.Errorf("blob: S3 endpoint %q: %w", c.Endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", false, fmt.Errorf("blob: S3 endpoint %q: scheme must be http or https", c.Endpoint)
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false, fmt.Errorf("blob: S3 endpoint %q: want scheme://host[:port] with nothing after it", c.Endpoint)
	}
	return u.Host, u.Scheme == "https", nil
}

// prefix returns Prefix ending in a slash (or empty).
func (c S3Config) prefix() string {
	p := strings.TrimSpace(c.Prefix)
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// Validate reports every problem with the config at once.
func (c S3Config) Validate() error {
	var errs []error
	if err := s3utils.CheckValidBucketNameStrict(c.Bucket); err != nil {
		errs = append(errs, fmt.Errorf("blob: S3 bucket %q: %w", c.Bucket, err))
	}
	if _, _, err := c.endpoint(); err != nil {
		errs = append(errs, err)
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		errs = append(errs, errors.New("blob: S3 access key and secret key go together: set both, or neither to use the AWS credential chain"))
	}
	if p := c.prefix(); p != "" {
		bad := strings.HasPrefix(p, "/") || strings.Contains(p, "//") || len(p) > 512
		for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
			bad = bad || seg == "." || seg == ".."
		}
		for _, r := range p {
			bad = bad || r < 0x20 || r == 0x7f || r == '\\'
		}
		if bad {
			errs = append(errs, fmt.Errorf("blob: S3 prefix %q: want path segments without a leading slash, . or .., control characters or backslashes", c.Prefix))
		}
	}
	if c.URLStyle < StyleAuto || c.URLStyle > StyleVirtualHost {
		errs = append(errs, fmt.Errorf("blob: unknown S3 URL style %d", c.URLStyle))
	}
	if c.Timeout < 0 || c.MaxRetries < 0 {
		errs = append(errs, errors.New("blob: S3 timeout and retries cannot be negative"))
	}
	return errors.Join(errs...)
}

// ErrBucketMissing is returned by NewS3 when the bucket does not exist and
// S3Config.CreateBucket is not set.
var ErrBucketMissing = errors.New("the bucket does not exist")

// S3 stores blobs as objects of an S3-compatible bucket (AWS S3, MinIO,
// Cloudflare R2, Aliyun OSS, Tencent COS …), so that every process of a
// deployment — API nodes and workers on other machines — reads the
// variants any of them made. An object is named Prefix+key and carries the
// blob's content type. Put sends the payload's SHA-256 (the key itself) in
// the signed x-amz-content-sha256 header and its MD5 in Content-MD5, so a
// service stores the bytes whose key was computed or refuses them; Get
// checks the SHA-256 of what it read.
type S3 struct {
	client     *minio.Client
	core       minio.Core
	bucket     string
	prefix     string
	timeout    time.Duration
	location   string
	putOptions minio.PutObjectOptions
}

var _ Store = (*S3)(nil)

// NewS3 connects to the service and checks that the bucket exists (creating
// it if cfg.CreateBucket), so a wrong endpoint, bucket or key stops the
// process at start rather than at its first image. The credentials need
// s3:ListBucket on the bucket besides s3:GetObject and s3:PutObject: without
// it, AWS answers a missing object with 403 instead of 404.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	host, secure, _ := cfg.endpoint()
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultS3Timeout
	}
	retries := cfg.MaxRetries
	if retries == 0 {
		retries = 3
	}
	transport := cfg.Transport
	if transport == nil {
		tr, err := minio.DefaultTransport(secure)
		if err != nil {
			return nil, err
		}
		tr.DialContext = (&net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second}).DialContext
		// Open's reader outlives any per-call context deadline, so the
		// transport itself bounds the wait for a response.
		tr.ResponseHeaderTimeout = timeout
		transport = tr
	}
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	if cfg.AccessKey == "" {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{}, &credentials.FileAWSCredentials{}, &credentials.IAM{},
		})
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: [...]minio.BucketLookupType{minio.BucketLookupAuto, minio.BucketLookupPath, minio.BucketLookupDNS}[cfg.URLStyle],
		Transport:    transport,
		MaxRetries:   retries,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: S3 client for %s: %w", host, err)
	}
	scheme := "https"
	if !secure {
		scheme = "http"
	}
	s := &S3{
		client:   client,
		core:     minio.Core{Client: client},
		bucket:   cfg.Bucket,
		prefix:   cfg.prefix(),
		timeout:  timeout,
		location: fmt.Sprintf("s3://%s/%s at %s://%s", cfg.Bucket, cfg.prefix(), scheme, host),
		putOptions: minio.PutObjectOptions{
			// A key names one content forever: a CDN or browser in front
			// of the bucket may cache it for good.
			CacheControl: "public, max-age=31536000, immutable",
			// Not the streaming (aws-chunked) signature minio-go uses on
			// plain HTTP, which not every S3-compatible server decodes: Put
			// signs the payload's SHA-256 itself.
			DisableContentSha256: true,
		},
	}
	if err := s.checkBucket(ctx, cfg); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *S3) checkBucket(ctx context.Context, cfg S3Config) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob: %s is not reachable: %w", s.location, err)
	}
	if ok {
		return nil
	}
	if !cfg.CreateBucket {
		return fmt.Errorf("blob: %s: %w", s.location, ErrBucketMissing)
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: cfg.Region})
	if code := s3Code(err); code == minio.BucketAlreadyOwnedByYou || code == minio.BucketAlreadyExists {
		// Another process made it first, or the name is someone else's:
		// only ours answers HEAD.
		if ok, herr := s.client.BucketExists(ctx, s.bucket); ok && herr == nil {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("blob: could not create %s: %w", s.location, err)
	}
	return nil
}

// Location describes where the blobs go, for logs (no credentials).
func (s *S3) Location() string { return s.location }

func (s *S3) object(key string) string { return s.prefix + key }

// Put stores data unless an object of its key and size is already there;
// see Store.
func (s *S3) Put(ctx context.Context, data []byte, contentType string) (string, error) {
	key, contentType, err := admit(ctx, data, contentType)
	if err != nil {
		return "", err
	}
	info, err := s.stat(ctx, key, "could not store the blob")
	if err == nil && info.Size == int64(len(data)) {
		return key, nil // content addressing makes Put idempotent
	} else if err != nil && listinggen.ErrorCode(err) != listinggen.ENOTFOUND {
		return "", err
	}
	sum := md5.Sum(data)
	opts := s.putOptions
	opts.ContentType = contentType
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err = s.core.PutObject(ctx, s.bucket, s.object(key), bytes.NewReader(data), int64(len(data)),
		base64.StdEncoding.EncodeToString(sum[:]), key, opts)
	if err != nil {
		return "", s.fail(err, "put", key, "could not store the blob")
	}
	return key, nil
}

// Stat returns the blob's Info from the object's metadata; see Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	return s.stat(ctx, key, "could not read the blob")
}

func (s *S3) stat(ctx context.Context, key, msg string) (Info, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	oi, err := s.client.StatObject(ctx, s.bucket, s.object(key), minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.fail(err, "stat", key, msg)
	}
	return objectInfo(key, oi), nil
}

// Open sends one GET, whose answer gives the Info and the body, and returns
// a reader that seeks without a request until it must read elsewhere; see
// Store. Reading goes on under ctx.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := checkKey(key); err != nil {
		return nil, Info{}, err
	}
	body, oi, _, err := s.core.GetObject(ctx, s.bucket, s.object(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, s.fail(err, "get", key, "could not read the blob")
	}
	return &objectReader{s: s, ctx: ctx, key: key, body: body, size: oi.Size}, objectInfo(key, oi), nil
}

// Get reads the whole object and checks that it hashes to key; see Store.
func (s *S3) Get(ctx context.Context, key string) ([]byte, Info, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	rc, info, err := s.Open(ctx, key)
	if err != nil {
		return nil, Info{}, err
	}
	defer rc.Close()
	data := make([]byte, info.Size)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, Info{}, s.fail(err, "get", key, "could not read the blob")
	}
	if Key(data) != key {
		return nil, Info{}, listinggen.WrapError(listinggen.EINTERNAL,
			fmt.Errorf("%s: object %s does not hash to its key", s.location, s.object(key)), "blob %s is corrupt", key)
	}
	return data, info, nil
}

func objectInfo(key string, oi minio.ObjectInfo) Info {
	return Info{Key: key, Size: oi.Size, ContentType: oi.ContentType, ModTime: oi.LastModified}
}

// s3Code returns the S3 error code in err's chain, or "".
func s3Code(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code
	}
	return ""
}

// fail maps an S3 error to the store's: a missing object is ENOTFOUND,
// anything else (network, credentials, missing bucket, timeout) is
// EUNAVAILABLE with a cause that names the operation and the object.
func (s *S3) fail(err error, op, key, msg string) error {
	if s3Code(err) == minio.NoSuchKey {
		return notFound(key)
	}
	return listinggen.WrapError(listinggen.EUNAVAILABLE, fmt.Errorf("s3 %s %s (%s): %w", op, s.object(key), s.location, err), "%s", msg)
}

// objectReader is the io.ReadSeeker Open returns. http.ServeContent seeks
// to the end and back to learn the size: the offset is kept here, and the
// body of the first GET is read until a read happens somewhere else, which
// sends a ranged GET from there.
type objectReader struct {
	s    *S3
	ctx  context.Context
	key  string
	body io.ReadCloser
	size int64
	pos  int64 // the caller's offset
	at   int64 // the body's offset
}

func (r *objectReader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if r.pos != r.at {
		r.body.Close()
		opts := minio.GetObjectOptions{}
		opts.SetRange(r.pos, r.size-1)
		body, _, _, err := r.s.core.GetObject(r.ctx, r.s.bucket, r.s.object(r.key), opts)
		if err != nil {
			r.body = io.NopCloser(bytes.NewReader(nil))
			return 0, r.s.fail(err, "get", r.key, "could not read the blob")
		}
		r.body, r.at = body, r.pos
	}
	n, err := r.body.Read(p)
	r.pos += int64(n)
	r.at += int64(n)
	if err == io.EOF && r.pos < r.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (r *objectReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("blob: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("blob: seek before the start of the blob")
	}
	r.pos = offset
	return offset, nil
}

func (r *objectReader) Close() error { return r.body.Close() }
