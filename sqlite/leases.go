package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/listinggen/listinggen"
)

// Worker leases. Only one process opens a data directory (cmd holds a lock
// file), so on the embedded store a lease only ever expires for a process
// that was paused or stopped without cleaning up; at start the owner takes
// back every running item at once (ReclaimAll). The leases still run here
// so that both stores share one code path and one conformance suite.

func (s *Store) RenewLease(ctx context.Context, w listinggen.WorkerLease, d time.Duration) error {
	if w.ID == "" || d <= 0 {
		return listinggen.Errorf(listinggen.EINVALID, "a lease needs a worker id and a positive duration")
	}
	now := s.now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO workers (id, host, pid, started_at, renewed_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET renewed_at = excluded.renewed_at, expires_at = excluded.expires_at`,
			w.ID, w.Host, w.PID, formatTime(now), formatTime(now), formatTime(now.Add(d)))
		return err
	})
}

func (s *Store) EndLease(ctx context.Context, workerID string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE workers SET expires_at = ? WHERE id = ?`, formatTime(time.Time{}), workerID)
		return err
	})
}

func (s *Store) ReclaimItems(ctx context.Context, scope listinggen.ReclaimScope, requeue listinggen.ReclaimFunc) (int, error) {
	if err := scope.Check(); err != nil {
		return 0, err
	}
	reason := scope.Reason()
	var items []int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := formatTime(s.now())
		q, args := `SELECT id FROM workers`, []any{}
		if scope == listinggen.ReclaimExpired {
			q, args = q+` WHERE expires_at < ?`, append(args, now)
		}
		dead, err := queryStrings(ctx, tx, q, args...)
		if err != nil {
			return err
		}
		if scope == listinggen.ReclaimExpired && len(dead) == 0 {
			return nil
		}
		q = `UPDATE job_items SET state = ?, recovered = ?, error = ?, updated_at = ? WHERE state = ?`
		args = []any{listinggen.ItemQueued, reason, reason.ItemError(), now, listinggen.ItemRunning}
		if scope == listinggen.ReclaimExpired {
			q += ` AND worker_id IN (` + placeholders(len(dead)) + `)`
			for _, id := range dead {
				args = append(args, id)
			}
		}
		if items, err = queryInts(ctx, tx, q+` RETURNING id`, args...); err != nil {
			return err
		}
		if len(items) > 0 {
			if err := countRecovered(ctx, tx, reason, len(items)); err != nil {
				return err
			}
		}
		// At start every delivery the queue holds as running is a stopped
		// process's, item or not: requeue is called whatever was found.
		if requeue != nil && (scope == listinggen.ReclaimAll || len(items) > 0 || len(dead) > 0) {
			if err := requeue(ctx, tx, items, dead); err != nil {
				return err
			}
		}
		if len(dead) == 0 {
			return nil
		}
		args = make([]any, len(dead))
		for i, id := range dead {
			args[i] = id
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM workers WHERE id IN (`+placeholders(len(dead))+`)`, args...)
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(items), nil
}

// countRecovered adds n items to the store-wide count of reason.
func countRecovered(ctx context.Context, tx *sql.Tx, reason listinggen.Recovery, n int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO item_recoveries (reason, items) VALUES (?, ?)
		ON CONFLICT (reason) DO UPDATE SET items = items + excluded.items`, reason, n)
	return err
}

func (s *Store) RecoveryStats(ctx context.Context) (listinggen.RecoveryStats, error) {
	st := listinggen.NewRecoveryStats()
	rows, err := s.reader.QueryContext(ctx, `SELECT reason, items FROM item_recoveries`)
	if err != nil {
		return st, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r listinggen.Recovery
		var n int64
		if err := rows.Scan(&r, &n); err != nil {
			return st, translate(err)
		}
		st.Recovered[r] = n
	}
	if err := rows.Err(); err != nil {
		return st, translate(err)
	}
	err = s.reader.QueryRowContext(ctx, `SELECT count(*) FROM workers WHERE expires_at >= ?`, formatTime(s.now())).Scan(&st.Workers)
	return st, translate(err)
}

// countRecoveredItems fills j.Recovered from the partial index of
// recovered items.
func countRecoveredItems(ctx context.Context, q querier, j *listinggen.Job) error {
	rows, err := q.QueryContext(ctx, `SELECT recovered, state IN (?, ?), count(*) FROM job_items
		WHERE job_id = ? AND tenant_id = ? AND recovered <> '' GROUP BY 1, 2`, listinggen.ItemQueued, listinggen.ItemRunning, j.ID, j.TenantID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r listinggen.Recovery
		var pending bool
		var n int
		if err := rows.Scan(&r, &pending, &n); err != nil {
			return err
		}
		j.AddRecovered(r, pending, n)
	}
	return rows.Err()
}

func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func queryInts(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
