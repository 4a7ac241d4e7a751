package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/listinggen/listinggen"
)

// Writes made at once share commits, and each one's outcome is its own:
// a write that fails, by its own error, a constraint or its caller giving
// up, leaves nothing behind and costs the others nothing.
func TestGroupCommitKeepsEachWriteItsOwn(t *testing.T) {
	t.Parallel()
	s := openAt(t, filepath.Join(t.TempDir(), "test.db"), 0)
	if _, err := s.writer.ExecContext(bg, `CREATE TABLE gc_test (n INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	errOwn := errors.New("own failure")
	cancelled, cancel := context.WithCancel(bg)
	cancel()
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx := bg
			if i%10 == 3 {
				ctx = cancelled
			}
			errs[i] = s.inTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO gc_test (n) VALUES (?)`, i); err != nil {
					return err
				}
				switch i % 10 {
				case 1:
					return errOwn
				case 2: // a constraint error after a row written
					_, err := tx.ExecContext(ctx, `INSERT INTO gc_test (n) VALUES (?)`, i)
					return err
				}
				return nil
			})
		})
	}
	wg.Wait()
	var want int
	for i, err := range errs {
		switch i % 10 {
		case 1:
			if !errors.Is(err, errOwn) {
				t.Errorf("write %d: err %v, want its own", i, err)
			}
		case 2:
			if listinggen.ErrorCode(err) != listinggen.ECONFLICT {
				t.Errorf("write %d: err %v, want ECONFLICT", i, err)
			}
		case 3:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("write %d: err %v, want context.Canceled", i, err)
			}
		default:
			want++
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}
	}
	var got, bad int
	if err := s.reader.QueryRowContext(bg, `SELECT count(*), count(*) FILTER (WHERE n % 10 IN (1, 2, 3)) FROM gc_test`).Scan(&got, &bad); err != nil {
		t.Fatal(err)
	}
	if got != want || bad != 0 {
		t.Fatalf("%d rows committed (%d of failed writes), want %d (none)", got, bad, want)
	}
}

// A write that panics panics in its own caller, even when it ran in
// another caller's group, and costs the others nothing: they commit, and
// the store keeps taking writes.
func TestGroupCommitPanicStaysWithItsWrite(t *testing.T) {
	t.Parallel()
	s := openAt(t, filepath.Join(t.TempDir(), "test.db"), 0)
	if _, err := s.writer.ExecContext(bg, `CREATE TABLE gc_test (n INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	const n = 100
	errs := make([]error, n)
	panics := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			errs[i] = s.inTx(bg, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(bg, `INSERT INTO gc_test (n) VALUES (?)`, i); err != nil {
					return err
				}
				if i%10 == 5 {
					panic(i)
				}
				return nil
			})
		})
	}
	wg.Wait()
	want := 0
	for i := range n {
		if i%10 == 5 {
			if panics[i] != i {
				t.Errorf("write %d: panic %v, want its own", i, panics[i])
			}
			continue
		}
		want++
		if panics[i] != nil || errs[i] != nil {
			t.Errorf("write %d: panic %v, err %v", i, panics[i], errs[i])
		}
	}
	var got, bad int
	if err := s.reader.QueryRowContext(bg, `SELECT count(*), count(*) FILTER (WHERE n % 10 = 5) FROM gc_test`).Scan(&got, &bad); err != nil {
		t.Fatal(err)
	}
	if got != want || bad != 0 {
		t.Fatalf("%d rows committed (%d of panicked writes), want %d (none)", got, bad, want)
	}
	if err := s.inTx(bg, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(bg, `INSERT INTO gc_test (n) VALUES (?)`, n)
		return err
	}); err != nil {
		t.Fatalf("a write after the panics: %v", err)
	}
}
