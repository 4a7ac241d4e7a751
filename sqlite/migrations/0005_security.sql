-- API keys: only the SHA-256 of the secret is kept; the id is public and
-- the lookup value, so the secret never appears in a WHERE clause.
CREATE TABLE api_keys (
    id           TEXT NOT NULL PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    scopes       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
) WITHOUT ROWID;

CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, id);

-- Idempotency-Key records, per tenant, kept until expires_at (24 h): a
-- running claim (done = 0) or the response to replay.
CREATE TABLE idempotency_keys (
    tenant_id    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    done         INTEGER NOT NULL DEFAULT 0,
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL DEFAULT '',
    body         BLOB,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;

CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

-- Which tenants made which image blob: blobs are shared by content, reads
-- are not.
CREATE TABLE image_owners (
    tenant_id TEXT NOT NULL,
    blob_key  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, blob_key)
) WITHOUT ROWID;
