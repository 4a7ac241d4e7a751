package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/listinggen/listinggen"
)

// Worker leases on the shared database. Every time is the database's
// clock (now()), so that workers on machines whose clocks differ agree on
// whose lease has expired.

func (s *Store) RenewLease(ctx context.Context, w listinggen.WorkerLease, d time.Duration) error {
	if w.ID == "" || d <= 0 {
		return listinggen.Errorf(listinggen.EINVALID, "a lease needs a worker id and a positive duration")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO workers (id, host, pid, started_at, renewed_at, expires_at)
		VALUES ($1, $2, $3, now(), now(), now() + make_interval(secs => $4::float8))
		ON CONFLICT (id) DO UPDATE SET renewed_at = excluded.renewed_at, expires_at = excluded.expires_at`,
		w.ID, w.Host, w.PID, d.Seconds())
	return translate(err)
}

func (s *Store) EndLease(ctx context.Context, workerID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE workers SET expires_at = '-infinity' WHERE id = $1`, workerID)
	return translate(err)
}

// ReclaimItems skips the rows another transaction holds (SKIP LOCKED):
// reclaimers running at once in several workers take disjoint sets, and
// none waits on a paused process's open transaction. A stopped worker
// whose items were not all taken back keeps its lease row, so the next
// call tries again.
func (s *Store) ReclaimItems(ctx context.Context, scope listinggen.ReclaimScope, requeue listinggen.ReclaimFunc) (int, error) {
	if err := scope.Check(); err != nil {
		return 0, err
	}
	reason := scope.Reason()
	var items []int64
	err := s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		// The recovery counter's row is the one lock every reclaimer
		// shares; a reclaimer behind a paused one gives up and retries.
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '2s'`); err != nil {
			return err
		}
		q := `SELECT id FROM workers WHERE expires_at < now() FOR UPDATE SKIP LOCKED`
		if scope == listinggen.ReclaimAll {
			q = `SELECT id FROM workers FOR UPDATE SKIP LOCKED`
		}
		rows, err := tx.Query(ctx, q)
		if err != nil {
			return err
		}
		dead, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if scope == listinggen.ReclaimExpired && len(dead) == 0 {
			return nil
		}
		holders := `AND worker_id = ANY($5)`
		args := []any{listinggen.ItemQueued, reason, reason.ItemError(), s.timestamp(), dead}
		if scope == listinggen.ReclaimAll {
			holders, args = ``, args[:4]
		}
		rows, err = tx.Query(ctx, `UPDATE job_items SET state = $1, recovered = $2, error = $3, updated_at = $4
			WHERE id IN (SELECT id FROM job_items WHERE state = 'running' `+holders+` FOR UPDATE SKIP LOCKED)
			AND state = 'running' RETURNING id`, args...)
		if err != nil {
			return err
		}
		if items, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
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
		_, err = tx.Exec(ctx, `DELETE FROM workers w WHERE id = ANY($1)
			AND NOT EXISTS (SELECT 1 FROM job_items i WHERE i.state = 'running' AND i.worker_id = w.id)`, dead)
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(items), nil
}

// countRecovered adds n items to the store-wide count of reason.
func countRecovered(ctx context.Context, tx pgx.Tx, reason listinggen.Recovery, n int) error {
	_, err := tx.Exec(ctx, `INSERT INTO item_recoveries (reason, items) VALUES ($1, $2)
		ON CONFLICT (reason) DO UPDATE SET items = item_recoveries.items + excluded.items`, reason, n)
	return err
}

func (s *Store) RecoveryStats(ctx context.Context) (listinggen.RecoveryStats, error) {
	st := listinggen.NewRecoveryStats()
	rows, err := s.pool.Query(ctx, `SELECT reason, items FROM item_recoveries`)
	if err != nil {
		return st, translate(err)
	}
	for rows.Next() {
		var r listinggen.Recovery
		var n int64
		if err := rows.Scan(&r, &n); err != nil {
			rows.Close()
			return st, translate(err)
		}
		st.Recovered[r] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, translate(err)
	}
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM workers WHERE expires_at >= now()`).Scan(&st.Workers)
	return st, translate(err)
}

// countRecoveredItems fills j.Recovered from the partial index of
// recovered items.
func (s *Store) countRecoveredItems(ctx context.Context, j *listinggen.Job) error {
	rows, err := s.pool.Query(ctx, `SELECT recovered, state IN ('queued', 'running'), count(*)::int FROM job_items
		WHERE job_id = $1 AND tenant_id = $2 AND recovered <> '' GROUP BY 1, 2`, j.ID, j.TenantID)
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
