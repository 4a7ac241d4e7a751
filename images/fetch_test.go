package images

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
)

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	// Only parsed, never contacted.
	blocked := []string{
		"127.0.0.1", "127.1.2.3", "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255",
		"172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
		"100.127.255.254", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1",
		"192.0.0.8", "192.0.2.1", "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9",
		"::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0",
		"::127.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1",
		"2002:7f00:1::", "2002:c0a8:101::1", "2001:db8::1", "2001::1", "3fff::1", "100::1",
	}
	allowed := []string{
		"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.15.255.255", "172.32.0.1", "100.63.255.255",
		"100.128.0.1", "192.169.0.1", "11.0.0.1", "223.255.255.255",
		"2606:4700:4700::1111", "2404:6800:4008:c07::5e", "::ffff:8.8.8.8", "64:ff9b::808:808",
		"2002:808:808::1",
	}
	for _, s := range blocked {
		if err := CheckAddr(netip.MustParseAddr(s)); err == nil {
			t.Errorf("CheckAddr(%s) = nil, want refused", s)
		} else if !strings.Contains(err.Error(), "not a public address") {
			t.Errorf("CheckAddr(%s) = %v: message does not name the reason", s, err)
		}
	}
	for _, s := range allowed {
		if err := CheckAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("CheckAddr(%s) = %v, want allowed", s, err)
		}
	}
	if err := CheckAddr(netip.Addr{}); err == nil {
		t.Error("the zero Addr was allowed")
	}
}

func TestControlDialRefusesBlockedAddresses(t *testing.T) {
	t.Parallel()
	// The dialer's Control hook sees the resolved ip:port; called directly,
	// nothing is dialled.
	for _, addr := range []string{"127.0.0.1:80", "[::1]:443", "10.1.2.3:8080", "169.254.169.254:80", "[::ffff:192.168.0.1]:80", "[fd00::1]:80"} {
		err := controlDial("tcp", addr, nil)
		wantCode(t, err, listinggen.EFORBIDDEN)
	}
	if err := controlDial("tcp", "8.8.8.8:443", nil); err != nil {
		t.Fatalf("a public address was refused: %v", err)
	}
	wantCode(t, controlDial("tcp", "not-an-address", nil), listinggen.EFORBIDDEN)
}

func TestFetchRefusesNonPublicAddressesWithoutConnecting(t *testing.T) {
	t.Parallel()
	c := newCanary(t)
	f, err := NewFetcher(DefaultFetchConfig()) // no allow-list
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"http://" + c.addr() + "/a.jpg",                     // loopback literal
		"http://[::ffff:127.0.0.1]:" + c.port() + "/a.jpg",  // IPv4-mapped loopback
		"http://localhost:" + c.port() + "/a.jpg",           // a name resolving to loopback: caught at dial time
		"https://localhost:" + c.port() + "/a.jpg",          // same over TLS
		"http://0.0.0.0:" + c.port() + "/a.jpg",             // unspecified reaches the local host on Linux
		"http://10.0.0.1/a.jpg", "http://192.168.1.1/a.jpg", // private literals
		"http://169.254.169.254/latest/meta-data/", // link-local (cloud metadata)
		"http://100.64.0.1/a.jpg", "http://[fd00::1]/a.jpg", "http://[fe80::1]/a.jpg",
	} {
		start := time.Now()
		_, err := f.Fetch(context.Background(), u)
		if err == nil {
			t.Fatalf("Fetch(%s) succeeded", u)
		}
		if listinggen.ErrorCode(err) != listinggen.EFORBIDDEN {
			t.Errorf("Fetch(%s) = %v, want EFORBIDDEN", u, err)
		}
		if !strings.Contains(listinggen.ErrorMessage(err), "non-public address") {
			t.Errorf("Fetch(%s) message %q does not name the reason", u, listinggen.ErrorMessage(err))
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Fetch(%s) took %v to refuse", u, d)
		}
	}
	c.assertUntouched(t)
}

func TestFetchRefusesRedirectsToNonPublicAddresses(t *testing.T) {
	t.Parallel()
	c := newCanary(t)
	targets := map[string]string{
		"/literal": "http://" + c.addr() + "/secret.jpg",
		"/name":    "http://localhost:" + c.port() + "/secret.jpg",
		"/mapped":  "http://[::ffff:127.0.0.1]:" + c.port() + "/secret.jpg",
		"/private": "http://10.0.0.1/secret.jpg",
		"/meta":    "http://169.254.169.254/latest/meta-data/",
	}
	srv, f := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, targets[r.URL.Path], http.StatusFound)
	}), nil)
	for path := range targets {
		_, err := f.Fetch(context.Background(), srv.URL+path)
		wantCode(t, err, listinggen.EFORBIDDEN)
		if !strings.Contains(listinggen.ErrorMessage(err), "non-public address") {
			t.Errorf("%s: message %q", path, listinggen.ErrorMessage(err))
		}
	}
	c.assertUntouched(t)
}

func TestFetchRedirectRules(t *testing.T) {
	t.Parallel()
	img := pngBytes(t, halves(4, 4, colorRed, colorBlue))
	srv, f := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/hop/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
			if n == 0 {
				w.Write(img)
				return
			}
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
		case r.URL.Path == "/file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case r.URL.Path == "/ftp":
			http.Redirect(w, r, "ftp://example.com/a.jpg", http.StatusFound)
		}
	}), nil)
	if got, err := f.Fetch(context.Background(), srv.URL+"/hop/3"); err != nil || got.Format != FormatPNG {
		t.Fatalf("3 redirects: %v, %v; want the image", got, err)
	}
	_, err := f.Fetch(context.Background(), srv.URL+"/hop/4")
	wantCode(t, err, listinggen.EINVALID)
	if !strings.Contains(listinggen.ErrorMessage(err), "too many redirects") {
		t.Fatalf("message %q", listinggen.ErrorMessage(err))
	}
	for _, p := range []string{"/file", "/ftp"} {
		_, err := f.Fetch(context.Background(), srv.URL+p)
		wantCode(t, err, listinggen.EINVALID)
	}
}

func TestFetchRefusesBadURLs(t *testing.T) {
	t.Parallel()
	f, err := NewFetcher(DefaultFetchConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"file:///etc/passwd", "ftp://example.com/a.jpg", "gopher://x", "/relative.jpg", "http://", "http://user:pw@example.com/a.jpg", "::"} {
		_, err := f.Fetch(context.Background(), u)
		wantCode(t, err, listinggen.EINVALID)
	}
}

func TestFetchAllowListedHostWorks(t *testing.T) {
	t.Parallel()
	img := readTestdata(t, "rocket.jpg")
	var ua string
	srv, f := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua = r.Header.Get("User-Agent")
		w.Header().Set("Content-Type", "text/html") // lies; the bytes decide
		w.Write(img)
	}), nil)
	got, err := f.Fetch(context.Background(), srv.URL+"/rocket.jpg?sig=abc")
	if err != nil {
		t.Fatal(err)
	}
	if got.Format != FormatJPEG || !bytes.Equal(got.Data, img) || got.DeclaredType != "text/html" {
		t.Fatalf("got format %s, %d bytes, declared %q", got.Format, len(got.Data), got.DeclaredType)
	}
	if ua != DefaultFetchConfig().UserAgent {
		t.Fatalf("User-Agent = %q", ua)
	}

	// The same server under a name that is not allow-listed is refused.
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	_, err = f.Fetch(context.Background(), "http://localhost:"+port+"/rocket.jpg")
	wantCode(t, err, listinggen.EFORBIDDEN)
}

func TestFetchRefusesBodiesAboveTheLimit(t *testing.T) {
	t.Parallel()
	const size = 25 << 20
	srv, f := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/declared" {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		// Otherwise chunked: no length to check up front.
		chunk := bytes.Repeat([]byte{0xFF}, 64<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}), nil)
	for _, p := range []string{"/declared", "/chunked"} {
		start := time.Now()
		_, err := f.Fetch(context.Background(), srv.URL+p)
		wantCode(t, err, listinggen.ETOOLARGE)
		if !strings.Contains(listinggen.ErrorMessage(err), "limit of 20971520 bytes") {
			t.Errorf("%s: message %q does not name the limit", p, listinggen.ErrorMessage(err))
		}
		t.Logf("%s refused in %v", p, time.Since(start))
	}
}

func TestFetchEndsATricklingServerWithinTheTimeout(t *testing.T) {
	t.Parallel()
	srv, f := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write([]byte{0xFF, 0xD8, 0xFF})
		for {
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := w.Write([]byte{0}); err != nil {
				return
			}
		}
	}), func(c *FetchConfig) { c.Timeout = 700 * time.Millisecond })
	start := time.Now()
	_, err := f.Fetch(context.Background(), srv.URL+"/slow.jpg")
	elapsed := time.Since(start)
	wantCode(t, err, listinggen.EUNAVAILABLE)
	if !strings.Contains(listinggen.ErrorMessage(err), "timed out") {
		t.Fatalf("message %q does not say it timed out", listinggen.ErrorMessage(err))
	}
	if elapsed > 3*time.Second {
		t.Fatalf("the fetch took %v; the timeout is 700ms", elapsed)
	}
	t.Logf("trickling server cut off after %v", elapsed)
}

func TestFetchTimesOutWaitingForHeaders(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv, f := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}), func(c *FetchConfig) { c.Timeout = 300 * time.Millisecond })
	defer close(release)
	start := time.Now()
	_, err := f.Fetch(context.Background(), srv.URL)
	wantCode(t, err, listinggen.EUNAVAILABLE)
	if time.Since(start) > 3*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
}

func TestFetchSniffsTheFormatAndMapsStatuses(t *testing.T) {
	t.Parallel()
	srv, f := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/text.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			io.WriteString(w, "this is not an image, whatever the name and the header say\n")
		case "/page.png":
			io.WriteString(w, "<!doctype html><html><body>404</body></html>")
		case "/empty.jpg":
		case "/missing.jpg":
			http.NotFound(w, r)
		case "/down.jpg":
			http.Error(w, "down", http.StatusServiceUnavailable)
		case "/webp":
			w.Write(readTestdata(t, "chelsea-small.webp"))
		}
	}), nil)
	cases := []struct {
		path, code, msg string
	}{
		{"/text.jpg", listinggen.EINVALID, "text/plain"},
		{"/page.png", listinggen.EINVALID, "text/html"},
		{"/empty.jpg", listinggen.EINVALID, "empty"},
		{"/missing.jpg", listinggen.EINVALID, "404"},
		{"/down.jpg", listinggen.EUNAVAILABLE, "503"},
	}
	for _, c := range cases {
		_, err := f.Fetch(context.Background(), srv.URL+c.path)
		wantCode(t, err, c.code)
		if !strings.Contains(listinggen.ErrorMessage(err), c.msg) {
			t.Errorf("%s: message %q does not mention %q", c.path, listinggen.ErrorMessage(err), c.msg)
		}
	}
	got, err := f.Fetch(context.Background(), srv.URL+"/webp")
	if err != nil || got.Format != FormatWebP {
		t.Fatalf("webp: %v, %v", got, err)
	}
}

func TestFetchConnectionRefusedIsUnavailable(t *testing.T) {
	t.Parallel()
	c := newCanary(t)
	addr := c.addr()
	c.ln.Close() // nothing listens there now
	cfg := DefaultFetchConfig()
	cfg.AllowHosts = []string{addr}
	f, err := NewFetcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Fetch(context.Background(), "http://"+addr+"/a.jpg")
	wantCode(t, err, listinggen.EUNAVAILABLE)
}

func TestFetchConfigValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultFetchConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := FetchConfig{MaxRedirects: -1, AllowHosts: []string{"nohost", ":80", "h:0", "h:http"}, UserAgent: "a\r\nb"}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"ConnectTimeout", "Timeout", "MaxBytes", "MaxRedirects", `"nohost"`, `":80"`, `"h:0"`, `"h:http"`, "UserAgent"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not report %s: %v", want, err)
		}
	}
	good := DefaultFetchConfig()
	good.AllowHosts = []string{"Images.Internal:8080", "[::1]:9000", "127.0.0.1:1"}
	f, err := NewFetcher(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"images.internal:8080", "IMAGES.INTERNAL:8080", "[::1]:9000", "127.0.0.1:1"} {
		if !f.allowed(a) {
			t.Errorf("%s not allowed", a)
		}
	}
	for _, a := range []string{"images.internal:8081", "127.0.0.1:2", "[::1]:9001"} {
		if f.allowed(a) {
			t.Errorf("%s allowed", a)
		}
	}
}
