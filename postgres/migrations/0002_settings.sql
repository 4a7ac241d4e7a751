-- A shop's own word rules and rule overrides, and a tenant's word rules,
-- each kept as one JSON document (listinggen.ShopSettings, WordRules).
-- json, not jsonb: the documents are read whole and keep their word order.
ALTER TABLE shops ADD COLUMN settings json NOT NULL DEFAULT '{}';

CREATE TABLE tenant_settings (
    tenant_id  text COLLATE "C" NOT NULL PRIMARY KEY,
    words      json NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL
);
