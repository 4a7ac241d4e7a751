-- The review queue's filters by platform and by compliance verdict, each
-- an index that starts with the tenant and ends with the id, so that a
-- filtered page is one index range scan in id order at any depth (keyset
-- pagination). The compliance verdict lives in the JSON body; the index is
-- on the same expression the store's query uses.
CREATE INDEX listings_by_platform ON listings (tenant_id, platform, id);
CREATE INDEX listings_by_compliance ON listings (tenant_id, json_type(body, '$.compliance.ok'), id);
