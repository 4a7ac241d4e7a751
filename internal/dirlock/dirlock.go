// Package dirlock makes one process the owner of a directory: a lock file
// in it, locked by the operating system for as long as the process holds
// it open. A crash or kill -9 releases it with the process, so a stale
// lock file never blocks a restart; a second process that asks while the
// owner runs is refused with the owner's pid.
package dirlock

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Name is the lock file's name inside the directory.
const Name = "listinggen.lock"

// Lock is a held directory lock.
type Lock struct {
	f   *os.File
	dir string
}

// HeldError says that another process holds the directory.
type HeldError struct {
	// Dir is the directory, absolute; PID is the holder's process id (0
	// when its lock file could not be read).
	Dir string
	PID int
}

func (e *HeldError) Error() string {
	holder := "another process"
	if e.PID > 0 {
		holder = fmt.Sprintf("another process (pid %d)", e.PID)
	}
	return fmt.Sprintf("data directory %s is in use by %s: stop it first, or give this process a data directory of its own", e.Dir, holder)
}

// Acquire locks dir (which must exist) for this process, or returns a
// *HeldError naming the process that holds it.
func Acquire(dir string) (*Lock, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(abs, Name), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dirlock: %w", err)
	}
	if err := lock(f); err != nil {
		pid := readPID(f)
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, &HeldError{Dir: abs, PID: pid}
		}
		return nil, fmt.Errorf("dirlock: %s: %w", f.Name(), err)
	}
	// The pid is written for the refusal's message only: the lock itself
	// is the operating system's, not the file's content.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f, dir: abs}, nil
}

// Dir is the locked directory, absolute.
func (l *Lock) Dir() string { return l.dir }

// Release unlocks the directory. The lock file stays: removing it would let
// a process that opened it before the removal lock a file no one else sees.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing the file releases the lock
	l.f = nil
	return err
}

func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil {
		return 0
	}
	return pid
}
