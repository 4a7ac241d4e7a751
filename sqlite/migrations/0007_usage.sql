-- usage_totals is the model spending ledger: running totals per tenant,
-- shop, job ('' outside jobs), UTC day, model and operation, added to by
-- AddUsage. One row per key keeps it small however many calls are made.
CREATE TABLE usage_totals (
    tenant_id         TEXT NOT NULL,
    shop_id           TEXT NOT NULL,
    job_id            TEXT NOT NULL DEFAULT '',
    day               TEXT NOT NULL, -- YYYY-MM-DD, UTC
    model             TEXT NOT NULL,
    op                TEXT NOT NULL,
    calls             INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd          REAL NOT NULL,
    PRIMARY KEY (tenant_id, shop_id, job_id, day, model, op)
) WITHOUT ROWID;

CREATE INDEX usage_totals_by_job ON usage_totals (tenant_id, job_id) WHERE job_id <> '';
