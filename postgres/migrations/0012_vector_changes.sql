-- The in-process vector cache (internal/vectorcache, postgres/vectors.go)
-- catches up with the listings whose vector, model or shop changed since it
-- last looked. PostgreSQL commits transactions out of the order their ids
-- or sequence numbers were taken, so a "greater than the last seen" counter
-- would miss a slow transaction; instead each change records the id of the
-- transaction that made it, and the cache re-reads every change made by a
-- transaction that was still running (xid >= the snapshot's xmin) when it
-- last looked. Rows written before this migration carry 0: a cache loads
-- them with everything else.
ALTER TABLE listings ADD COLUMN vec_xid xid8 NOT NULL DEFAULT '0';

CREATE FUNCTION listings_vec_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.embedding IS DISTINCT FROM OLD.embedding
            OR NEW.embedding_model IS DISTINCT FROM OLD.embedding_model
            OR NEW.shop_id IS DISTINCT FROM OLD.shop_id THEN
        NEW.vec_xid := pg_current_xact_id();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER listings_vec_xid BEFORE INSERT OR UPDATE ON listings
    FOR EACH ROW EXECUTE FUNCTION listings_vec_xid();

CREATE INDEX listings_by_vec_xid ON listings (tenant_id, vec_xid);
