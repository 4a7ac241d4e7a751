-- Batch jobs (issue 8); see sqlite/migrations/0004_jobs.sql for the model.
-- River's own tables are created by rivermigrate from cmd (jobs.Migrate*).
CREATE TABLE jobs (
    tenant_id          text COLLATE "C" NOT NULL,
    id                 text COLLATE "C" NOT NULL,
    state              text NOT NULL,
    options            json NOT NULL,
    source             text NOT NULL,
    job_key            text NOT NULL DEFAULT '',
    row_count          integer NOT NULL DEFAULT 0,
    item_count         integer NOT NULL DEFAULT 0,
    prompt_tokens      bigint NOT NULL DEFAULT 0,
    completion_tokens  bigint NOT NULL DEFAULT 0,
    cost_usd           double precision NOT NULL DEFAULT 0,
    estimated_tokens   bigint NOT NULL DEFAULT 0,
    estimated_cost_usd double precision NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL,
    started_at         timestamptz,
    finished_at        timestamptz,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX jobs_by_key ON jobs (tenant_id, job_key, created_at) WHERE job_key <> '';

CREATE TABLE job_rows (
    tenant_id  text COLLATE "C" NOT NULL,
    job_id     text COLLATE "C" NOT NULL,
    row_number integer NOT NULL,
    product    json NOT NULL,
    problems   json,
    PRIMARY KEY (tenant_id, job_id, row_number),
    FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE job_items (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id         text COLLATE "C" NOT NULL,
    job_id            text COLLATE "C" NOT NULL,
    row_number        integer NOT NULL,
    shop_id           text COLLATE "C" NOT NULL,
    state             text NOT NULL,
    listing_id        text NOT NULL DEFAULT '',
    error             text NOT NULL DEFAULT '',
    attempts          integer NOT NULL DEFAULT 0,
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    cost_usd          double precision NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL,
    UNIQUE (tenant_id, job_id, row_number, shop_id),
    FOREIGN KEY (tenant_id, job_id, row_number) REFERENCES job_rows (tenant_id, job_id, row_number) ON DELETE CASCADE
);

CREATE INDEX job_items_by_state ON job_items (job_id, state);

-- One rate bucket per name, shared by every worker process: the LLM's
-- requests and tokens per minute (see postgres/limiter.go). tat is the
-- bucket's theoretical arrival time (GCRA): when it will be empty again.
CREATE TABLE rate_buckets (
    name text COLLATE "C" PRIMARY KEY,
    tat  timestamptz NOT NULL
);
