-- The review queue's job filter (GET /v1/listings?job_id=) walks the
-- listing ids a job's items recorded, newest first, and looks each one up:
-- this index gives those ids in order, and items without a listing
-- (queued, failed, invalid) are left out of it.
CREATE INDEX job_items_by_listing ON job_items (tenant_id, job_id, listing_id) WHERE listing_id <> '';
