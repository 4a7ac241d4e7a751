package vectorcache

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"
)

// spill keeps the exact vectors of the cache's rows in one file, which the
// cache reads back only to re-rank a query's few candidates (about as many
// as the query asks for): memory holds the rows' int8 codes, a quarter of
// the vectors' size, and the kernel's page cache holds the file while there
// is memory to spare, dropping it under pressure, when a re-rank reads the
// disk instead.
//
// The file is private to the process: it is removed from its directory as
// soon as it is created (on unix; elsewhere at Close), so a crash leaves
// nothing behind, and the cache is rebuilt from the store at the next start
// anyway. Space is handed out in regions, one per chunk, and a region is
// given back when its chunk is collected, never while a query may still
// read it: a query holds the chunks it reads, even those of a set the cache
// has dropped. Regions come in the few sizes chunks have (16 to 512 rows of
// a set's dimension), and a freed one is reused for the next chunk of its
// size, so the file stays near the size of the rows it holds.
type spill struct {
	dir string

	mu     sync.Mutex // guards the fields below
	f      *os.File   // nil until the first region is asked for
	end    int64      // the file's length: where a new region starts
	free   map[int64][]int64
	closed bool
}

// region is a span of the spill file.
type region struct{ off, size int64 }

func newSpill(dir string) *spill {
	return &spill{dir: dir, free: map[int64][]int64{}}
}

// alloc returns size bytes of the file, creating it on first use.
func (s *spill) alloc(size int64) (region, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return region{}, errors.New("vectorcache: closed")
	}
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, "listinggen-vectors-*")
		if err != nil {
			return region{}, fmt.Errorf("vectorcache: exact vectors file: %w", err)
		}
		if runtime.GOOS != "windows" {
			// Open files outlive their name on unix.
			_ = os.Remove(f.Name())
		}
		s.f = f
	}
	if offs := s.free[size]; len(offs) > 0 {
		off := offs[len(offs)-1]
		s.free[size] = offs[:len(offs)-1]
		return region{off: off, size: size}, nil
	}
	r := region{off: s.end, size: size}
	s.end += size
	return r, nil
}

// release gives r back for reuse.
func (s *spill) release(r region) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.free[r.size] = append(s.free[r.size], r.off)
	}
}

// file returns the open file; regions are only handed out once it exists.
func (s *spill) file() *os.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f
}

// write stores vec at off.
func (s *spill) write(vec []float32, off int64) error {
	f := s.file()
	if f == nil {
		return errors.New("vectorcache: closed")
	}
	_, err := f.WriteAt(floatBytes(vec), off)
	return err
}

// read fills dst from off.
func (s *spill) read(dst []float32, off int64) error {
	f := s.file()
	if f == nil {
		return errors.New("vectorcache: closed")
	}
	_, err := f.ReadAt(floatBytes(dst), off)
	return err
}

// size is the file's length, for Stats.
func (s *spill) size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end
}

// close closes and, where the name is still there, removes the file.
func (s *spill) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	if runtime.GOOS == "windows" {
		_ = os.Remove(s.f.Name())
	}
	s.f = nil
	return err
}

// floatBytes is v's memory as bytes, in the machine's byte order: the file
// is read only by the process that wrote it.
func floatBytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*4)
}
