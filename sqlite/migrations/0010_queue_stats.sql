-- QueueStats (the queue depth and age metrics, read at every scrape)
-- counts the queued items of all jobs and finds the oldest: a partial index
-- of just those rows keeps that proportional to the queue, not to every
-- item ever run.
CREATE INDEX job_items_queued ON job_items (updated_at) WHERE state = 'queued';
