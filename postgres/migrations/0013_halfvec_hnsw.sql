-- Each model's HNSW index is built over the embedding cast to halfvec
-- instead of vector (postgres/similar.go, indexExpr): half the size, built
-- and walked faster, and the queries re-sort what it finds by the exact
-- distance. This replaces an existing vector index of a model of up to
-- 2000 dimensions (wider ones already had a halfvec index, up to 4000) with
-- the halfvec one, with the same m and ef_construction, under the new name
-- the store gives such indexes. The build reads every row of the model once
-- while writes wait (minutes for a million rows), as the first build did.
DO $$
DECLARE
    m record;
    opts text[];
    new_name text;
BEGIN
    FOR m IN SELECT model, dims, index_name FROM embedding_models
            WHERE index_name <> '' AND dims <= 2000 AND index_name NOT LIKE 'listings_hnswh_%' LOOP
        SELECT c.reloptions INTO opts FROM pg_class c WHERE c.oid = to_regclass(m.index_name);
        new_name := replace(m.index_name, 'listings_hnsw_', 'listings_hnswh_');
        EXECUTE format('CREATE INDEX %I ON listings USING hnsw ((embedding::halfvec(%s)) halfvec_cosine_ops) WITH (m = %s, ef_construction = %s) WHERE embedding_model = %L',
            new_name, m.dims,
            coalesce((SELECT option_value FROM pg_options_to_table(opts) WHERE option_name = 'm'), '16'),
            coalesce((SELECT option_value FROM pg_options_to_table(opts) WHERE option_name = 'ef_construction'), '64'),
            m.model);
        EXECUTE format('DROP INDEX IF EXISTS %I', m.index_name);
        UPDATE embedding_models SET index_name = new_name WHERE model = m.model;
    END LOOP;
END
$$;
