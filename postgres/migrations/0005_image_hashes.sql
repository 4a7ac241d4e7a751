-- The perceptual hash of every listing image that has one, as bit(64), with
-- the image's position (0 is the main image), so that dedup can find
-- listings showing the same photo by Hamming distance (pgvector's <~>).
-- The store writes these rows in the transaction that writes the listing.
-- A small scope (a shop, a group) is scanned exactly through the btree
-- index; a large one walks the HNSW index on bit_hamming_ops.
CREATE TABLE listing_image_hashes (
    tenant_id  text COLLATE "C" NOT NULL,
    listing_id text COLLATE "C" NOT NULL,
    shop_id    text COLLATE "C" NOT NULL,
    position   integer NOT NULL,
    phash      bit(64) NOT NULL,
    PRIMARY KEY (tenant_id, listing_id, position),
    CONSTRAINT listing_image_hashes_listing_fk FOREIGN KEY (tenant_id, listing_id) REFERENCES listings (tenant_id, id)
);

CREATE INDEX listing_image_hashes_by_shop ON listing_image_hashes (tenant_id, shop_id) INCLUDE (listing_id);
CREATE INDEX listing_image_hashes_hnsw ON listing_image_hashes USING hnsw (phash bit_hamming_ops);

-- Listings stored before this migration.
INSERT INTO listing_image_hashes (tenant_id, listing_id, shop_id, position, phash)
SELECT l.tenant_id, l.id, l.shop_id, (i.ord - 1)::integer, ('x' || lower(i.img->>'phash'))::bit(64)
FROM listings l, jsonb_array_elements(l.body->'images') WITH ORDINALITY AS i(img, ord)
WHERE jsonb_typeof(l.body->'images') = 'array' AND coalesce(i.img->>'phash', '') ~* '^[0-9a-f]{16}$';
