-- usage_totals is the model spending ledger: running totals per tenant,
-- shop, job ('' outside jobs), UTC day, model and operation, added to by
-- AddUsage. One row per key keeps it small however many calls are made.
CREATE TABLE usage_totals (
    tenant_id         text NOT NULL,
    shop_id           text NOT NULL,
    job_id            text NOT NULL DEFAULT '',
    day               date NOT NULL,
    model             text NOT NULL,
    op                text NOT NULL,
    calls             bigint NOT NULL,
    prompt_tokens     bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    cost_usd          double precision NOT NULL,
    PRIMARY KEY (tenant_id, shop_id, job_id, day, model, op)
);

CREATE INDEX usage_totals_by_job ON usage_totals (tenant_id, job_id) WHERE job_id <> '';
