package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/storetest"
	"github.com/listinggen/listinggen/sqlite"
)

func open(t *testing.T) listinggen.Store {
	cfg := sqlite.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "test.db")
	s, err := sqlite.Open(context.Background(), cfg, time.Now, func() string { return uuid.Must(uuid.NewV7()).String() })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, open)
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	t.Parallel()
	cfg := sqlite.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "test.db")
	ctx := context.Background()
	newID := func() string { return uuid.Must(uuid.NewV7()).String() }
	s, err := sqlite.Open(ctx, cfg, time.Now, newID)
	if err != nil {
		t.Fatal(err)
	}
	sh := &listinggen.Shop{TenantID: "t", Name: "店", Platform: listinggen.PlatformTaobao}
	if err := s.CreateShop(ctx, sh); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, cfg, time.Now, newID)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindShop(ctx, "t", sh.ID); err != nil || got.Name != "店" {
		t.Fatalf("after reopen FindShop = %+v, %v", got, err)
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	err := sqlite.Config{Path: ":memory:", MaxReaders: 0, BusyTimeout: -1}.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"Path", "MaxReaders", "BusyTimeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
