package listinggen

import (
	"context"
	"time"
)

// UsageAccount says whom a model call is charged to. The pipeline puts it
// in the context of every step, so that the model client, which knows only
// the context, can book each call's tokens and cost to the right tenant,
// shop and job.
type UsageAccount struct {
	TenantID string
	ShopID   string
	JobID    string
}

type usageAccountKey struct{}

// WithUsageAccount returns ctx charging model calls to a.
func WithUsageAccount(ctx context.Context, a UsageAccount) context.Context {
	return context.WithValue(ctx, usageAccountKey{}, a)
}

// UsageAccountFrom returns the account of ctx, if one was set.
func UsageAccountFrom(ctx context.Context) (UsageAccount, bool) {
	a, ok := ctx.Value(usageAccountKey{}).(UsageAccount)
	return a, ok
}

// UsageRecord is what some model calls of one account, day, model and
// operation cost. Stores add records to running totals, so a record is a
// delta, never a replacement.
type UsageRecord struct {
	UsageAccount
	// Day is the UTC day of the calls.
	Day              time.Time
	Model            string
	Op               string // rewrite, repair, stream or embed
	Calls            int64
	PromptTokens     int64
	CompletionTokens int64
	CostUSD          float64
}

// UsageFilter narrows usage totals; empty fields match everything. From
// and To are inclusive UTC days.
type UsageFilter struct {
	ShopID string
	JobID  string
	From   time.Time
	To     time.Time
}

// UsageTotal is one shop's spending over a filter.
type UsageTotal struct {
	ShopID           string  `json:"shop_id,omitempty"`
	Calls            int64   `json:"calls"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// UsageService keeps the model spending ledger. Unlike a listing's
// provenance, which describes the copy it holds, the ledger counts every
// call that was paid for: repair rounds, regenerations, calls whose answer
// was refused and sent to the fallback, embeddings.
type UsageService interface {
	// AddUsage adds the records to the running totals in one transaction.
	AddUsage(ctx context.Context, records []UsageRecord) error
	// UsageByShop totals the tenant's spending per shop, by shop id.
	UsageByShop(ctx context.Context, tenantID string, f UsageFilter) ([]UsageTotal, error)
}

// UsageDay is the UTC day t falls on, as the ledger keys it.
func UsageDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
