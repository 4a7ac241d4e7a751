package images

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/listinggen/listinggen"
)

// FetchConfig configures the Fetcher.
type FetchConfig struct {
	// ConnectTimeout bounds the TCP connect and the TLS handshake.
	ConnectTimeout time.Duration
	// Timeout bounds the whole fetch: connect, redirects, headers and body.
	// A server that trickles bytes is cut off when it expires.
	Timeout time.Duration
	// MaxBytes is the largest body accepted; larger ones fail with ETOOLARGE.
	MaxBytes int64
	// MaxRedirects is how many redirects are followed (each one re-checked).
	MaxRedirects int
	// AllowHosts lists "host:port" pairs that may be fetched even though
	// they resolve to non-public addresses (tests, on-premise image servers).
	// Matching is on the host and port as written in the URL, before DNS.
	AllowHosts []string
	// UserAgent is sent with every request.
	UserAgent string
}

// DefaultFetchConfig returns the settings used by the service.
func DefaultFetchConfig() FetchConfig {
	return FetchConfig{
		ConnectTimeout: 5 * time.Second,
		Timeout:        20 * time.Second,
		MaxBytes:       20 << 20,
		MaxRedirects:   3,
		UserAgent:      "listinggen-image-fetcher/1.0",
	}
}

// Validate reports every problem with the config at once.
func (c FetchConfig) Validate() error {
	var errs []error
	if c.ConnectTimeout <= 0 {
		errs = append(errs, errors.New("images: fetch ConnectTimeout must be positive"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("images: fetch Timeout must be positive"))
	}
	if c.MaxBytes <= 0 {
		errs = append(errs, errors.New("images: fetch MaxBytes must be positive"))
	}
	if c.MaxRedirects < 0 {
		errs = append(errs, errors.New("images: fetch MaxRedirects must not be negative"))
	}
	for _, hp := range c.AllowHosts {
		if _, err := normalizeHostPort(hp); err != nil {
			errs = append(errs, fmt.Errorf("images: fetch AllowHosts entry %q: %w", hp, err))
		}
	}
	if strings.ContainsAny(c.UserAgent, "\r\n") {
		errs = append(errs, errors.New("images: fetch UserAgent must be one line"))
	}
	return errors.Join(errs...)
}

// normalizeHostPort returns "host:port" with a lower-case host and no IPv6
// brackets lost, or an error if s is not a host and a numeric port.
func normalizeHostPort(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", errors.New("must be host:port")
	}
	if host == "" {
		return "", errors.New("host is empty")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", errors.New("port must be a number from 1 to 65535")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.Unmap().String()
	}
	return net.JoinHostPort(strings.ToLower(strings.TrimSuffix(host, ".")), port), nil
}

// Fetched is a downloaded image file, not yet decoded.
type Fetched struct {
	// URL is the final URL after redirects.
	URL string
	// Data is the body, at most MaxBytes long.
	Data []byte
	// Format is sniffed from Data.
	Format Format
	// DeclaredType is the server's Content-Type, for logs only.
	DeclaredType string
}

// Fetcher downloads images over http and https without letting a URL reach
// internal addresses. Every address the client connects to (the first
// request and every redirect) is checked in the dialer's Control hook, after
// DNS resolution, so DNS rebinding cannot slip a private address past it.
// A Fetcher is safe for concurrent use.
type Fetcher struct {
	cfg    FetchConfig
	allow  map[string]bool
	client *http.Client
}

// NewFetcher returns a Fetcher; cfg must be valid.
func NewFetcher(cfg FetchConfig) (*Fetcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f := &Fetcher{cfg: cfg, allow: make(map[string]bool)}
	for _, hp := range cfg.AllowHosts {
		n, _ := normalizeHostPort(hp)
		f.allow[n] = true
	}
	guarded := &net.Dialer{Timeout: cfg.ConnectTimeout, Control: controlDial, KeepAlive: 30 * time.Second}
	trusted := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		// Never a proxy from the environment: the check must see the
		// address actually dialled.
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if f.allowed(addr) {
				return trusted.DialContext(ctx, network, addr)
			}
			// Refuse IP literals before any socket exists, with a clear
			// message; host names are checked per resolved address in
			// controlDial.
			if host, _, err := net.SplitHostPort(addr); err == nil {
				if ip, err := netip.ParseAddr(host); err == nil {
					if err := CheckAddr(ip); err != nil {
						return nil, blockedError(err)
					}
				}
			}
			return guarded.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   cfg.ConnectTimeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true, // images do not compress; no gzip bombs
		ForceAttemptHTTP2:     true,
	}
	f.client = &http.Client{
		Transport:     transport,
		CheckRedirect: f.checkRedirect,
	}
	return f, nil
}

func (f *Fetcher) allowed(addr string) bool {
	if len(f.allow) == 0 {
		return false
	}
	n, err := normalizeHostPort(addr)
	return err == nil && f.allow[n]
}

// controlDial runs after DNS resolution, just before connect(2), for every
// address the dialer tries.
func controlDial(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return blockedError(fmt.Errorf("unparsable address %q", address))
	}
	if err := CheckAddr(ap.Addr()); err != nil {
		return blockedError(err)
	}
	return nil
}

func blockedError(cause error) *listinggen.Error {
	return listinggen.Errorf(listinggen.EFORBIDDEN, "refused to fetch from a non-public address: %v", cause)
}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.cfg.MaxRedirects {
		return listinggen.Errorf(listinggen.EINVALID, "too many redirects (more than %d)", f.cfg.MaxRedirects)
	}
	if err := checkURL(req.URL); err != nil {
		return listinggen.Errorf(listinggen.ErrorCode(err), "redirect to %s refused: %s", redactURL(req.URL), listinggen.ErrorMessage(err))
	}
	if f.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", f.cfg.UserAgent)
	}
	return nil
}

// checkURL refuses anything but an absolute http(s) URL with a host.
func checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return listinggen.Errorf(listinggen.EINVALID, "only http and https URLs are fetched, not %q", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return listinggen.Errorf(listinggen.EINVALID, "the URL has no host")
	}
	if u.User != nil {
		return listinggen.Errorf(listinggen.EINVALID, "URLs with credentials are not fetched")
	}
	return nil
}

// redactURL returns scheme://host/path for messages: no query, which may
// carry signatures.
func redactURL(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// Fetch downloads rawURL. Errors are *listinggen.Error: EINVALID for a bad
// URL, a non-image body or a 4xx answer; EFORBIDDEN for a non-public
// address; ETOOLARGE for a body above MaxBytes; EUNAVAILABLE for network
// failures, 5xx answers and timeouts.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (*Fetched, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, listinggen.Errorf(listinggen.EINVALID, "invalid image URL")
	}
	if err := checkURL(u); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, listinggen.WrapError(listinggen.EINVALID, err, "invalid image URL")
	}
	if f.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", f.cfg.UserAgent)
	}
	req.Header.Set("Accept", "image/jpeg,image/png,image/webp,image/gif;q=0.8")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, f.transportError(ctx, err, "fetching")
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		code := listinggen.EUNAVAILABLE
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
			code = listinggen.EINVALID
		}
		return nil, listinggen.Errorf(code, "the image server answered %s", resp.Status)
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		return nil, listinggen.Errorf(listinggen.ETOOLARGE,
			"the image is %d bytes, more than the limit of %d bytes", resp.ContentLength, f.cfg.MaxBytes)
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength) + 1)
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, f.cfg.MaxBytes+1))
	if err != nil {
		return nil, f.transportError(ctx, err, "reading the body of")
	}
	if n > f.cfg.MaxBytes {
		return nil, listinggen.Errorf(listinggen.ETOOLARGE,
			"the image is more than the limit of %d bytes", f.cfg.MaxBytes)
	}
	data := buf.Bytes()
	format, err := Sniff(data)
	if err != nil {
		return nil, err
	}
	return &Fetched{URL: resp.Request.URL.String(), Data: data, Format: format, DeclaredType: resp.Header.Get("Content-Type")}, nil
}

// transportError turns a client or body-read error into a listinggen.Error
// whose message names the reason without internal detail.
func (f *Fetcher) transportError(ctx context.Context, err error, doing string) error {
	var le *listinggen.Error
	if errors.As(err, &le) {
		return le
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return listinggen.WrapError(listinggen.EUNAVAILABLE, err,
			"timed out after %s %s the image", f.cfg.Timeout, doing)
	}
	if ctx.Err() != nil {
		return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "canceled while %s the image", doing)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "the image host %q does not exist", dnsErr.Name)
		}
		return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "could not resolve the image host %q", dnsErr.Name)
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "timed out connecting to the image server")
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "the image server refused the connection")
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "the image server closed the connection while %s the image", doing)
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "the image server's TLS certificate is not valid")
	}
	return listinggen.WrapError(listinggen.EUNAVAILABLE, err, "network error while %s the image", doing)
}
