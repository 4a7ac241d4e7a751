package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/listinggen/listinggen"
)

var _ listinggen.JobStore = (*Store)(nil)

// WriterDB is the single-connection pool every write goes through. River's
// SQLite driver must use it too: a job and its queue entries are inserted
// in one transaction, and SQLite has one writer (River's driver documents
// a pool of one connection for the same reason).
func (s *Store) WriterDB() *sql.DB { return s.writer }

// enqueueChunk is how many queued item ids are handed to the queue at once.
const enqueueChunk = 500

func (s *Store) CreateJob(ctx context.Context, job *listinggen.Job, next func() (*listinggen.JobItem, error), enqueue listinggen.EnqueueFunc) error {
	opts, err := json.Marshal(job.Options)
	if err != nil {
		return err
	}
	job.ID, job.CreatedAt = s.newID(), s.now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		now := formatTime(job.CreatedAt)
		if _, err := tx.ExecContext(ctx, `INSERT INTO jobs (tenant_id, id, state, options, source, job_key, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, job.TenantID, job.ID, job.State, opts, job.Source, job.Key, now); err != nil {
			return err
		}
		rowStmt, err := tx.PrepareContext(ctx, `INSERT INTO job_rows (tenant_id, job_id, row_number, product, problems) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer rowStmt.Close()
		itemStmt, err := tx.PrepareContext(ctx, `INSERT INTO job_items (tenant_id, job_id, row_number, shop_id, state, error, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`)
		if err != nil {
			return err
		}
		defer itemStmt.Close()
		var queued []int64
		flush := func() error {
			if len(queued) == 0 || enqueue == nil {
				queued = queued[:0]
				return nil
			}
			err := enqueue(ctx, tx, queued)
			queued = queued[:0]
			return err
		}
		lastRow, items, rows := -1, 0, 0
		for {
			it, err := next()
			if err != nil {
				return err
			}
			if it == nil {
				break
			}
			if it.Row != lastRow {
				product, problems, err := encodeRow(it)
				if err != nil {
					return err
				}
				if _, err := rowStmt.ExecContext(ctx, job.TenantID, job.ID, it.Row, product, problems); err != nil {
					return err
				}
				lastRow = it.Row
				rows++
			}
			if err := itemStmt.QueryRowContext(ctx, job.TenantID, job.ID, it.Row, it.ShopID, it.State, it.Error, now).Scan(&it.ID); err != nil {
				return err
			}
			items++
			if it.State == listinggen.ItemQueued {
				queued = append(queued, it.ID)
				if len(queued) >= enqueueChunk {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		job.Rows, job.Items = rows, items
		var finished any
		if job.State != listinggen.JobRunning {
			finished = now
		}
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET state = ?, row_count = ?, item_count = ?, estimated_tokens = ?, estimated_cost_usd = ?, finished_at = ?
			WHERE tenant_id = ? AND id = ?`, job.State, rows, items, job.EstimatedTokens, job.EstimatedCostUSD, finished, job.TenantID, job.ID)
		return err
	})
}

func encodeRow(it *listinggen.JobItem) (product []byte, problems string, err error) {
	if product, err = json.Marshal(it.Product); err != nil {
		return nil, "", err
	}
	if len(it.Problems) > 0 {
		b, err := json.Marshal(it.Problems)
		if err != nil {
			return nil, "", err
		}
		problems = string(b)
	}
	return product, problems, nil
}

const jobColumns = `tenant_id, id, state, options, source, job_key, row_count, item_count, prompt_tokens, completion_tokens,
	cost_usd, estimated_tokens, estimated_cost_usd, created_at, started_at, finished_at`

func scanJob(row interface{ Scan(...any) error }) (*listinggen.Job, error) {
	var j listinggen.Job
	var opts, created string
	var started, finished sql.NullString
	if err := row.Scan(&j.TenantID, &j.ID, &j.State, &opts, &j.Source, &j.Key, &j.Rows, &j.Items, &j.PromptTokens,
		&j.CompletionTokens, &j.CostUSD, &j.EstimatedTokens, &j.EstimatedCostUSD, &created, &started, &finished); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(opts), &j.Options); err != nil {
		return nil, err
	}
	j.CreatedAt = parseTime(created)
	if started.Valid {
		t := parseTime(started.String)
		j.StartedAt = &t
	}
	if finished.Valid {
		t := parseTime(finished.String)
		j.FinishedAt = &t
	}
	return &j, nil
}

func (s *Store) FindJob(ctx context.Context, tenantID, id string) (*listinggen.Job, error) {
	j, err := scanJob(s.read.QueryRowContext(ctx, qJob, tenantID, id))
	if err != nil {
		return nil, translate(err)
	}
	return j, translate(s.countItems(ctx, s.reader, j))
}

// QueueStats counts the queued items of every tenant and returns when the
// longest-waiting one was queued (zero when none).
func (s *Store) QueueStats(ctx context.Context) (int64, time.Time, error) {
	var n int64
	var oldest sql.NullString
	err := s.reader.QueryRowContext(ctx, `SELECT count(*), min(updated_at) FROM job_items WHERE state = 'queued'`).Scan(&n, &oldest)
	if err != nil || !oldest.Valid {
		return n, time.Time{}, translate(err)
	}
	return n, parseTime(oldest.String), nil
}

func (s *Store) FindJobByKey(ctx context.Context, tenantID, key string) (*listinggen.Job, error) {
	j, err := scanJob(s.reader.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE tenant_id = ? AND job_key = ? AND job_key <> ''
		ORDER BY created_at DESC LIMIT 1`, tenantID, key))
	if err != nil {
		return nil, translate(err)
	}
	return j, translate(s.countItems(ctx, s.reader, j))
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// countItems fills Counts from the (job_id, state) index.
func (s *Store) countItems(ctx context.Context, q querier, j *listinggen.Job) error {
	j.Counts = make(map[listinggen.ItemState]int, len(listinggen.ItemStates))
	for _, st := range listinggen.ItemStates {
		j.Counts[st] = 0
	}
	rows, err := q.QueryContext(ctx, `SELECT state, count(*) FROM job_items WHERE job_id = ? AND tenant_id = ? GROUP BY state`, j.ID, j.TenantID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var st listinggen.ItemState
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return err
		}
		j.Counts[st] = n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return countRecoveredItems(ctx, q, j)
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func (s *Store) SetJobState(ctx context.Context, tenantID, id string, from []listinggen.JobState, to listinggen.JobState) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var cur listinggen.JobState
		if err := tx.QueryRowContext(ctx, `SELECT state FROM jobs WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&cur); err != nil {
			return err
		}
		if !containsState(from, cur) {
			return listinggen.Errorf(listinggen.ECONFLICT, "job is %s", cur)
		}
		now := formatTime(s.now())
		var finished any
		if to == listinggen.JobCancelled || to == listinggen.JobCompleted {
			finished = now
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = ?, finished_at = ? WHERE tenant_id = ? AND id = ?`, to, finished, tenantID, id); err != nil {
			return err
		}
		if to == listinggen.JobCancelled {
			_, err := tx.ExecContext(ctx, `UPDATE job_items SET state = ?, updated_at = ? WHERE job_id = ? AND tenant_id = ? AND state IN (?, ?)`,
				listinggen.ItemCancelled, now, id, tenantID, listinggen.ItemQueued, listinggen.ItemPaused)
			return err
		}
		return nil
	})
}

func (s *Store) SetJobOptions(ctx context.Context, tenantID, id string, opts listinggen.JobOptions) error {
	b, err := json.Marshal(opts)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET options = ? WHERE tenant_id = ? AND id = ?`, b, tenantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return listinggen.Errorf(listinggen.ENOTFOUND, "job not found")
		}
		return nil
	})
}

func containsState[S comparable](list []S, s S) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

const itemColumns = `i.id, i.tenant_id, i.job_id, i.row_number, i.shop_id, i.state, i.listing_id, i.error, i.attempts,
	i.prompt_tokens, i.completion_tokens, i.cost_usd, i.updated_at, i.recovered, i.claim, r.product, r.problems`

// scanItem reads itemColumns. An item's TenantID is not part of the JSON
// (JobItem has none); ClaimItem reads it to scope the job's queries.
func scanItem(row interface{ Scan(...any) error }) (*listinggen.JobItem, error) {
	var it listinggen.JobItem
	var updated, product, problems string
	if err := row.Scan(&it.ID, &it.TenantID, &it.JobID, &it.Row, &it.ShopID, &it.State, &it.ListingID, &it.Error, &it.Attempts,
		&it.PromptTokens, &it.CompletionTokens, &it.CostUSD, &updated, &it.Recovered, &it.Claim, &product, &problems); err != nil {
		return nil, err
	}
	it.UpdatedAt = parseTime(updated)
	if err := json.Unmarshal([]byte(product), &it.Product); err != nil {
		return nil, err
	}
	if problems != "" {
		if err := json.Unmarshal([]byte(problems), &it.Problems); err != nil {
			return nil, err
		}
	}
	return &it, nil
}

func (s *Store) ClaimItem(ctx context.Context, itemID int64, workerID string) (item *listinggen.JobItem, job *listinggen.Job, ok bool, err error) {
	err = s.inTx(ctx, func(sqlTx *sql.Tx) error {
		tx := s.cached(sqlTx)
		now := formatTime(s.now())
		var prev listinggen.ItemState
		if err := tx.QueryRowContext(ctx, qItemState, itemID).Scan(&prev); err != nil {
			return err
		}
		ok = prev == listinggen.ItemQueued || prev == listinggen.ItemRunning
		if ok {
			// A running item delivered again is taken over: the earlier
			// claim is fenced out by the new claim number.
			rescued := prev == listinggen.ItemRunning
			if _, err := tx.ExecContext(ctx, qClaimItem,
				listinggen.ItemRunning, workerID, now, rescued, listinggen.RecoveredRescued, itemID); err != nil {
				return err
			}
			if rescued {
				if err := countRecovered(ctx, sqlTx, listinggen.RecoveredRescued, 1); err != nil {
					return err
				}
			}
		}
		var err error
		item, err = scanItem(tx.QueryRowContext(ctx, qItemByID, itemID))
		if err != nil {
			return err
		}
		if ok {
			if _, err := tx.ExecContext(ctx, qJobStarted, now, item.TenantID, item.JobID); err != nil {
				return err
			}
		}
		job, err = scanJob(tx.QueryRowContext(ctx, qJob, item.TenantID, item.JobID))
		return err
	})
	if err != nil {
		return nil, nil, false, err
	}
	return item, job, ok, nil
}

// The queries a batch item's claim and finish run, prepared once (see
// stmtCache).
const (
	qItemState = `SELECT state FROM job_items WHERE id = ?`
	qClaimItem = `UPDATE job_items SET state = ?, attempts = attempts + 1, claim = claim + 1, worker_id = ?, updated_at = ?,
		recovered = CASE WHEN ? THEN ? ELSE recovered END WHERE id = ?`
	qItemByID = `SELECT ` + itemColumns + ` FROM job_items i
		JOIN job_rows r ON r.tenant_id = i.tenant_id AND r.job_id = i.job_id AND r.row_number = i.row_number WHERE i.id = ?`
	qJobStarted = `UPDATE jobs SET started_at = coalesce(started_at, ?) WHERE tenant_id = ? AND id = ?`
	qJob        = `SELECT ` + jobColumns + ` FROM jobs WHERE tenant_id = ? AND id = ?`
	qFinishItem = `UPDATE job_items SET state = ?, listing_id = ?, error = ?, prompt_tokens = ?, completion_tokens = ?,
		cost_usd = ?, updated_at = ? WHERE id = ? AND state = ? AND claim = ? RETURNING tenant_id, job_id`
	qJobUsage = `UPDATE jobs SET prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?,
		cost_usd = cost_usd + ? WHERE tenant_id = ? AND id = ?`
	qCompleteIfDone = `UPDATE jobs SET state = ?, finished_at = ? WHERE tenant_id = ? AND id = ? AND state = ?
		AND NOT EXISTS (SELECT 1 FROM job_items WHERE job_id = ? AND state IN (?, ?))`
)

func (s *Store) FinishItem(ctx context.Context, it *listinggen.JobItem) error {
	if !it.State.Final() {
		return listinggen.Errorf(listinggen.EINVALID, "FinishItem needs a final state, got %s", it.State)
	}
	return s.inTx(ctx, func(sqlTx *sql.Tx) error {
		tx := s.cached(sqlTx)
		now := s.now()
		var tenant, jobID string
		err := tx.QueryRowContext(ctx, qFinishItem,
			it.State, it.ListingID, it.Error, it.PromptTokens, it.CompletionTokens, it.CostUSD, formatTime(now), it.ID, listinggen.ItemRunning, it.Claim).Scan(&tenant, &jobID)
		if errors.Is(err, sql.ErrNoRows) {
			return listinggen.ErrClaimLost(it.ID)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qJobUsage, it.PromptTokens, it.CompletionTokens, it.CostUSD, tenant, jobID); err != nil {
			return err
		}
		return completeIfDone(ctx, tx, tenant, jobID, formatTime(now))
	})
}

// completeIfDone marks a running job completed when none of its items is
// queued or running.
func completeIfDone(ctx context.Context, tx querier, tenant, jobID, now string) error {
	_, err := tx.ExecContext(ctx, qCompleteIfDone,
		listinggen.JobCompleted, now, tenant, jobID, listinggen.JobRunning, jobID, listinggen.ItemQueued, listinggen.ItemRunning)
	return err
}

func (s *Store) ReleaseItem(ctx context.Context, it *listinggen.JobItem, reason string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE job_items SET state = ?, error = ?, updated_at = ? WHERE id = ? AND state = ? AND claim = ?`,
			listinggen.ItemQueued, reason, formatTime(s.now()), it.ID, listinggen.ItemRunning, it.Claim)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return listinggen.ErrClaimLost(it.ID)
		}
		return nil
	})
}

func (s *Store) RequeueItems(ctx context.Context, tenantID, jobID string, states []listinggen.ItemState, enqueue listinggen.EnqueueFunc) (int, error) {
	total := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var cur listinggen.JobState
		if err := tx.QueryRowContext(ctx, `SELECT state FROM jobs WHERE tenant_id = ? AND id = ?`, tenantID, jobID).Scan(&cur); err != nil {
			return err
		}
		if cur == listinggen.JobCancelled || cur == listinggen.JobEstimated {
			return listinggen.Errorf(listinggen.ECONFLICT, "job is %s", cur)
		}
		args := []any{listinggen.ItemQueued, formatTime(s.now()), jobID, tenantID}
		for _, st := range states {
			args = append(args, st)
		}
		rows, err := tx.QueryContext(ctx, `UPDATE job_items SET state = ?, attempts = 0, updated_at = ? WHERE job_id = ? AND tenant_id = ?
			AND state IN (`+placeholders(len(states))+`) RETURNING id`, args...)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		total = len(ids)
		for len(ids) > 0 {
			n := min(len(ids), enqueueChunk)
			if err := enqueue(ctx, tx, ids[:n]); err != nil {
				return err
			}
			ids = ids[n:]
		}
		if total > 0 {
			_, err = tx.ExecContext(ctx, `UPDATE jobs SET state = ?, finished_at = NULL WHERE tenant_id = ? AND id = ?`, listinggen.JobRunning, tenantID, jobID)
		}
		return err
	})
	return total, err
}

// jobItemsPage is how many items JobItems reads per query.
const jobItemsPage = 1000

func (s *Store) JobItems(ctx context.Context, tenantID, jobID string, fn func(*listinggen.JobItem) error) error {
	var n int
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE tenant_id = ? AND id = ?`, tenantID, jobID).Scan(&n); err != nil {
		return translate(err)
	}
	if n == 0 {
		return listinggen.Errorf(listinggen.ENOTFOUND, "job not found")
	}
	lastRow, lastShop := -1, ""
	for {
		rows, err := s.reader.QueryContext(ctx, `SELECT `+itemColumns+` FROM job_items i
			JOIN job_rows r ON r.tenant_id = i.tenant_id AND r.job_id = i.job_id AND r.row_number = i.row_number
			WHERE i.tenant_id = ? AND i.job_id = ? AND (i.row_number, i.shop_id) > (?, ?)
			ORDER BY i.row_number, i.shop_id LIMIT ?`, tenantID, jobID, lastRow, lastShop, jobItemsPage)
		if err != nil {
			return translate(err)
		}
		var page []*listinggen.JobItem
		for rows.Next() {
			it, err := scanItem(rows)
			if err != nil {
				rows.Close()
				return translate(err)
			}
			page = append(page, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return translate(err)
		}
		for _, it := range page {
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(page) < jobItemsPage {
			return nil
		}
		lastRow, lastShop = page[len(page)-1].Row, page[len(page)-1].ShopID
	}
}

// FindJobs pages through the tenant's jobs by the primary key, newest
// first (ids are time-ordered), and counts each job's items.
func (s *Store) FindJobs(ctx context.Context, tenantID string, f listinggen.JobFilter) (listinggen.Page[*listinggen.Job], error) {
	var page listinggen.Page[*listinggen.Job]
	after, err := listinggen.DecodeCursor(f.Cursor)
	if err != nil {
		return page, err
	}
	q, args := `SELECT `+jobColumns+` FROM jobs WHERE tenant_id = ?`, []any{tenantID}
	if after != "" {
		q += ` AND id < ?`
		args = append(args, after)
	}
	limit := listinggen.PageLimit(f.Limit)
	rows, err := s.reader.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return page, translate(err)
	}
	var jobs []*listinggen.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			rows.Close()
			return page, translate(err)
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, translate(err)
	}
	page = paginate(jobs, limit, func(j *listinggen.Job) string { return j.ID })
	for i := 0; i < len(page.Items) && !f.WithoutCounts; i++ {
		if err := s.countItems(ctx, s.reader, page.Items[i]); err != nil {
			return page, translate(err)
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
	var n int
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE tenant_id = ? AND id = ?`, tenantID, jobID).Scan(&n); err != nil {
		return page, translate(err)
	}
	if n == 0 {
		return page, listinggen.Errorf(listinggen.ENOTFOUND, "job not found")
	}
	q := `SELECT ` + itemColumns + ` FROM job_items i
		JOIN job_rows r ON r.tenant_id = i.tenant_id AND r.job_id = i.job_id AND r.row_number = i.row_number
		WHERE i.tenant_id = ? AND i.job_id = ? AND (i.row_number, i.shop_id) > (?, ?)`
	args := []any{tenantID, jobID, row, shop}
	if len(f.States) > 0 {
		q += ` AND i.state IN (` + placeholders(len(f.States)) + `)`
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	limit := listinggen.PageLimit(f.Limit)
	rows, err := s.reader.QueryContext(ctx, q+` ORDER BY i.row_number, i.shop_id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return page, translate(err)
	}
	defer rows.Close()
	var items []*listinggen.JobItem
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return page, translate(err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return page, translate(err)
	}
	return paginate(items, limit, (*listinggen.JobItem).ItemCursorKey), nil
}
