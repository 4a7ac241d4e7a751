package sqlite

import (
	"container/heap"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/vectorcache"
)

const listingColumns = `tenant_id, id, shop_id, product_id, product_hash, platform, status, verdict,
	idempotency_key, body, embedding, embedding_model, version, created_at, updated_at`

// nextChangeSeq numbers a write to one tenant's listings: one more than the
// tenant's highest change_seq, read through listings_by_change. Writers
// are serialised (one write transaction at a time), so the numbers follow
// commit order; see migrations/0003_change_seq.sql.
const nextChangeSeq = `(SELECT coalesce(max(change_seq), 0) + 1 FROM listings WHERE tenant_id = ?)`

// CreateListing inserts l, or loads the existing listing with the same
// idempotency key into l and reports created=false.
func (s *Store) CreateListing(ctx context.Context, l *listinggen.Listing) (bool, error) {
	fresh, body, err := s.prepareCreate(l)
	if err != nil {
		return false, err
	}
	var got *listinggen.Listing
	created := false
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		w, err := s.newListingWriter(ctx, tx)
		if err != nil {
			return err
		}
		defer w.close()
		got, created, err = w.insert(ctx, fresh, body)
		return err
	})
	if err != nil {
		return false, err
	}
	*l = *got
	return created, nil
}

// MaxCreateBatch is the most listings one CreateListings call takes: a
// batch is one transaction, which holds the database's only write lock.
const MaxCreateBatch = 10_000

// CreateListings is CreateListing for many listings in one transaction, for
// bulk loads (imports, benchmarks): one commit, and so one fsync, instead
// of one per listing. Each listing is created or, if its idempotency key
// exists (or appears earlier in ls), loaded, exactly as CreateListing
// would; created[i] says which. On error nothing is written and ls is left
// as it was.
func (s *Store) CreateListings(ctx context.Context, ls []*listinggen.Listing) (created []bool, err error) {
	if len(ls) > MaxCreateBatch {
		return nil, listinggen.Errorf(listinggen.ETOOLARGE, "%d listings in one batch, at most %d", len(ls), MaxCreateBatch)
	}
	type prepared struct {
		fresh *listinggen.Listing
		body  []byte
	}
	items := make([]prepared, len(ls))
	for i, l := range ls {
		fresh, body, err := s.prepareCreate(l)
		if err != nil {
			return nil, inBatch(i, err)
		}
		items[i] = prepared{fresh, body}
	}
	got := make([]*listinggen.Listing, len(ls))
	created = make([]bool, len(ls))
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		w, err := s.newListingWriter(ctx, tx)
		if err != nil {
			return err
		}
		defer w.close()
		for i, it := range items {
			if got[i], created[i], err = w.insert(ctx, it.fresh, it.body); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, l := range ls {
		*l = *got[i]
	}
	return created, nil
}

// inBatch says which listing of a batch err is about.
func inBatch(i int, err error) error {
	fields := slices.Clone(listinggen.ErrorFields(err))
	for j := range fields {
		fields[j].Field = fmt.Sprintf("listings[%d].%s", i, fields[j].Field)
	}
	return &listinggen.Error{Code: listinggen.ErrorCode(err), Fields: fields, Err: err,
		Message: fmt.Sprintf("listing %d: %s", i, listinggen.ErrorMessage(err))}
}

// prepareCreate checks l and returns the listing to insert and its body.
func (s *Store) prepareCreate(l *listinggen.Listing) (*listinggen.Listing, []byte, error) {
	if err := l.CheckStorable(); err != nil {
		return nil, nil, err
	}
	if l.IdempotencyKey == "" {
		return nil, nil, listinggen.Errorf(listinggen.EINVALID, "listing has no idempotency key")
	}
	fresh := *l
	if fresh.ID == "" {
		fresh.ID = s.newID()
	}
	fresh.Version = 1
	fresh.CreatedAt = s.now().UTC()
	fresh.UpdatedAt = fresh.CreatedAt
	body, err := json.Marshal(&fresh)
	if err != nil {
		return nil, nil, listinggen.WrapError(listinggen.EINTERNAL, err, "encode listing")
	}
	return &fresh, body, nil
}

// listingWriter inserts listings in one transaction with one prepared
// statement, so that a bulk load prepares the INSERT once, not once a
// listing.
type listingWriter struct {
	tx    *sql.Tx
	q     cachedTx
	stmt  *sql.Stmt
	shops map[[2]string]bool // shops found in this transaction
}

// The queries creating and finding a listing run, prepared once (see
// stmtCache).
const (
	qInsertListing = `INSERT INTO listings (` + listingColumns + `, change_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ` + nextChangeSeq + `)
		ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`
	qShopExists   = `SELECT count(*) FROM shops WHERE tenant_id = ? AND id = ?`
	qListing      = `SELECT ` + listingColumns + ` FROM listings WHERE tenant_id = ? AND id = ?`
	qListingByKey = `SELECT ` + listingColumns + ` FROM listings WHERE tenant_id = ? AND idempotency_key = ?`
	// qListingsByID takes the ids as a JSON array, so that its text, and
	// so its prepared statement, is the same for any number of them.
	qListingsByID = `SELECT ` + listingColumns + ` FROM listings WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))`
)

func (s *Store) newListingWriter(ctx context.Context, tx *sql.Tx) (*listingWriter, error) {
	q := s.cached(tx)
	stmt := q.stmt(ctx, qInsertListing)
	return &listingWriter{tx: tx, q: q, stmt: stmt, shops: map[[2]string]bool{}}, nil
}

func (w *listingWriter) close() { w.stmt.Close() }

// insert inserts fresh and returns it with created=true, or the stored
// listing with the same idempotency key and created=false.
func (w *listingWriter) insert(ctx context.Context, fresh *listinggen.Listing, body []byte) (*listinggen.Listing, bool, error) {
	key := [2]string{fresh.TenantID, fresh.ShopID}
	if !w.shops[key] {
		var n int
		if err := w.q.QueryRowContext(ctx, qShopExists, fresh.TenantID, fresh.ShopID).Scan(&n); err != nil {
			return nil, false, err
		} else if n == 0 {
			return nil, false, listinggen.Errorf(listinggen.ENOTFOUND, "shop %q not found", fresh.ShopID)
		}
		w.shops[key] = true
	}
	res, err := w.stmt.ExecContext(ctx,
		fresh.TenantID, fresh.ID, fresh.ShopID, fresh.ProductID, fresh.ProductHash, string(fresh.Platform),
		string(fresh.Status), string(fresh.Dedup.Verdict), fresh.IdempotencyKey, string(body),
		encodeVector(fresh.Embedding), fresh.EmbeddingModel, fresh.Version,
		formatTime(fresh.CreatedAt), formatTime(fresh.UpdatedAt), fresh.TenantID)
	if err != nil {
		return nil, false, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return fresh, true, writeImageHashes(ctx, w.tx, fresh, false)
	}
	existing, err := scanListing(w.tx.QueryRowContext(ctx, `SELECT `+listingColumns+` FROM listings
		WHERE tenant_id = ? AND idempotency_key = ?`, fresh.TenantID, fresh.IdempotencyKey))
	if err != nil {
		return nil, false, err
	}
	return existing, false, nil
}

func scanListing(row interface{ Scan(...any) error }) (*listinggen.Listing, error) {
	var l listinggen.Listing
	var tenant, id, shop, product, hash, platform, status, verdict, key, body, model, created, updated string
	var emb []byte
	var version int
	if err := row.Scan(&tenant, &id, &shop, &product, &hash, &platform, &status, &verdict, &key, &body, &emb, &model,
		&version, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		return nil, fmt.Errorf("decode listing %s: %w", id, err)
	}
	// The columns are authoritative for everything they hold.
	l.TenantID, l.ID, l.ShopID, l.ProductID, l.ProductHash = tenant, id, shop, product, hash
	l.Platform, l.Status, l.Dedup.Verdict = listinggen.Platform(platform), listinggen.ListingStatus(status), listinggen.Verdict(verdict)
	l.IdempotencyKey, l.EmbeddingModel, l.Version = key, model, version
	l.Embedding = decodeVector(emb)
	l.CreatedAt, l.UpdatedAt = parseTime(created), parseTime(updated)
	return &l, nil
}

// FindListing returns the tenant's listing or ENOTFOUND.
func (s *Store) FindListing(ctx context.Context, tenantID, id string) (*listinggen.Listing, error) {
	l, err := scanListing(s.read.QueryRowContext(ctx, qListing, tenantID, id))
	if err == sql.ErrNoRows {
		return nil, listinggen.Errorf(listinggen.ENOTFOUND, "listing %q not found", id)
	}
	return l, translate(err)
}

func (s *Store) FindListingsByID(ctx context.Context, tenantID string, ids []string) ([]*listinggen.Listing, error) {
	if len(ids) == 0 {
		return []*listinggen.Listing{}, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, qListingsByID, tenantID, string(list))
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	ls := make([]*listinggen.Listing, 0, len(ids))
	for rows.Next() {
		l, err := scanListing(rows)
		if err != nil {
			return nil, translate(err)
		}
		ls = append(ls, l)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	return listinggen.InIDOrder(ids, ls)
}

// FindListingByKey returns the tenant's listing with that idempotency key or
// ENOTFOUND.
func (s *Store) FindListingByKey(ctx context.Context, tenantID, key string) (*listinggen.Listing, error) {
	l, err := scanListing(s.read.QueryRowContext(ctx, qListingByKey, tenantID, key))
	if err == sql.ErrNoRows {
		return nil, listinggen.Errorf(listinggen.ENOTFOUND, "no listing with that idempotency key")
	}
	return l, translate(err)
}

// FindListings lists the tenant's listings, newest first.
func (s *Store) FindListings(ctx context.Context, tenantID string, f listinggen.ListingFilter) (listinggen.Page[*listinggen.Listing], error) {
	var page listinggen.Page[*listinggen.Listing]
	after, err := listinggen.DecodeCursor(f.Cursor)
	if err != nil {
		return page, err
	}
	q := `SELECT ` + listingColumns + ` FROM listings WHERE tenant_id = ?`
	args := []any{tenantID}
	id := "id"
	if f.JobID != "" {
		// A job's listings are found from the job's side: the listing ids
		// its items recorded, newest first from job_items_by_listing, each
		// looked up (CROSS JOIN fixes that order of the loops), so a page
		// costs the same however many listings are newer than the job's.
		// GROUP BY keeps a listing two items recorded once.
		q = `SELECT ` + listingColumns + ` FROM (SELECT listing_id AS lid FROM job_items WHERE tenant_id = ? AND job_id = ? AND listing_id <> '') j
			CROSS JOIN listings ON id = j.lid WHERE tenant_id = ?`
		args = []any{tenantID, f.JobID, tenantID}
		id = "j.lid"
	}
	for _, c := range []struct{ cond, val string }{
		{"shop_id = ?", f.ShopID}, {"product_id = ?", f.ProductID}, {"status = ?", string(f.Status)},
		{"verdict = ?", string(f.Verdict)}, {"platform = ?", string(f.Platform)},
		{complianceOKExpr + " = ?", complianceValue(f.Compliance)}, {id + " < ?", after},
	} {
		if c.val != "" {
			q += ` AND ` + c.cond
			args = append(args, c.val)
		}
	}
	if f.JobID != "" {
		q += ` GROUP BY j.lid`
	}
	limit := listinggen.PageLimit(f.Limit)
	q += ` ORDER BY ` + id + ` DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return page, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanListing(rows)
		if err != nil {
			return page, translate(err)
		}
		page.Items = append(page.Items, l)
	}
	if err := rows.Err(); err != nil {
		return page, translate(err)
	}
	return paginate(page.Items, limit, func(l *listinggen.Listing) string { return l.ID }), nil
}

// UpdateListing writes l if nobody changed it since it was read.
func (s *Store) UpdateListing(ctx context.Context, l *listinggen.Listing) error {
	if err := l.CheckStorable(); err != nil {
		return err
	}
	next := *l
	next.Version = l.Version + 1
	next.UpdatedAt = s.now().UTC()
	body, err := json.Marshal(&next)
	if err != nil {
		return listinggen.WrapError(listinggen.EINTERNAL, err, "encode listing")
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE listings SET status = ?, verdict = ?, body = ?, embedding = ?,
			embedding_model = ?, version = ?, updated_at = ?, change_seq = `+nextChangeSeq+`
			WHERE tenant_id = ? AND id = ? AND version = ?`,
			string(next.Status), string(next.Dedup.Verdict), string(body), encodeVector(next.Embedding), next.EmbeddingModel,
			next.Version, formatTime(next.UpdatedAt), l.TenantID, l.TenantID, l.ID, l.Version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return writeImageHashes(ctx, tx, &next, true)
		}
		var current int
		err = tx.QueryRowContext(ctx, `SELECT version FROM listings WHERE tenant_id = ? AND id = ?`, l.TenantID, l.ID).Scan(&current)
		if err == sql.ErrNoRows {
			return listinggen.Errorf(listinggen.ENOTFOUND, "listing %q not found", l.ID)
		} else if err != nil {
			return err
		}
		return listinggen.Errorf(listinggen.ECONFLICT, "listing %q was changed (version %d, you sent %d); reload and retry", l.ID, current, l.Version)
	})
	if err == nil {
		*l = next
	}
	return err
}

// SimilarListings returns the K listings of the query's model most similar
// to q.Vector within the scope (a shop, the shops of a group, or the whole
// tenant), best first, ties by id. The scan is exact, so recall is 1.0: over
// the in-memory copy of the tenant's vectors (vectors.go), brought up to
// date with every committed write first, or, when the cache is disabled or
// the tenant's vectors exceed its cap, over the scope's rows read through
// SQL.
func (s *Store) SimilarListings(ctx context.Context, tenantID string, q listinggen.SimilarQuery) ([]listinggen.SimilarListing, error) {
	if q.K <= 0 || len(q.Vector) == 0 {
		return nil, listinggen.Errorf(listinggen.EINVALID, "similarity query needs a vector and K > 0")
	}
	if s.vectors != nil {
		hits, ok, err := s.similarCached(ctx, tenantID, q)
		if err != nil || ok {
			return hits, err
		}
	}
	return s.similarSQL(ctx, tenantID, q)
}

// similarSQL reads every vector of the scope through SQL and keeps the best
// K. Most of its cost is SQLite walking each row's overflow pages past the
// JSON body to the embedding.
func (s *Store) similarSQL(ctx context.Context, tenantID string, q listinggen.SimilarQuery) ([]listinggen.SimilarListing, error) {
	sqlq := `SELECT l.id, l.shop_id, l.embedding FROM listings l`
	args := []any{}
	switch {
	case q.ShopID != "":
		sqlq += ` WHERE l.tenant_id = ? AND l.shop_id = ?`
		args = append(args, tenantID, q.ShopID)
	case q.Group != "":
		sqlq += ` JOIN shops s ON s.tenant_id = l.tenant_id AND s.id = l.shop_id WHERE l.tenant_id = ? AND s.grp = ?`
		args = append(args, tenantID, q.Group)
	default:
		sqlq += ` WHERE l.tenant_id = ?`
		args = append(args, tenantID)
	}
	sqlq += ` AND l.embedding_model = ? AND l.embedding IS NOT NULL AND l.id != ?`
	args = append(args, q.Model, q.ExcludeID)
	rows, err := s.reader.QueryContext(ctx, sqlq, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	top := &hitHeap{}
	var buf []float32
	for rows.Next() {
		var id, shop string
		var blob []byte
		if err := rows.Scan(&id, &shop, &blob); err != nil {
			return nil, translate(err)
		}
		buf = decodeVectorInto(buf[:0], blob)
		score := vectorcache.CosineScore(q.Vector, buf)
		if top.Len() < q.K {
			heap.Push(top, listinggen.SimilarListing{ListingID: id, ShopID: shop, Score: score})
		} else if score > (*top)[0].Score {
			(*top)[0] = listinggen.SimilarListing{ListingID: id, ShopID: shop, Score: score}
			heap.Fix(top, 0)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	out := make([]listinggen.SimilarListing, top.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(top).(listinggen.SimilarListing)
	}
	return out, nil
}

// hitHeap is a min-heap on score holding the best K hits seen so far.
type hitHeap []listinggen.SimilarListing

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return h[i].Score < h[j].Score }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { *h = append(*h, x.(listinggen.SimilarListing)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func encodeVector(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func decodeVector(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return decodeVectorInto(make([]float32, 0, len(b)/4), b)
}

func decodeVectorInto(dst []float32, b []byte) []float32 {
	n := len(b) / 4
	dst = slices.Grow(dst, n)
	out := dst[len(dst) : len(dst)+n]
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return dst[:len(dst)+n]
}

// complianceOKExpr is the expression the listings_by_compliance index is
// built on (migration 0009); the query must repeat it exactly to use it.
const complianceOKExpr = `json_type(body, '$.compliance.ok')`

// complianceValue maps ListingFilter.Compliance to the value of
// complianceOKExpr, the JSON type name of the boolean (text, as bound).
func complianceValue(c string) string {
	switch c {
	case listinggen.ComplianceOK:
		return "true"
	case listinggen.ComplianceProblems:
		return "false"
	}
	return ""
}
