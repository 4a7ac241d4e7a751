package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/sample"
)

// A product whose images are on an allow-listed local server gets real
// variants, served immutable with a strong ETag; an upload works too.
func TestImagesEndToEnd(t *testing.T) {
	t.Parallel()
	photo, err := os.ReadFile(sample.Path("images/large/coffee-1500.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	imgSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(photo) }))
	defer imgSrv.Close()
	s := startServer(t, t.TempDir(), map[string]string{"IMAGES": "on", "IMAGES_ALLOW_HOSTS": strings.TrimPrefix(imgSrv.URL, "http://")})
	shop := createShop(t, s, "抖店", "douyin")
	// A product of the sample catalogue, its first image on the local
	// server and its second on a private address that must be refused.
	product := sample.Products(t)[2]
	product.Images = []listinggen.ImageRef{{URL: imgSrv.URL + "/a.jpg"}, {URL: "http://10.1.2.3/b.jpg"}}
	body, _ := json.Marshal(map[string]any{"product": product, "shop_ids": []string{shop.ID}})
	var out generateJSON
	if resp := s.do("POST", "/v1/generate", body, &out); resp.StatusCode != http.StatusOK {
		t.Fatalf("generate: %d", resp.StatusCode)
	}
	l := out.Listings[0]
	if l.ImagesStatus != "partial" || l.Status != "draft" || len(l.ImageErrors) != 1 || l.ImageErrors[0].Code != "forbidden" ||
		l.Images[0].Status != "ready" || len(l.Images[0].PHash) != 16 || len(l.Images[0].Variants) < 3 {
		t.Fatalf("listing images: %+v %+v %s", l.Images, l.ImageErrors, l.ImagesStatus)
	}
	// Douyin, apparel (男装/POLO衫): a 1:1 main and a 3:4 main, at least
	// 600 px, at most 1 MB each.
	var main struct {
		Name          string
		URL           string
		Width, Height int
		Bytes         int
	}
	shapes := map[string]bool{}
	for _, v := range l.Images[0].Variants {
		if v.Name == "main" {
			main = v
		}
		if strings.HasPrefix(v.Name, "main") {
			shapes[fmt.Sprintf("%d:%d", v.Width*4/v.Height, 4)] = true
			if v.Width < 600 || v.Bytes > 1<<20 {
				t.Errorf("variant %+v breaks Douyin's main image rules", v)
			}
		}
	}
	if main.Width != 800 || main.Height != 800 || !shapes["4:4"] || !shapes["3:4"] {
		t.Errorf("main variants %+v", l.Images[0].Variants)
	}
	resp, err := http.Get(s.url + main.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(body)); err != nil || cfg.Width != 800 || cfg.Height != 800 {
		t.Errorf("served variant does not decode as an 800x800 JPEG: %+v %v", cfg, err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || len(body) != main.Bytes || etag == "" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("GET variant: %d %v (%d bytes)", resp.StatusCode, resp.Header, len(body))
	}
	req, _ := http.NewRequest("GET", s.url+main.URL, nil)
	req.Header.Set("If-None-Match", etag)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET: %v %v", resp.StatusCode, err)
	}
	for _, bad := range []string{"/v1/images/../../etc/passwd/main.jpg", "/v1/images/" + strings.Repeat("0", 64) + "/main.jpg", "/v1/images/abc/main.jpg"} {
		if resp := s.do("GET", bad, nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d", bad, resp.StatusCode)
		}
	}

	// A shop overrides its platform's image rules; a bad override is refused.
	var small shopJSON
	if resp := s.do("POST", "/v1/shops", map[string]any{"name": "小图店", "platform": "douyin",
		"rules": map[string]any{"images": map[string]any{"main_max_bytes": 120000, "main_ratio": "3:4"}}}, &small); resp.StatusCode != http.StatusCreated {
		t.Fatalf("shop with image overrides: %d", resp.StatusCode)
	}
	cup := sample.Products(t)[40] // not apparel
	cup.Images = []listinggen.ImageRef{{URL: imgSrv.URL + "/c.jpg"}}
	body, _ = json.Marshal(map[string]any{"product": cup, "shop_ids": []string{small.ID}})
	var out2 generateJSON
	s.do("POST", "/v1/generate", body, &out2)
	if v := out2.Listings[0].Images[0].Variants[0]; v.Name != "main" || v.Width*4 != v.Height*3 || v.Bytes > 120000 {
		t.Errorf("overridden main variant %+v", v)
	}
	var p0 problem
	if resp := s.do("POST", "/v1/shops", map[string]any{"name": "坏", "platform": "douyin",
		"rules": map[string]any{"images": map[string]any{"main_ratio": "wide"}}}, &p0); resp.StatusCode != 422 || !slices.Contains(p0.fields(), "rules.images") {
		t.Errorf("bad image override: %d %+v", resp.StatusCode, p0)
	}

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("platform", "taobao")
	mw.WriteField("category", "女装/连衣裙")
	fw, _ := mw.CreateFormFile("file", "coffee.jpg")
	fw.Write(photo)
	mw.Close()
	up, err := http.Post(s.url+"/v1/images", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	var img struct {
		Variants []struct {
			Name          string
			Width, Height int
		}
	}
	json.NewDecoder(up.Body).Decode(&img)
	up.Body.Close()
	names := ""
	for _, v := range img.Variants {
		names += fmt.Sprintf("%s:%dx%d ", v.Name, v.Width, v.Height)
	}
	if up.StatusCode != http.StatusCreated || !strings.Contains(names, "main_3x4:750x1000") {
		t.Errorf("upload for apparel on taobao: %d %s", up.StatusCode, names)
	}
	var p problem
	if resp := s.do("POST", "/v1/images", map[string]string{"url": "http://127.0.0.1:9/x.jpg", "platform": "douyin"}, &p); resp.StatusCode != http.StatusForbidden {
		t.Errorf("loopback URL: %d %+v", resp.StatusCode, p)
	}
	if resp := s.do("POST", "/v1/images", map[string]string{"url": imgSrv.URL + "/x.jpg", "platform": "amazon"}, &p); resp.StatusCode != 422 {
		t.Errorf("unknown platform: %d", resp.StatusCode)
	}
}
