-- Shops and listings. Every row carries tenant_id and every index starts
-- with it, so that no query can reach across tenants by accident.
CREATE TABLE shops (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    platform   TEXT NOT NULL,
    grp        TEXT NOT NULL DEFAULT '',
    style      TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;

CREATE INDEX shops_by_group ON shops (tenant_id, grp, id);

CREATE TABLE listings (
    tenant_id       TEXT NOT NULL,
    id              TEXT NOT NULL,
    shop_id         TEXT NOT NULL,
    product_id      TEXT NOT NULL,
    product_hash    TEXT NOT NULL,
    platform        TEXT NOT NULL,
    status          TEXT NOT NULL,
    verdict         TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    -- The rest of the listing (copy, source snapshot, reports, provenance)
    -- as a JSON document; the columns above are the ones queries filter on.
    body            TEXT NOT NULL,
    embedding       BLOB,
    embedding_model TEXT NOT NULL DEFAULT '',
    version         INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, idempotency_key),
    FOREIGN KEY (tenant_id, shop_id) REFERENCES shops (tenant_id, id)
);

CREATE INDEX listings_by_shop    ON listings (tenant_id, shop_id, id);
CREATE INDEX listings_by_status  ON listings (tenant_id, status, id);
CREATE INDEX listings_by_product ON listings (tenant_id, product_id, id);
CREATE INDEX listings_by_verdict ON listings (tenant_id, verdict, id);
