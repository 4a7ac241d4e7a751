-- Batch jobs (issue 8). A job's catalogue rows are stored once in
-- job_rows; job_items holds one row per (catalogue row, shop) with its
-- result, so a result exists at most once per item whatever the queue
-- delivers twice. An invalid row has one item with shop_id '' and state
-- 'invalid'. River's own tables are created by rivermigrate from cmd (see
-- jobs.Migrate), not here: the store does not know River.
CREATE TABLE jobs (
    tenant_id          TEXT NOT NULL,
    id                 TEXT NOT NULL,
    state              TEXT NOT NULL,
    options            TEXT NOT NULL,
    source             TEXT NOT NULL,
    job_key            TEXT NOT NULL DEFAULT '',
    row_count          INTEGER NOT NULL DEFAULT 0,
    item_count         INTEGER NOT NULL DEFAULT 0,
    prompt_tokens      INTEGER NOT NULL DEFAULT 0,
    completion_tokens  INTEGER NOT NULL DEFAULT 0,
    cost_usd           REAL NOT NULL DEFAULT 0,
    estimated_tokens   INTEGER NOT NULL DEFAULT 0,
    estimated_cost_usd REAL NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    started_at         TEXT,
    finished_at        TEXT,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX jobs_by_key ON jobs (tenant_id, job_key, created_at) WHERE job_key <> '';

CREATE TABLE job_rows (
    tenant_id  TEXT NOT NULL,
    job_id     TEXT NOT NULL,
    row_number INTEGER NOT NULL,
    product    TEXT NOT NULL,
    problems   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, job_id, row_number),
    FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE job_items (
    id                INTEGER PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    job_id            TEXT NOT NULL,
    row_number        INTEGER NOT NULL,
    shop_id           TEXT NOT NULL,
    state             TEXT NOT NULL,
    listing_id        TEXT NOT NULL DEFAULT '',
    error             TEXT NOT NULL DEFAULT '',
    attempts          INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd          REAL NOT NULL DEFAULT 0,
    updated_at        TEXT NOT NULL,
    UNIQUE (tenant_id, job_id, row_number, shop_id),
    FOREIGN KEY (tenant_id, job_id, row_number) REFERENCES job_rows (tenant_id, job_id, row_number) ON DELETE CASCADE
);

CREATE INDEX job_items_by_state ON job_items (job_id, state);
