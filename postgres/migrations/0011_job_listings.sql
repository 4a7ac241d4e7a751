-- The review queue's job filter (GET /v1/listings?job_id=) walks the
-- listing ids a job's items recorded, newest first, and looks each one up:
-- this index gives those ids in order, and items without a listing
-- (queued, failed, invalid) are left out of it. listing_id takes the "C"
-- collation of every other id column, so that it compares with
-- listings.id in the same order and the lookups can use listings' indexes.
ALTER TABLE job_items ALTER COLUMN listing_id TYPE text COLLATE "C";
CREATE INDEX job_items_by_listing ON job_items (tenant_id, job_id, listing_id) WHERE listing_id <> '';
