-- A shop's own word rules and rule overrides, and a tenant's word rules,
-- each kept as one JSON document (listinggen.ShopSettings, WordRules).
ALTER TABLE shops ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';

CREATE TABLE tenant_settings (
    tenant_id  TEXT NOT NULL PRIMARY KEY,
    words      TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL
) WITHOUT ROWID;
