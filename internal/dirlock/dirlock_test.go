package dirlock_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/listinggen/listinggen/internal/dirlock"
)

func TestSecondAcquireIsRefusedWithTheHoldersPID(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := dirlock.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dirlock.Acquire(dir)
	var held *dirlock.HeldError
	if !errors.As(err, &held) || held.PID != os.Getpid() || held.Dir != l.Dir() {
		t.Fatalf("second Acquire = %v; want a HeldError naming %s and pid %d", err, l.Dir(), os.Getpid())
	}
	if msg := err.Error(); !strings.Contains(msg, l.Dir()) || !strings.Contains(msg, "pid") {
		t.Errorf("message %q does not name the directory and the pid", msg)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	// A released (or crashed) owner's lock file does not block the next.
	l2, err := dirlock.Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	defer l2.Release()
	if _, err := os.Stat(filepath.Join(dir, dirlock.Name)); err != nil {
		t.Error(err)
	}
}

func TestAcquireNeedsTheDirectory(t *testing.T) {
	t.Parallel()
	if _, err := dirlock.Acquire(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("Acquire of a missing directory succeeded")
	}
}
