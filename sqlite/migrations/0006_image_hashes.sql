-- The perceptual hash (64 bits, 16 hex digits) of every listing image that
-- has one, with the image's position (0 is the main image), so that dedup
-- can find listings showing the same photo. The store writes these rows in
-- the transaction that writes the listing; the Hamming distance is computed
-- in process over the scope's rows (listing_image_hashes_by_shop).
CREATE TABLE listing_image_hashes (
    tenant_id  TEXT NOT NULL,
    listing_id TEXT NOT NULL,
    shop_id    TEXT NOT NULL,
    position   INTEGER NOT NULL,
    phash      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, listing_id, position),
    FOREIGN KEY (tenant_id, listing_id) REFERENCES listings (tenant_id, id)
) WITHOUT ROWID;

CREATE INDEX listing_image_hashes_by_shop ON listing_image_hashes (tenant_id, shop_id);

-- Listings stored before this migration.
INSERT INTO listing_image_hashes (tenant_id, listing_id, shop_id, position, phash)
SELECT l.tenant_id, l.id, l.shop_id, CAST(i.key AS INTEGER), lower(json_extract(i.value, '$.phash'))
FROM listings l, json_each(l.body, '$.images') i
WHERE length(json_extract(i.value, '$.phash')) = 16;
