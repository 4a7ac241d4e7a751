-- Worker leases and fenced claims; see sqlite/migrations/0012_leases.sql
-- for the model. expires_at is compared with the database's clock, so
-- that workers on machines whose clocks differ agree on who is alive.
-- Every statement can run again (IF NOT EXISTS): a test rewinds
-- schema_migrations to replay an earlier migration, and the ones after it
-- run again.
CREATE TABLE IF NOT EXISTS workers (
    id         text COLLATE "C" PRIMARY KEY,
    host       text NOT NULL,
    pid        integer NOT NULL,
    started_at timestamptz NOT NULL,
    renewed_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS item_recoveries (
    reason text COLLATE "C" PRIMARY KEY,
    items  bigint NOT NULL
);

ALTER TABLE job_items ADD COLUMN IF NOT EXISTS worker_id text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE job_items ADD COLUMN IF NOT EXISTS claim bigint NOT NULL DEFAULT 0;
ALTER TABLE job_items ADD COLUMN IF NOT EXISTS recovered text NOT NULL DEFAULT '';

CREATE INDEX IF NOT EXISTS job_items_running ON job_items (worker_id) WHERE state = 'running';
CREATE INDEX IF NOT EXISTS job_items_recovered ON job_items (job_id, recovered, state) WHERE recovered <> '';
