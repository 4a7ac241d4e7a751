package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/listinggen/listinggen"
)

const dayLayout = "2006-01-02"

// AddUsage adds the records to the running totals in one transaction.
func (s *Store) AddUsage(ctx context.Context, records []listinggen.UsageRecord) error {
	if len(records) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO usage_totals (tenant_id, shop_id, job_id, day, model, op,
				calls, prompt_tokens, completion_tokens, cost_usd)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, shop_id, job_id, day, model, op) DO UPDATE SET
				calls = calls + excluded.calls,
				prompt_tokens = prompt_tokens + excluded.prompt_tokens,
				completion_tokens = completion_tokens + excluded.completion_tokens,
				cost_usd = cost_usd + excluded.cost_usd`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range records {
			if _, err := stmt.ExecContext(ctx, r.TenantID, r.ShopID, r.JobID, listinggen.UsageDay(r.Day).Format(dayLayout),
				r.Model, r.Op, r.Calls, r.PromptTokens, r.CompletionTokens, r.CostUSD); err != nil {
				return err
			}
		}
		return nil
	})
}

// UsageByShop totals the tenant's spending per shop.
func (s *Store) UsageByShop(ctx context.Context, tenantID string, f listinggen.UsageFilter) ([]listinggen.UsageTotal, error) {
	where := []string{"tenant_id = ?"}
	args := []any{tenantID}
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.ShopID != "" {
		add("shop_id = ?", f.ShopID)
	}
	if f.JobID != "" {
		add("job_id = ?", f.JobID)
	}
	if !f.From.IsZero() {
		add("day >= ?", listinggen.UsageDay(f.From).Format(dayLayout))
	}
	if !f.To.IsZero() {
		add("day <= ?", listinggen.UsageDay(f.To).Format(dayLayout))
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT shop_id, sum(calls), sum(prompt_tokens), sum(completion_tokens), sum(cost_usd)
		FROM usage_totals WHERE `+strings.Join(where, " AND ")+` GROUP BY shop_id ORDER BY shop_id`, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	totals := []listinggen.UsageTotal{}
	for rows.Next() {
		var t listinggen.UsageTotal
		if err := rows.Scan(&t.ShopID, &t.Calls, &t.PromptTokens, &t.CompletionTokens, &t.CostUSD); err != nil {
			return nil, translate(err)
		}
		totals = append(totals, t)
	}
	return totals, translate(rows.Err())
}
