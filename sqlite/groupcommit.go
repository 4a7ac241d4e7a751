package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// maxGroup bounds how many writes share one transaction, so that a long
// queue of writers does not hold the write lock (and delay River's own
// transactions) for long.
const maxGroup = 64

// groupCommit runs the write transactions that arrive while another
// commits in one transaction of their own, each in a savepoint: under
// synchronous(FULL) every commit waits for an fsync, which, not the SQL,
// bounds how many writes a second one connection makes. Each caller still
// returns only after the commit that holds its write, so a write reported
// done is durable, and a write that fails is rolled back to its savepoint
// without touching the others'.
//
// There is no goroutine of its own: the first caller to find no commit in
// progress leads, commits what is queued, and hands the lead to the first
// caller that queued meanwhile.
type groupCommit struct {
	mu      sync.Mutex
	queue   []*groupWrite
	leading bool
}

// groupWrite is one caller's transaction body and, once run, its result.
type groupWrite struct {
	ctx context.Context
	fn  func(*sql.Tx) error
	err error
	// panicked is what fn panicked with, raised again in the caller's
	// goroutine: fn may run in another caller's (the leader's), which
	// must not die of it nor leave the lead held and the others waiting.
	panicked any
	// wake tells the caller that its write is committed or failed (false)
	// or that it now leads (true).
	wake chan bool
}

func (g *groupCommit) do(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	w := &groupWrite{ctx: ctx, fn: fn, wake: make(chan bool, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, w)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if !lead && !<-w.wake {
		return w.result()
	}
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	group := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()

	commitGroup(db, group)

	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].wake <- true
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	for _, o := range group {
		if o != w {
			o.wake <- false
		}
	}
	return w.result()
}

// run calls fn, turning a panic into the write's failure.
func (w *groupWrite) run(tx *sql.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			w.panicked = r
			err = fmt.Errorf("sqlite: write panicked: %v", r)
		}
	}()
	return w.fn(tx)
}

// result is the write's outcome in its caller's goroutine.
func (w *groupWrite) result() error {
	if w.panicked != nil {
		panic(w.panicked)
	}
	return w.err
}

// commitGroup runs group's writes and sets each one's err. A write alone
// runs in a plain transaction. When a group cannot commit (a write's
// error ended the whole transaction, or the commit failed), each of its
// writes that had not failed by itself runs again alone, so that one
// caller's failure is never another's.
func commitGroup(db *sql.DB, group []*groupWrite) {
	if len(group) == 1 {
		group[0].err = solo(db, group[0])
		return
	}
	if err := inGroup(db, group); err != nil {
		for _, w := range group {
			if w.err == nil {
				w.err = solo(db, w)
			}
		}
	}
}

func solo(db *sql.DB, w *groupWrite) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	tx, err := db.BeginTx(w.ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	if err := w.run(tx); err != nil {
		return translate(err)
	}
	return translate(tx.Commit())
}

// inGroup runs group in one transaction, each write in a savepoint, and
// commits. Its transaction belongs to no caller, so that a caller that
// gives up cancels only its own write.
func inGroup(db *sql.DB, group []*groupWrite) error {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		for _, w := range group {
			w.err = translate(err)
		}
		return nil
	}
	defer tx.Rollback()
	for _, w := range group {
		if w.err = w.ctx.Err(); w.err != nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT w`); err != nil {
			return err
		}
		if w.err = w.run(tx); w.err != nil {
			w.err = translate(w.err)
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO w`); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE w`); err != nil {
			return err
		}
	}
	return tx.Commit()
}
