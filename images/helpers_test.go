package images

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/listinggen/listinggen/platform"

	"github.com/listinggen/listinggen"
)

// testdata is the repository's testdata/images (copies of the shared
// photos; tests never read outside the repository).
const testdata = "../testdata/images"

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// profileSpec is a platform profile's image specification.
func profileSpec(t testing.TB, name string) listinggen.ImageSpec {
	t.Helper()
	profiles, err := platform.Profiles()
	if err != nil {
		t.Fatal(err)
	}
	prof, ok := profiles[listinggen.Platform(name)]
	if !ok {
		t.Fatalf("no profile %q", name)
	}
	return prof.Images
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", code)
	}
	if got := listinggen.ErrorCode(err); got != code {
		t.Fatalf("err = %v (code %s), want code %s", err, got, code)
	}
}

// canary is a loopback listener that counts the connections it accepts.
// Tests point refused URLs at it and check that it saw none.
type canary struct {
	ln    net.Listener
	conns atomic.Int64
}

func newCanary(t *testing.T) *canary {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &canary{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.conns.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

func (c *canary) port() string {
	_, port, _ := net.SplitHostPort(c.ln.Addr().String())
	return port
}

func (c *canary) addr() string { return c.ln.Addr().String() }

func (c *canary) assertUntouched(t *testing.T) {
	t.Helper()
	time.Sleep(20 * time.Millisecond) // let a stray accept be counted
	if n := c.conns.Load(); n != 0 {
		t.Fatalf("the canary listener accepted %d connection(s); the fetcher must not connect", n)
	}
}

// server starts an httptest server and returns it with a fetcher that
// allow-lists it (and only it).
func server(t *testing.T, h http.Handler, mod func(*FetchConfig)) (*httptest.Server, *Fetcher) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := DefaultFetchConfig()
	cfg.AllowHosts = []string{srv.Listener.Addr().String()}
	if mod != nil {
		mod(&cfg)
	}
	f, err := NewFetcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, f
}

func pngBytes(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegBytes(t testing.TB, m image.Image, q int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var (
	colorRed  = color.NRGBA{255, 0, 0, 255}
	colorBlue = color.NRGBA{0, 0, 255, 255}
)

// halves returns a w×h image whose left half is left and right half right.
func halves(w, h int, left, right color.Color) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if x < w/2 {
				m.Set(x, y, left)
			} else {
				m.Set(x, y, right)
			}
		}
	}
	return m
}

// pngHeader returns a PNG signature and IHDR chunk (with a valid CRC)
// declaring w×h 8-bit RGBA pixels: 33 bytes, no pixel data.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // bit depth 8, colour type RGBA
	_ = binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	crc := crc32.NewIEEE()
	crc.Write([]byte("IHDR"))
	crc.Write(ihdr)
	b.WriteString("IHDR")
	b.Write(ihdr)
	_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	return b.Bytes()
}

// withExifOrientation inserts an APP1 Exif segment carrying orientation o
// right after the SOI marker of a JPEG.
func withExifOrientation(jpg []byte, o Orientation) []byte {
	tiff := []byte{
		'I', 'I', 42, 0, 8, 0, 0, 0, // little endian, IFD0 at 8
		1, 0, // one entry
		0x12, 0x01, 3, 0, 1, 0, 0, 0, byte(o), 0, 0, 0, // Orientation SHORT 1
		0, 0, 0, 0, // no next IFD
	}
	seg := append([]byte("Exif\x00\x00"), tiff...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// decodeVariant decodes a variant's bytes for inspection.
func decodeVariant(t testing.TB, v Variant) image.Image {
	t.Helper()
	m, err := jpeg.Decode(bytes.NewReader(v.Data))
	if err != nil {
		t.Fatalf("variant %s does not decode: %v", v.Name, err)
	}
	if m.Bounds().Dx() != v.Width || m.Bounds().Dy() != v.Height {
		t.Fatalf("variant %s is %v, reported %d×%d", v.Name, m.Bounds(), v.Width, v.Height)
	}
	return m
}

func rgbAt(m image.Image, x, y int) (r, g, b uint8) {
	c := color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
	return c.R, c.G, c.B
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
