-- API keys: only the SHA-256 of the secret is kept; the id is public and
-- the lookup value, so the secret never appears in a WHERE clause.
CREATE TABLE api_keys (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id    text COLLATE "C" NOT NULL,
    name         text NOT NULL DEFAULT '',
    scopes       text NOT NULL,
    secret_hash  text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, id);

-- Idempotency-Key records, per tenant, kept until expires_at (24 h): a
-- running claim (done = false) or the response to replay.
CREATE TABLE idempotency_keys (
    tenant_id    text COLLATE "C" NOT NULL,
    key          text COLLATE "C" NOT NULL,
    request_hash text NOT NULL,
    done         boolean NOT NULL DEFAULT false,
    status       integer NOT NULL DEFAULT 0,
    content_type text NOT NULL DEFAULT '',
    body         bytea,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

-- Which tenants made which image blob: blobs are shared by content, reads
-- are not.
CREATE TABLE image_owners (
    tenant_id text COLLATE "C" NOT NULL,
    blob_key  text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, blob_key)
);
