package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/blob"
	"github.com/listinggen/listinggen/images"
)

// imageStage builds the blob store and the image processor. IMAGES=off
// turns the stage off (listings keep their images pending);
// IMAGES_ALLOW_HOSTS lists host:port pairs that may be fetched although they
// are private (on-premise image servers, tests); see blobStore for where the
// variants go. The demo catalogue's demo: photos are served from the binary.
func imageStage(dataDir string, getenv func(string) string, logger *slog.Logger) (listinggen.BlobStore, *images.Processor, error) {
	blobs, err := blobStore(dataDir, getenv, logger)
	if err != nil {
		return nil, nil, err
	}
	switch getenv("IMAGES") {
	case "", "on":
	case "off":
		logger.Info("image stage off: listings keep their images pending")
		return blobs, nil, nil
	default:
		return nil, nil, fmt.Errorf("IMAGES: want on or off, got %q", getenv("IMAGES"))
	}
	cfg := images.DefaultConfig()
	cfg.Demo = listinggen.DemoPhotos()
	if hosts := getenv("IMAGES_ALLOW_HOSTS"); hosts != "" {
		for _, h := range strings.Split(hosts, ",") {
			cfg.Fetch.AllowHosts = append(cfg.Fetch.AllowHosts, strings.TrimSpace(h))
		}
	}
	proc, err := images.NewProcessor(cfg, blobs, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("images: %w", err)
	}
	return blobs, proc, nil
}

// s3Vars are the settings of the S3 blob store besides BLOB_S3_BUCKET.
var s3Vars = []string{"BLOB_S3_ENDPOINT", "BLOB_S3_REGION", "BLOB_S3_ACCESS_KEY", "BLOB_S3_SECRET_KEY",
	"BLOB_S3_PREFIX", "BLOB_S3_PATH_STYLE", "BLOB_S3_CREATE_BUCKET", "BLOB_S3_TIMEOUT"}

// blobStore builds the store of image variants: an S3-compatible bucket
// when BLOB_S3_BUCKET is set, which every process of a deployment on every
// machine shares, else the directory BLOB_DIR (default DATA_DIR/blobs),
// which only processes on one machine share.
func blobStore(dataDir string, getenv func(string) string, logger *slog.Logger) (listinggen.BlobStore, error) {
	if getenv("BLOB_S3_BUCKET") == "" {
		for _, k := range s3Vars {
			if getenv(k) != "" {
				return nil, fmt.Errorf("%s is set but BLOB_S3_BUCKET is not: set the bucket to store image variants in S3", k)
			}
		}
		dir := getenv("BLOB_DIR")
		if dir == "" {
			dir = filepath.Join(dataDir, "blobs")
		}
		blobs, err := blob.NewLocal(blob.Config{Dir: dir})
		if err != nil {
			return nil, fmt.Errorf("BLOB_DIR: %w", err)
		}
		return blobs, nil
	}
	if getenv("BLOB_DIR") != "" {
		return nil, errors.New("BLOB_DIR and BLOB_S3_BUCKET are both set: image variants go to one store")
	}
	cfg, err := s3Config(getenv)
	if err != nil {
		return nil, err
	}
	// The store checks the bucket within its own timeout.
	s, err := blob.NewS3(context.Background(), cfg)
	if errors.Is(err, blob.ErrBucketMissing) {
		return nil, fmt.Errorf("BLOB_S3_BUCKET: %w (create it, or set BLOB_S3_CREATE_BUCKET=true)", err)
	} else if err != nil {
		return nil, fmt.Errorf("BLOB_S3_*: %w", err)
	}
	logger.Info("image variants are stored in S3", "location", s.Location())
	return s, nil
}

// s3Config reads the BLOB_S3_* settings, reporting every problem at once.
func s3Config(getenv func(string) string) (blob.S3Config, error) {
	cfg := blob.S3Config{
		Endpoint:  getenv("BLOB_S3_ENDPOINT"),
		Bucket:    getenv("BLOB_S3_BUCKET"),
		Region:    getenv("BLOB_S3_REGION"),
		AccessKey: getenv("BLOB_S3_ACCESS_KEY"),
		SecretKey: getenv("BLOB_S3_SECRET_KEY"),
		Prefix:    getenv("BLOB_S3_PREFIX"),
	}
	var errs []error
	switch v := getenv("BLOB_S3_PATH_STYLE"); v {
	case "", "auto":
	case "true":
		cfg.URLStyle = blob.StylePath
	case "false":
		cfg.URLStyle = blob.StyleVirtualHost
	default:
		errs = append(errs, fmt.Errorf("BLOB_S3_PATH_STYLE: want auto, true or false, got %q", v))
	}
	if v := getenv("BLOB_S3_CREATE_BUCKET"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("BLOB_S3_CREATE_BUCKET: want true or false, got %q", v))
		}
		cfg.CreateBucket = b
	}
	if v := getenv("BLOB_S3_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("BLOB_S3_TIMEOUT: want a positive duration such as 30s, got %q", v))
		}
		cfg.Timeout = d
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("BLOB_S3_*: %w", err)
	}
	return cfg, nil
}
