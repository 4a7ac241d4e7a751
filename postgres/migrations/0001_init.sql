-- Shops and listings: the same logical model as the SQLite store. Every row
-- carries tenant_id and every key and btree index starts with it, so that no
-- query can reach across tenants by accident. Keys are COLLATE "C" so that
-- id order is byte order, as in SQLite, and cursors mean the same thing on
-- both stores.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE shops (
    tenant_id  text COLLATE "C" NOT NULL,
    id         text COLLATE "C" NOT NULL,
    name       text NOT NULL,
    platform   text NOT NULL,
    grp        text COLLATE "C" NOT NULL DEFAULT '',
    style      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX shops_by_group ON shops (tenant_id, grp, id);

-- Every embedding model the store has seen, with its dimension. The
-- dimension is a property of the model (hashing 256, API models 1024/1536),
-- so one untyped vector column holds them all; this table pins each model to
-- one dimension, and the foreign key from listings makes mixing impossible
-- even for a writer that skips the store's own check. index_name is the
-- partial HNSW index created for the model the first time it was seen, or ''
-- when the dimension is too large for HNSW and the model is searched exactly.
CREATE TABLE embedding_models (
    model      text COLLATE "C" NOT NULL PRIMARY KEY,
    dims       integer NOT NULL CHECK (dims BETWEEN 1 AND 16000),
    index_name text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (model, dims)
);

CREATE TABLE listings (
    tenant_id       text COLLATE "C" NOT NULL,
    id              text COLLATE "C" NOT NULL,
    shop_id         text COLLATE "C" NOT NULL,
    product_id      text COLLATE "C" NOT NULL,
    product_hash    text NOT NULL,
    platform        text NOT NULL,
    status          text NOT NULL,
    verdict         text NOT NULL,
    idempotency_key text COLLATE "C" NOT NULL,
    -- The rest of the listing (copy, source snapshot, reports, provenance)
    -- as a document; the columns above are the ones queries filter on.
    body            jsonb NOT NULL,
    -- The source's attributes, kept apart from body as json (not jsonb):
    -- jsonb sorts object keys and drops duplicates, and the supplier's
    -- attribute order carries meaning (the first is usually the key one).
    source_attributes json,
    embedding       vector,
    embedding_model text COLLATE "C" NOT NULL DEFAULT '',
    embedding_dims  integer,
    version         integer NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT listings_idempotency_key UNIQUE (tenant_id, idempotency_key),
    CONSTRAINT listings_shop_fk FOREIGN KEY (tenant_id, shop_id) REFERENCES shops (tenant_id, id),
    CONSTRAINT listings_embedding_model_fk FOREIGN KEY (embedding_model, embedding_dims)
        REFERENCES embedding_models (model, dims),
    CONSTRAINT listings_embedding_dims CHECK ((embedding IS NULL) = (embedding_dims IS NULL)
        AND (embedding IS NULL OR vector_dims(embedding) = embedding_dims))
);

CREATE INDEX listings_by_shop    ON listings (tenant_id, shop_id, id);
CREATE INDEX listings_by_status  ON listings (tenant_id, status, id);
CREATE INDEX listings_by_product ON listings (tenant_id, product_id, id);
CREATE INDEX listings_by_verdict ON listings (tenant_id, verdict, id);

-- Counts the rows a similarity query would scan (tenant-wide, one shop, or
-- the shops of a group) from the index alone, to choose between an exact
-- scan and the HNSW index, and finds them for the exact scan. id is
-- included for the query's "not this listing" filter. The HNSW indexes
-- are per model and created at run time; see embedding_models.
CREATE INDEX listings_vectors_by_shop ON listings (tenant_id, embedding_model, shop_id) INCLUDE (id)
    WHERE embedding IS NOT NULL;
