package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/blob"
	"github.com/listinggen/listinggen/internal/pgtest"
	"github.com/listinggen/listinggen/internal/s3test"
	"github.com/listinggen/listinggen/internal/sample"
)

// With BLOB_S3_* set, serve stores image variants in the bucket, not on
// disk, and (on PostgreSQL, where processes share the image owners) a
// second server on another data directory serves what the first made.
func TestImagesInS3(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	photo, err := os.ReadFile(sample.Path("images/large/coffee-1500.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	imgSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(photo) }))
	defer imgSrv.Close()
	env := map[string]string{
		"IMAGES": "on", "IMAGES_ALLOW_HOSTS": strings.TrimPrefix(imgSrv.URL, "http://"),
		"BLOB_S3_ENDPOINT": srv.Endpoint, "BLOB_S3_BUCKET": "listing-images", "BLOB_S3_REGION": s3test.Region,
		"BLOB_S3_ACCESS_KEY": s3test.AccessKey, "BLOB_S3_SECRET_KEY": s3test.SecretKey,
		"BLOB_S3_PREFIX": "prod/variants", "BLOB_S3_CREATE_BUCKET": "true", "BLOB_S3_PATH_STYLE": "true",
	}
	shared := pgtest.Available(t)
	if shared {
		env["DATABASE_URL"] = pgtest.FreshDatabase(t)
	}
	dir := t.TempDir()
	a := startServer(t, dir, env)
	if !strings.Contains(a.logs.String(), "s3://listing-images/prod/variants/ at "+srv.Endpoint) {
		t.Errorf("the start log does not say where variants go:\n%s", a.logs.String())
	}
	shop := createShop(t, a, "抖店", "douyin")
	product := sample.Products(t)[2]
	product.Images = []listinggen.ImageRef{{URL: imgSrv.URL + "/a.jpg"}}
	body, _ := json.Marshal(map[string]any{"product": product, "shop_ids": []string{shop.ID}})
	var out generateJSON
	if resp := a.do("POST", "/v1/generate", body, &out); resp.StatusCode != http.StatusOK {
		t.Fatalf("generate: %d", resp.StatusCode)
	}
	img := out.Listings[0].Images[0]
	if img.Status != "ready" || len(img.Variants) < 3 {
		t.Fatalf("image %+v", img)
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs")); !os.IsNotExist(err) {
		t.Errorf("DATA_DIR/blobs exists with S3 configured: %v", err)
	}

	// Every variant is an object of the bucket, typed and of its size, as
	// another process's store sees it.
	other, err := blob.NewS3(context.Background(), blob.S3Config{Endpoint: srv.Endpoint, Bucket: "listing-images",
		Region: s3test.Region, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Prefix: "prod/variants/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range img.Variants {
		key := strings.Split(strings.TrimPrefix(v.URL, "/v1/images/"), "/")[0]
		info, err := other.Stat(context.Background(), key)
		if err != nil || info.Size != int64(v.Bytes) || info.ContentType != "image/jpeg" {
			t.Errorf("variant %s in the bucket: %+v, %v", v.Name, info, err)
		}
	}

	servers := []*server{a}
	if shared {
		servers = append(servers, startServer(t, t.TempDir(), env))
	} else {
		t.Log("without PostgreSQL the second server cannot share image ownership: checking one server")
	}
	main := img.Variants[0]
	for i, s := range servers {
		resp, err := http.Get(s.url + main.URL)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(got))
		if resp.StatusCode != http.StatusOK || len(got) != main.Bytes || err != nil || cfg.Width != main.Width ||
			resp.Header.Get("ETag") == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("server %d GET %s: %d, %d bytes, %v %+v, %v", i, main.URL, resp.StatusCode, len(got), err, cfg, resp.Header)
		}
	}
}

// BLOB_S3_* mistakes stop serve at start with the setting's name.
func TestS3SettingsAreChecked(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	base := map[string]string{"LISTEN_ADDR": "127.0.0.1:0", "BLOB_S3_ENDPOINT": srv.Endpoint, "BLOB_S3_BUCKET": "not-made",
		"BLOB_S3_REGION": s3test.Region, "BLOB_S3_ACCESS_KEY": s3test.AccessKey, "BLOB_S3_SECRET_KEY": s3test.SecretKey}
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "BLOB_S3_CREATE_BUCKET=true"},
		{map[string]string{"BLOB_S3_BUCKET": ""}, "BLOB_S3_ENDPOINT is set but BLOB_S3_BUCKET is not"},
		{map[string]string{"BLOB_DIR": "/tmp/x"}, "BLOB_DIR and BLOB_S3_BUCKET are both set"},
		{map[string]string{"BLOB_S3_PATH_STYLE": "yes"}, "BLOB_S3_PATH_STYLE: want auto, true or false"},
		{map[string]string{"BLOB_S3_CREATE_BUCKET": "maybe"}, "BLOB_S3_CREATE_BUCKET: want true or false"},
		{map[string]string{"BLOB_S3_TIMEOUT": "soon"}, "BLOB_S3_TIMEOUT: want a positive duration"},
		{map[string]string{"BLOB_S3_SECRET_KEY": ""}, "access key and secret key go together"},
		{map[string]string{"BLOB_S3_ENDPOINT": "http://127.0.0.1:1/path"}, "BLOB_S3_*: blob: S3 endpoint"},
	} {
		env := map[string]string{"DATA_DIR": t.TempDir()}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range c.env {
			env[k] = v
		}
		err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: serve = %v, want an error saying %q", c.env, err, c.want)
		}
	}
}
