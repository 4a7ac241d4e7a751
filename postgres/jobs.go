package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/listinggen/listinggen"
)

var _ listinggen.JobStore = (*Store)(nil)

// Pool is the store's connection pool, which River's pgx driver shares so
// that a job and its queue entries commit in one transaction.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// jobChunk is how many items CreateJob inserts (and enqueues) per statement.
const jobChunk = 1000

func (s *Store) CreateJob(ctx context.Context, job *listinggen.Job, next func() (*listinggen.JobItem, error), enqueue listinggen.EnqueueFunc) error {
	job.ID, job.CreatedAt = s.newID(), s.timestamp()
	return s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO jobs (tenant_id, id, state, options, source, job_key, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, job.TenantID, job.ID, job.State, job.Options, job.Source, job.Key, job.CreatedAt); err != nil {
			return err
		}
		c := &jobChunker{tx: tx, job: job, enqueue: enqueue, lastRow: -1, now: job.CreatedAt}
		for {
			it, err := next()
			if err != nil {
				return err
			}
			if it == nil {
				break
			}
			if err := c.add(ctx, it); err != nil {
				return err
			}
		}
		if err := c.flush(ctx); err != nil {
			return err
		}
		job.Rows, job.Items = c.rows, c.items
		var finished any
		if job.State != listinggen.JobRunning {
			finished = job.CreatedAt
		}
		_, err := tx.Exec(ctx, `UPDATE jobs SET state = $1, row_count = $2, item_count = $3, estimated_tokens = $4, estimated_cost_usd = $5,
			finished_at = $6 WHERE tenant_id = $7 AND id = $8`, job.State, c.rows, c.items, job.EstimatedTokens, job.EstimatedCostUSD, finished, job.TenantID, job.ID)
		return err
	})
}

// jobChunker batches a job's rows and items into array inserts.
type jobChunker struct {
	tx      pgx.Tx
	job     *listinggen.Job
	enqueue listinggen.EnqueueFunc
	now     any
	lastRow int
	rows    int
	items   int
	// pending rows and items
	rowNums  []int32
	products []string
	problems []*string
	pending  []*listinggen.JobItem
}

func (c *jobChunker) add(ctx context.Context, it *listinggen.JobItem) error {
	if it.Row != c.lastRow {
		product, err := json.Marshal(it.Product)
		if err != nil {
			return err
		}
		var problems *string
		if len(it.Problems) > 0 {
			b, err := json.Marshal(it.Problems)
			if err != nil {
				return err
			}
			p := string(b)
			problems = &p
		}
		c.rowNums, c.products, c.problems = append(c.rowNums, int32(it.Row)), append(c.products, string(product)), append(c.problems, problems)
		c.lastRow = it.Row
		c.rows++
	}
	c.pending = append(c.pending, it)
	c.items++
	if len(c.pending) >= jobChunk {
		return c.flush(ctx)
	}
	return nil
}

func (c *jobChunker) flush(ctx context.Context) error {
	if len(c.rowNums) > 0 {
		if _, err := c.tx.Exec(ctx, `INSERT INTO job_rows (tenant_id, job_id, row_number, product, problems)
			SELECT $1, $2, r, p, q FROM unnest($3::int[], $4::json[], $5::json[]) AS t(r, p, q)`,
			c.job.TenantID, c.job.ID, c.rowNums, c.products, c.problems); err != nil {
			return err
		}
		c.rowNums, c.products, c.problems = c.rowNums[:0], c.products[:0], c.problems[:0]
	}
	if len(c.pending) == 0 {
		return nil
	}
	rows := make([]int32, len(c.pending))
	shops := make([]string, len(c.pending))
	states := make([]string, len(c.pending))
	errs := make([]string, len(c.pending))
	index := make(map[[2]string]*listinggen.JobItem, len(c.pending))
	for i, it := range c.pending {
		rows[i], shops[i], states[i], errs[i] = int32(it.Row), it.ShopID, string(it.State), it.Error
		index[[2]string{fmt.Sprint(it.Row), it.ShopID}] = it
	}
	res, err := c.tx.Query(ctx, `INSERT INTO job_items (tenant_id, job_id, row_number, shop_id, state, error, updated_at)
		SELECT $1, $2, r, s, st, e, $3 FROM unnest($4::int[], $5::text[], $6::text[], $7::text[]) AS t(r, s, st, e)
		RETURNING id, row_number, shop_id`, c.job.TenantID, c.job.ID, c.now, rows, shops, states, errs)
	if err != nil {
		return err
	}
	var queued []int64
	for res.Next() {
		var id int64
		var row int
		var shop string
		if err := res.Scan(&id, &row, &shop); err != nil {
			res.Close()
			return err
		}
		it := index[[2]string{fmt.Sprint(row), shop}]
		it.ID = id
		if it.State == listinggen.ItemQueued {
			queued = append(queued, id)
		}
	}
	res.Close()
	if err := res.Err(); err != nil {
		return err
	}
	c.pending = c.pending[:0]
	if len(queued) > 0 && c.enqueue != nil {
		return c.enqueue(ctx, c.tx, queued)
	}
	return nil
}

const jobColumns = `tenant_id, id, state, options, source, job_key, row_count, item_count, prompt_tokens, completion_tokens,
	cost_usd, estimated_tokens, estimated_cost_usd, created_at, started_at, finished_at`

func scanJob(row pgx.Row) (*listinggen.Job, error) {
	var j listinggen.Job
	if err := row.Scan(&j.TenantID, &j.ID, &j.State, &j.Options, &j.Source, &j.Key, &j.Rows, &j.Items, &j.PromptTokens,
		&j.CompletionTokens, &j.CostUSD, &j.EstimatedTokens, &j.EstimatedCostUSD, &j.CreatedAt, &j.StartedAt, &j.FinishedAt); err != nil {
		return nil, err
	}
	return &j, nil
}

func (s *Store) FindJob(ctx context.Context, tenantID, id string) (*listinggen.Job, error) {
	return s.findJob(ctx, `SELECT `+jobColumns+` FROM jobs WHERE tenant_id = $1 AND id = $2`, tenantID, id)
}

// QueueStats counts the queued items of every tenant and returns when the
// longest-waiting one was queued (zero when none).
func (s *Store) QueueStats(ctx context.Context) (int64, time.Time, error) {
	var n int64
	var oldest *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT count(*), min(updated_at) FROM job_items WHERE state = 'queued'`).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, translate(err)
	}
	if oldest == nil {
		return n, time.Time{}, nil
	}
	return n, *oldest, nil
}

func (s *Store) FindJobByKey(ctx context.Context, tenantID, key string) (*listinggen.Job, error) {
	return s.findJob(ctx, `SELECT `+jobColumns+` FROM jobs WHERE tenant_id = $1 AND job_key = $2 AND job_key <> ''
		ORDER BY created_at DESC LIMIT 1`, tenantID, key)
}

func (s *Store) findJob(ctx context.Context, query string, args ...any) (*listinggen.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, query, args...))
	if err != nil {
		return nil, translate(err)
	}
	return j, s.countItems(ctx, j)
}

// countItems fills Counts from the (job_id, state) index.
func (s *Store) countItems(ctx context.Context, j *listinggen.Job) error {
	j.Counts = make(map[listinggen.ItemState]int, len(listinggen.ItemStates))
	for _, st := range listinggen.ItemStates {
		j.Counts[st] = 0
	}
	rows, err := s.pool.Query(ctx, `SELECT state, count(*) FROM job_items WHERE job_id = $1 AND tenant_id = $2 GROUP BY state`, j.ID, j.TenantID)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var st listinggen.ItemState
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return translate(err)
		}
		j.Counts[st] = n
	}
	if err := rows.Err(); err != nil {
		return translate(err)
	}
	return translate(s.countRecoveredItems(ctx, j))
}

// FindJobs pages through the tenant's jobs by the primary key, newest
// first (ids are time-ordered), and counts each job's items.
func (s *Store) FindJobs(ctx context.Context, tenantID string, f listinggen.JobFilter) (listinggen.Page[*listinggen.Job], error) {
	var page listinggen.Page[*listinggen.Job]
	after, err := listinggen.DecodeCursor(f.Cursor)
	if err != nil {
		return page, err
	}
	q, args := `SELECT `+jobColumns+` FROM jobs WHERE tenant_id = $1`, []any{tenantID}
	if after != "" {
		args = append(args, after)
		q += ` AND id < $2`
	}
	limit := listinggen.PageLimit(f.Limit)
	args = append(args, limit+1)
	rows, err := s.pool.Query(ctx, q+fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return page, translate(err)
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*listinggen.Job, error) { return scanJob(r) })
	if err != nil {
		return page, translate(err)
	}
	page = paginate(jobs, limit, func(j *listinggen.Job) string { return j.ID })
	for i := 0; i < len(page.Items) && !f.WithoutCounts; i++ {
		if err := s.countItems(ctx, page.Items[i]); err != nil {
			return page, err
		}
	}
	return page, nil
}

// FindJobItems pages through a job's items in (row, shop) order, the
// unique index's order, optionally in some states only.
func (s *Store) FindJobItems(ctx context.Context, tenantID, jobID string, f listinggen.JobItemFilter) (listinggen.Page[*listinggen.JobItem], error) {
	var page listinggen.Page[*listinggen.JobItem]
	row, shop, err := listinggen.DecodeItemCursor(f.Cursor)
	if err != nil {
		return page, err
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM jobs WHERE tenant_id = $1 AND id = $2)`, tenantID, jobID).Scan(&exists); err != nil {
		return page, translate(err)
	}
	if !exists {
		return page, listinggen.Errorf(listinggen.ENOTFOUND, "job not found")
	}
	q := `SELECT ` + itemColumns + itemJoin + ` WHERE i.tenant_id = $1 AND i.job_id = $2 AND (i.row_number, i.shop_id) > ($3, $4)`
	args := []any{tenantID, jobID, row, shop}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		args = append(args, states)
		q += fmt.Sprintf(` AND i.state = ANY($%d)`, len(args))
	}
	limit := listinggen.PageLimit(f.Limit)
	args = append(args, limit+1)
	rows, err := s.pool.Query(ctx, q+fmt.Sprintf(` ORDER BY i.row_number, i.shop_id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return page, translate(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*listinggen.JobItem, error) { return scanItem(r) })
	if err != nil {
		return page, translate(err)
	}
	return paginate(items, limit, (*listinggen.JobItem).ItemCursorKey), nil
}

func (s *Store) SetJobState(ctx context.Context, tenantID, id string, from []listinggen.JobState, to listinggen.JobState) error {
	return s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var cur listinggen.JobState
		if err := tx.QueryRow(ctx, `SELECT state FROM jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id).Scan(&cur); err != nil {
			return err
		}
		ok := false
		for _, f := range from {
			ok = ok || f == cur
		}
		if !ok {
			return listinggen.Errorf(listinggen.ECONFLICT, "job is %s", cur)
		}
		now := s.timestamp()
		var finished any
		if to == listinggen.JobCancelled || to == listinggen.JobCompleted {
			finished = now
		}
		if _, err := tx.Exec(ctx, `UPDATE jobs SET state = $1, finished_at = $2 WHERE tenant_id = $3 AND id = $4`, to, finished, tenantID, id); err != nil {
			return err
		}
		if to == listinggen.JobCancelled {
			_, err := tx.Exec(ctx, `UPDATE job_items SET state = $1, updated_at = $2 WHERE job_id = $3 AND tenant_id = $4 AND state IN ($5, $6)`,
				listinggen.ItemCancelled, now, id, tenantID, listinggen.ItemQueued, listinggen.ItemPaused)
			return err
		}
		return nil
	})
}

func (s *Store) SetJobOptions(ctx context.Context, tenantID, id string, opts listinggen.JobOptions) error {
	tag, err := s.pool.Exec(ctx, `UPDATE jobs SET options = $1 WHERE tenant_id = $2 AND id = $3`, opts, tenantID, id)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return listinggen.Errorf(listinggen.ENOTFOUND, "job not found")
	}
	return nil
}

const itemColumns = `i.id, i.tenant_id, i.job_id, i.row_number, i.shop_id, i.state, i.listing_id, i.error, i.attempts,
	i.prompt_tokens, i.completion_tokens, i.cost_usd, i.updated_at, i.recovered, i.claim, r.product, r.problems`

const itemJoin = ` FROM job_items i JOIN job_rows r ON r.tenant_id = i.tenant_id AND r.job_id = i.job_id AND r.row_number = i.row_number`

func scanItem(row pgx.Row) (*listinggen.JobItem, error) {
	var it listinggen.JobItem
	var problems []byte
	if err := row.Scan(&it.ID, &it.TenantID, &it.JobID, &it.Row, &it.ShopID, &it.State, &it.ListingID, &it.Error, &it.Attempts,
		&it.PromptTokens, &it.CompletionTokens, &it.CostUSD, &it.UpdatedAt, &it.Recovered, &it.Claim, &it.Product, &problems); err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		if err := json.Unmarshal(problems, &it.Problems); err != nil {
			return nil, err
		}
	}
	return &it, nil
}

func (s *Store) ClaimItem(ctx context.Context, itemID int64, workerID string) (item *listinggen.JobItem, job *listinggen.Job, ok bool, err error) {
	err = s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		now := s.timestamp()
		// One statement locks the item, claims it when it is queued or
		// running and says which it was: a running item delivered again is
		// taken over, the earlier claim fenced out by the new claim number.
		// No row: the item is final (or gone, which the read below reports).
		var prev listinggen.ItemState
		err := tx.QueryRow(ctx, `UPDATE job_items i SET state = $1, attempts = i.attempts + 1, claim = i.claim + 1, worker_id = $2, updated_at = $3,
			recovered = CASE WHEN prev.state = $1 THEN $4 ELSE i.recovered END
			FROM (SELECT id, state FROM job_items WHERE id = $5 FOR UPDATE) prev
			WHERE i.id = prev.id AND prev.state IN ($1, $6) RETURNING prev.state`,
			listinggen.ItemRunning, workerID, now, listinggen.RecoveredRescued, itemID, listinggen.ItemQueued).Scan(&prev)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		default:
			ok = true
			if prev == listinggen.ItemRunning {
				if err := countRecovered(ctx, tx, listinggen.RecoveredRescued, 1); err != nil {
					return err
				}
			}
		}
		if item, err = scanItem(tx.QueryRow(ctx, `SELECT `+itemColumns+itemJoin+` WHERE i.id = $1`, itemID)); err != nil {
			return err
		}
		if ok {
			// Only the first claim writes the job row, so that workers do
			// not queue on its lock for every item.
			if _, err := tx.Exec(ctx, `UPDATE jobs SET started_at = $1 WHERE tenant_id = $2 AND id = $3 AND started_at IS NULL`, now, item.TenantID, item.JobID); err != nil {
				return err
			}
		}
		job, err = scanJob(tx.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE tenant_id = $1 AND id = $2`, item.TenantID, item.JobID))
		return err
	})
	if err != nil {
		return nil, nil, false, err
	}
	return item, job, ok, nil
}

func (s *Store) FinishItem(ctx context.Context, it *listinggen.JobItem) error {
	if !it.State.Final() {
		return listinggen.Errorf(listinggen.EINVALID, "FinishItem needs a final state, got %s", it.State)
	}
	return s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		now := s.timestamp()
		var tenant, jobID string
		err := tx.QueryRow(ctx, `UPDATE job_items SET state = $1, listing_id = $2, error = $3, prompt_tokens = $4, completion_tokens = $5,
			cost_usd = $6, updated_at = $7 WHERE id = $8 AND state = $9 AND claim = $10 RETURNING tenant_id, job_id`,
			it.State, it.ListingID, it.Error, it.PromptTokens, it.CompletionTokens, it.CostUSD, now, it.ID, listinggen.ItemRunning, it.Claim).Scan(&tenant, &jobID)
		if errors.Is(err, pgx.ErrNoRows) {
			return listinggen.ErrClaimLost(it.ID)
		}
		if err != nil {
			return err
		}
		// Locking the job row serialises the last items' finishers: under
		// READ COMMITTED two of them would each see the other's item still
		// running and neither would complete the job.
		if _, err := tx.Exec(ctx, `UPDATE jobs SET prompt_tokens = prompt_tokens + $1, completion_tokens = completion_tokens + $2,
			cost_usd = cost_usd + $3 WHERE tenant_id = $4 AND id = $5`, it.PromptTokens, it.CompletionTokens, it.CostUSD, tenant, jobID); err != nil {
			return err
		}
		var left bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM job_items WHERE job_id = $1 AND state IN ($2, $3))`,
			jobID, listinggen.ItemQueued, listinggen.ItemRunning).Scan(&left); err != nil || left {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE jobs SET state = $1, finished_at = $2 WHERE tenant_id = $3 AND id = $4 AND state = $5`,
			listinggen.JobCompleted, now, tenant, jobID, listinggen.JobRunning)
		return err
	})
}

func (s *Store) ReleaseItem(ctx context.Context, it *listinggen.JobItem, reason string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE job_items SET state = $1, error = $2, updated_at = $3 WHERE id = $4 AND state = $5 AND claim = $6`,
		listinggen.ItemQueued, reason, s.timestamp(), it.ID, listinggen.ItemRunning, it.Claim)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return listinggen.ErrClaimLost(it.ID)
	}
	return nil
}

func (s *Store) RequeueItems(ctx context.Context, tenantID, jobID string, states []listinggen.ItemState, enqueue listinggen.EnqueueFunc) (int, error) {
	total := 0
	err := s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var cur listinggen.JobState
		if err := tx.QueryRow(ctx, `SELECT state FROM jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, jobID).Scan(&cur); err != nil {
			return err
		}
		if cur == listinggen.JobCancelled || cur == listinggen.JobEstimated {
			return listinggen.Errorf(listinggen.ECONFLICT, "job is %s", cur)
		}
		names := make([]string, len(states))
		for i, st := range states {
			names[i] = string(st)
		}
		rows, err := tx.Query(ctx, `UPDATE job_items SET state = $1, attempts = 0, updated_at = $2 WHERE job_id = $3 AND tenant_id = $4
			AND state = ANY($5) RETURNING id`, listinggen.ItemQueued, s.timestamp(), jobID, tenantID, names)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		total = len(ids)
		for len(ids) > 0 {
			n := min(len(ids), jobChunk)
			if err := enqueue(ctx, tx, ids[:n]); err != nil {
				return err
			}
			ids = ids[n:]
		}
		if total > 0 {
			_, err = tx.Exec(ctx, `UPDATE jobs SET state = $1, finished_at = NULL WHERE tenant_id = $2 AND id = $3`, listinggen.JobRunning, tenantID, jobID)
		}
		return err
	})
	return total, err
}

func (s *Store) JobItems(ctx context.Context, tenantID, jobID string, fn func(*listinggen.JobItem) error) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM jobs WHERE tenant_id = $1 AND id = $2)`, tenantID, jobID).Scan(&exists); err != nil {
		return translate(err)
	}
	if !exists {
		return listinggen.Errorf(listinggen.ENOTFOUND, "job not found")
	}
	lastRow, lastShop := -1, ""
	for {
		rows, err := s.pool.Query(ctx, `SELECT `+itemColumns+itemJoin+`
			WHERE i.tenant_id = $1 AND i.job_id = $2 AND (i.row_number, i.shop_id) > ($3, $4)
			ORDER BY i.row_number, i.shop_id LIMIT $5`, tenantID, jobID, lastRow, lastShop, jobChunk)
		if err != nil {
			return translate(err)
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*listinggen.JobItem, error) { return scanItem(r) })
		if err != nil {
			return translate(err)
		}
		for _, it := range page {
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(page) < jobChunk {
			return nil
		}
		lastRow, lastShop = page[len(page)-1].Row, page[len(page)-1].ShopID
	}
}
