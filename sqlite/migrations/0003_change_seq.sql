-- change_seq orders every write to a tenant's listings: each insert or
-- update sets it to one more than the tenant's highest, in the writing
-- transaction. SQLite has one writer at a time, so a reader that sees a
-- row with change_seq N also sees every change of that tenant numbered
-- below N. The store's in-memory vector cache (vectors.go) asks
--   SELECT ... WHERE tenant_id = ? AND change_seq > <last seen>
-- before each similarity query and so picks up, with one index probe,
-- what this process and any other process wrote since it last looked.
ALTER TABLE listings ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;

CREATE INDEX listings_by_change ON listings (tenant_id, change_seq);

-- The store's own statements set change_seq. These triggers number the
-- writes of anything else that leaves it alone (the sqlite3 shell, an
-- older binary), so that no write can hide from the cache. Their WHEN
-- clauses are false for the store's statements, which pay nothing more.
CREATE TRIGGER listings_change_seq_insert AFTER INSERT ON listings
WHEN NEW.change_seq = 0
BEGIN
    UPDATE listings SET change_seq =
        (SELECT max(change_seq) FROM listings WHERE tenant_id = NEW.tenant_id) + 1
    WHERE tenant_id = NEW.tenant_id AND id = NEW.id;
END;

CREATE TRIGGER listings_change_seq_update AFTER UPDATE ON listings
WHEN NEW.change_seq = OLD.change_seq
BEGIN
    UPDATE listings SET change_seq =
        (SELECT max(change_seq) FROM listings WHERE tenant_id = NEW.tenant_id) + 1
    WHERE tenant_id = NEW.tenant_id AND id = NEW.id;
END;
