-- Worker leases and fenced claims. A worker process renews its lease in
-- workers every few seconds; an item it claims records the worker
-- (worker_id) and a new claim number (claim), which the item's result must
-- carry to be written, so that a worker that lost the item (taken back
-- while it was paused) cannot write a second result. recovered says why an
-- item was last taken back from a worker that stopped; item_recoveries
-- counts every such item by reason for the metrics. On the embedded store
-- one process owns the data directory (a lock file), so at start every
-- item still running belongs to a process that stopped.
CREATE TABLE workers (
    id         TEXT PRIMARY KEY,
    host       TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    renewed_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE item_recoveries (
    reason TEXT PRIMARY KEY,
    items  INTEGER NOT NULL
);

ALTER TABLE job_items ADD COLUMN worker_id TEXT NOT NULL DEFAULT '';
ALTER TABLE job_items ADD COLUMN claim INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job_items ADD COLUMN recovered TEXT NOT NULL DEFAULT '';

-- The items in flight, by holder: what a reclaim looks through, a handful
-- of rows whatever the size of the jobs.
CREATE INDEX job_items_running ON job_items (worker_id) WHERE state = 'running';
-- A job's recovered items, counted with its progress: rare rows, so the
-- count costs nothing for a job that had none.
CREATE INDEX job_items_recovered ON job_items (job_id, recovered, state) WHERE recovered <> '';
