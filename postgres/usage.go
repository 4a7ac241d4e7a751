package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/listinggen/listinggen"
)

// AddUsage adds the records to the running totals in one transaction. The
// rows are locked in key order, so that processes flushing overlapping
// totals at once queue instead of deadlocking.
func (s *Store) AddUsage(ctx context.Context, records []listinggen.UsageRecord) error {
	if len(records) == 0 {
		return nil
	}
	sorted := slices.Clone(records)
	slices.SortFunc(sorted, func(a, b listinggen.UsageRecord) int {
		return cmp.Or(cmp.Compare(a.TenantID, b.TenantID), cmp.Compare(a.ShopID, b.ShopID), cmp.Compare(a.JobID, b.JobID),
			a.Day.Compare(b.Day), cmp.Compare(a.Model, b.Model), cmp.Compare(a.Op, b.Op))
	})
	return translate(s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var batch pgx.Batch
		for _, r := range sorted {
			batch.Queue(`INSERT INTO usage_totals (tenant_id, shop_id, job_id, day, model, op,
					calls, prompt_tokens, completion_tokens, cost_usd)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
				ON CONFLICT (tenant_id, shop_id, job_id, day, model, op) DO UPDATE SET
					calls = usage_totals.calls + excluded.calls,
					prompt_tokens = usage_totals.prompt_tokens + excluded.prompt_tokens,
					completion_tokens = usage_totals.completion_tokens + excluded.completion_tokens,
					cost_usd = usage_totals.cost_usd + excluded.cost_usd`,
				r.TenantID, r.ShopID, r.JobID, listinggen.UsageDay(r.Day), r.Model, r.Op, r.Calls, r.PromptTokens, r.CompletionTokens, r.CostUSD)
		}
		return tx.SendBatch(ctx, &batch).Close()
	}))
}

// UsageByShop totals the tenant's spending per shop.
func (s *Store) UsageByShop(ctx context.Context, tenantID string, f listinggen.UsageFilter) ([]listinggen.UsageTotal, error) {
	where := []string{"tenant_id = $1"}
	args := []any{tenantID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.ShopID != "" {
		add("shop_id = $%d", f.ShopID)
	}
	if f.JobID != "" {
		add("job_id = $%d", f.JobID)
	}
	if !f.From.IsZero() {
		add("day >= $%d", listinggen.UsageDay(f.From))
	}
	if !f.To.IsZero() {
		add("day <= $%d", listinggen.UsageDay(f.To))
	}
	rows, err := s.pool.Query(ctx, `SELECT shop_id, sum(calls)::bigint, sum(prompt_tokens)::bigint, sum(completion_tokens)::bigint, sum(cost_usd)
		FROM usage_totals WHERE `+strings.Join(where, " AND ")+` GROUP BY shop_id ORDER BY shop_id COLLATE "C"`, args...)
	if err != nil {
		return nil, translate(err)
	}
	totals, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (listinggen.UsageTotal, error) {
		var t listinggen.UsageTotal
		err := row.Scan(&t.ShopID, &t.Calls, &t.PromptTokens, &t.CompletionTokens, &t.CostUSD)
		return t, err
	})
	if err != nil {
		return nil, translate(err)
	}
	if totals == nil {
		totals = []listinggen.UsageTotal{}
	}
	return totals, nil
}
