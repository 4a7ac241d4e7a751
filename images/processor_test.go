package images

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/blob"
)

func newProcessor(t *testing.T, allow string, mod func(*Config)) (*Processor, *blob.Local) {
	t.Helper()
	store, err := blob.NewLocal(blob.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if allow != "" {
		cfg.Fetch.AllowHosts = []string{allow}
	}
	cfg.Fetch.Timeout = 2 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	p, err := NewProcessor(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return p, store
}

func TestProcessorRecordsEachFailureAndKeepsTheRest(t *testing.T) {
	t.Parallel()
	canary := newCanary(t)
	rocket := readTestdata(t, "rocket.jpg")
	mux := http.NewServeMux()
	mux.HandleFunc("/rocket.jpg", func(w http.ResponseWriter, r *http.Request) { w.Write(rocket) })
	mux.HandleFunc("/chelsea.png", func(w http.ResponseWriter, r *http.Request) { w.Write(readTestdata(t, "chelsea.png")) })
	mux.HandleFunc("/text.jpg", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "just some text\n") })
	mux.HandleFunc("/truncated.jpg", func(w http.ResponseWriter, r *http.Request) { w.Write(rocket[:len(rocket)/3]) })
	mux.HandleFunc("/bomb.png", func(w http.ResponseWriter, r *http.Request) { w.Write(pngHeader(100000, 100000)) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+canary.addr()+"/x.jpg", http.StatusFound)
	})
	mux.HandleFunc("/slow.jpg", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte{0xFF, 0xD8, 0xFF})
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv, _ := server(t, mux, nil)
	p, store := newProcessor(t, srv.Listener.Addr().String(), nil)

	inputs := []listinggen.ImageInput{
		{URL: srv.URL + "/rocket.jpg"},
		{URL: srv.URL + "/text.jpg"},
		{URL: "http://" + canary.addr() + "/direct.jpg"},
		{URL: srv.URL + "/truncated.jpg"},
		{Data: readTestdata(t, "chelsea-small.webp"), Name: "upload:cat.webp"},
		{URL: srv.URL + "/bomb.png"},
		{URL: srv.URL + "/redirect"},
		{URL: srv.URL + "/slow.jpg"},
		{URL: srv.URL + "/chelsea.png"},
		{URL: "ftp://example.com/a.jpg"},
	}
	spec := profileSpec(t, "douyin").ForCategory("女装/连衣裙")
	start := time.Now()
	res, err := p.Process(context.Background(), spec, inputs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("processed %d inputs in %v", len(inputs), time.Since(start))
	if time.Since(start) > 10*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}

	wantErr := map[int]string{
		1: listinggen.EINVALID, 2: listinggen.EFORBIDDEN, 3: listinggen.EINVALID, 4: listinggen.EINVALID, 5: listinggen.ETOOLARGE,
		6: listinggen.EFORBIDDEN, 7: listinggen.EUNAVAILABLE, 9: listinggen.EINVALID,
	}
	if len(res.Errors) != len(wantErr) {
		t.Fatalf("errors %+v", res.Errors)
	}
	for _, e := range res.Errors {
		if wantErr[e.Index] != e.Code {
			t.Errorf("input %d (%s): code %s %q, want %s", e.Index, e.URL, e.Code, e.Reason, wantErr[e.Index])
		}
		if e.URL != inputs[e.Index].Label() || e.Reason == "" {
			t.Errorf("error %+v does not name the URL and a reason", e)
		}
	}
	// The upload is too small (226×150) for an 800 px main: 3.5× enlargement.
	// So the successes are rocket (640×427: 1.25×) and chelsea.png.
	var got []int
	for _, im := range res.Images {
		got = append(got, im.Index)
	}
	if len(got) != 2 || got[0] != 0 || got[1] != 8 {
		t.Fatalf("images %v; errors %+v", got, res.Errors)
	}
	if !res.HasMain() {
		t.Fatal("HasMain = false")
	}
	rk := res.Images[0]
	if rk.Format != string(FormatJPEG) || rk.Width != 640 || rk.Height != 427 || rk.Bytes != len(rocket) || rk.SHA256 != blob.Key(rocket) || rk.PHash == 0 {
		t.Fatalf("rocket %+v", rk)
	}
	names := []string{}
	for _, v := range rk.Variants {
		names = append(names, v.Name)
		info, err := store.Stat(context.Background(), v.SHA256)
		if err != nil || info.Size != int64(v.Bytes) || info.ContentType != "image/jpeg" {
			t.Errorf("variant %s in the store: %+v, %v", v.Name, info, err)
		}
	}
	if strings.Join(names, ",") != "main,main_3x4,thumb" {
		t.Fatalf("variants %v", names)
	}
	if !res.HasMain() {
		t.Fatal("HasMain is false with a main variant made")
	}
	canary.assertUntouched(t)
}

func TestProcessorBoundsConcurrency(t *testing.T) {
	t.Parallel()
	img := readTestdata(t, "chelsea-small.webp")
	var inFlight, peak atomic.Int64
	srv, _ := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		w.Write(img)
	}), nil)
	p, _ := newProcessor(t, srv.Listener.Addr().String(), func(c *Config) {
		c.Concurrency = 3
		c.Render.ThumbnailSize = 0
		c.Render.MainSide = 200
	})
	spec := listinggen.ImageSpec{MainRatio: listinggen.ImageRatio{W: 1, H: 1}, MainMaxBytes: 1 << 20}
	var inputs []listinggen.ImageInput
	for i := 0; i < 8; i++ {
		inputs = append(inputs, listinggen.ImageInput{URL: srv.URL + "/" + strconv.Itoa(i) + ".jpg"})
	}
	// Two products at once share the processor's bound.
	var wg sync.WaitGroup
	for k := 0; k < 2; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := p.Process(context.Background(), spec, inputs)
			if err != nil || len(res.Images) != len(inputs) {
				t.Errorf("Process: %d images, %+v, %v", len(res.Images), res.Errors, err)
			}
		}()
	}
	wg.Wait()
	if got := peak.Load(); got > 3 || got < 2 {
		t.Fatalf("peak concurrent fetches %d, want 2–3 (bound 3)", got)
	}
}

func TestProcessorStopsOnCancel(t *testing.T) {
	t.Parallel()
	srv, _ := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}), nil)
	p, _ := newProcessor(t, srv.Listener.Addr().String(), func(c *Config) { c.Fetch.Timeout = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := p.Process(ctx, profileSpec(t, "generic"), []listinggen.ImageInput{{URL: srv.URL + "/a.jpg"}, {URL: srv.URL + "/b.jpg"}})
	if err == nil || len(res.Errors) != 2 {
		t.Fatalf("err %v, errors %+v", err, res.Errors)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v after cancel", d)
	}
	if res.HasMain() {
		t.Fatal("HasMain")
	}
}

func TestProcessOneAndUploadLimits(t *testing.T) {
	t.Parallel()
	p, _ := newProcessor(t, "", nil)
	spec := profileSpec(t, "generic")
	im, err := p.ProcessOne(context.Background(), spec, listinggen.ImageInput{Data: readTestdata(t, "large/chelsea-1500.jpg"), Name: "upload:chelsea.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	if im.URL != "upload:chelsea.jpg" || len(im.Variants) != 2 {
		t.Fatalf("%+v", im)
	}
	_, err = p.ProcessOne(context.Background(), spec, listinggen.ImageInput{Data: make([]byte, 21<<20), Name: "big"})
	wantCode(t, err, listinggen.ETOOLARGE)
	_, err = p.ProcessOne(context.Background(), spec, listinggen.ImageInput{Data: []byte("hello"), Name: "t.jpg"})
	wantCode(t, err, listinggen.EINVALID)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Concurrency, c.DecodeConcurrency, c.Limits.MaxPixels, c.Fetch.Timeout = 0, 0, 0, 0
	err := c.Validate()
	for _, want := range []string{"Concurrency", "DecodeConcurrency", "MaxPixels", "Timeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not report %s: %v", want, err)
		}
	}
	if _, err := NewProcessor(DefaultConfig(), nil, slog.Default()); err == nil {
		t.Error("NewProcessor without a store")
	}
}

// TestPeakRSS processes 8 photos of 3000×2000 at once and reports the
// process's peak resident set. It runs only when LISTINGGEN_IMAGES_RSS is
// set (scripts/bench-images.sh sets it, alone in its process): peak RSS is
// per process, and -race multiplies memory. LISTINGGEN_IMAGES_RSS=full
// asks for a 2000 px main image, which needs the full-size decode (no
// shrink-on-load): the worst case.
func TestPeakRSS(t *testing.T) {
	mode := os.Getenv("LISTINGGEN_IMAGES_RSS")
	if mode == "" {
		t.Skip("set LISTINGGEN_IMAGES_RSS=1 to measure peak RSS (scripts/bench-images.sh)")
	}
	data := readTestdata(t, "large/coffee-3000x2000.jpg")
	p, _ := newProcessor(t, "", func(c *Config) {
		c.Concurrency, c.DecodeConcurrency = 8, 8
		if mode == "full" {
			c.Render.MainSide = 2000
		}
	})
	var inputs []listinggen.ImageInput
	for i := 0; i < 8; i++ {
		inputs = append(inputs, listinggen.ImageInput{Data: data, Name: "coffee-" + strconv.Itoa(i)})
	}
	spec := profileSpec(t, "douyin").ForCategory("女装")
	if mode == "full" {
		spec.MainMaxBytes = 0
	}
	start := time.Now()
	res, err := p.Process(context.Background(), spec, inputs)
	if err != nil || len(res.Images) != 8 {
		t.Fatalf("%d images, %+v, %v", len(res.Images), res.Errors, err)
	}
	elapsed := time.Since(start)
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	var hwm int64
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			hwm, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	mb := float64(hwm) / 1024
	// The line scripts/bench-images.sh reads.
	t.Logf("PEAK_RSS_MB %.0f (8 × 3000×2000 concurrently, variants main %d px + main_3x4 + thumb, GOMAXPROCS=%d, %v)",
		mb, p.cfg.Render.MainSide, runtime.GOMAXPROCS(0), elapsed)
	if mb > 400 {
		t.Errorf("peak RSS %.0f MB, above the 400 MB target", mb)
	}
}
