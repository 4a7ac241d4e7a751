package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/blob"
	"github.com/listinggen/listinggen/pipeline/images"
)

// imageStage builds the blob store and the image processor. IMAGES=off
// turns the stage off (listings keep their images pending);
// IMAGES_ALLOW_HOSTS lists host:port pairs that may be fetched although they
// are private (on-premise image servers, tests); BLOB_DIR moves the files.
func imageStage(dataDir string, getenv func(string) string, logger *slog.Logger) (listinggen.BlobStore, *images.Processor, error) {
	dir := getenv("BLOB_DIR")
	if dir == "" {
		dir = filepath.Join(dataDir, "blobs")
	}
	blobs, err := blob.NewLocal(blob.Config{Dir: dir})
	if err != nil {
		return nil, nil, fmt.Errorf("BLOB_DIR: %w", err)
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
