package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/listinggen/listinggen"
)

var _ listinggen.SecurityStore = (*Store)(nil)

const apiKeyColumns = `id, tenant_id, name, scopes, secret_hash, created_at, last_used_at, revoked_at`

func scanAPIKey(row pgx.Row) (*listinggen.APIKey, error) {
	var k listinggen.APIKey
	var scopes string
	if err := row.Scan(&k.ID, &k.TenantID, &k.Name, &scopes, &k.SecretHash, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt); err != nil {
		return nil, err
	}
	k.Scopes = listinggen.SplitScopes(scopes)
	k.CreatedAt = k.CreatedAt.UTC()
	for _, t := range []*time.Time{k.LastUsedAt, k.RevokedAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return &k, nil
}

// CreateAPIKey stores a new key (its hash, never its secret).
func (s *Store) CreateAPIKey(ctx context.Context, k *listinggen.APIKey) error {
	k.CreatedAt = k.CreatedAt.UTC().Truncate(time.Microsecond)
	_, err := s.pool.Exec(ctx, `INSERT INTO api_keys (id, tenant_id, name, scopes, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.TenantID, k.Name, listinggen.JoinScopes(k.Scopes), k.SecretHash, k.CreatedAt)
	return translate(err)
}

// FindAPIKey returns a key by id.
func (s *Store) FindAPIKey(ctx context.Context, id string) (*listinggen.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, listinggen.Errorf(listinggen.ENOTFOUND, "API key %q not found", id)
	}
	return k, translate(err)
}

// ListAPIKeys lists a tenant's keys (every key for ""), oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, tenantID string) ([]*listinggen.APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE $1 = '' OR tenant_id = $1 ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*listinggen.APIKey, error) { return scanAPIKey(r) })
	if out == nil {
		out = []*listinggen.APIKey{}
	}
	return out, translate(err)
}

// RevokeAPIKey marks a key revoked; a second revoke keeps the first time.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`, at.UTC(), id)
	if err != nil {
		return translate(err)
	}
	if tag.RowsAffected() == 0 {
		return listinggen.Errorf(listinggen.ENOTFOUND, "API key %q not found", id)
	}
	return nil
}

// TouchAPIKey records the key's last use.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2`, at.UTC(), id)
	return translate(err)
}

// CountActiveAPIKeys counts unrevoked keys.
func (s *Store) CountActiveAPIKeys(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE revoked_at IS NULL`).Scan(&n)
	return n, translate(err)
}

const idemColumns = `tenant_id, key, request_hash, done, status, content_type, body, created_at, expires_at`

func scanIdem(row pgx.Row) (*listinggen.IdempotencyRecord, error) {
	var r listinggen.IdempotencyRecord
	if err := row.Scan(&r.TenantID, &r.Key, &r.RequestHash, &r.Done, &r.Status, &r.ContentType, &r.Body, &r.CreatedAt, &r.ExpiresAt); err != nil {
		return nil, err
	}
	r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	return &r, nil
}

// ClaimIdempotencyKey claims the key in one statement: the insert wins, or
// replaces an expired record or a stale claim, or does nothing; concurrent
// claims serialise on the primary key, so exactly one gets the claim.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec *listinggen.IdempotencyRecord, staleAfter time.Duration) (*listinggen.IdempotencyRecord, bool, error) {
	now := s.timestamp()
	for range 3 {
		var claimed bool
		err := s.pool.QueryRow(ctx, `INSERT INTO idempotency_keys (tenant_id, key, request_hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (tenant_id, key) DO UPDATE SET request_hash = excluded.request_hash, done = false, status = 0,
				content_type = '', body = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at
			WHERE idempotency_keys.expires_at <= $6 OR (NOT idempotency_keys.done AND idempotency_keys.created_at <= $7)
			RETURNING true`,
			rec.TenantID, rec.Key, rec.RequestHash, rec.CreatedAt.UTC(), rec.ExpiresAt.UTC(), now, now.Add(-staleAfter)).Scan(&claimed)
		if err == nil {
			return rec, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, false, translate(err)
		}
		existing, err := scanIdem(s.pool.QueryRow(ctx, `SELECT `+idemColumns+` FROM idempotency_keys WHERE tenant_id = $1 AND key = $2`, rec.TenantID, rec.Key))
		if err == nil {
			return existing, false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, false, translate(err)
		}
		// Released between the two statements: claim again.
	}
	return nil, false, listinggen.Errorf(listinggen.EUNAVAILABLE, "idempotency key is contended, retry")
}

// CompleteIdempotencyKey stores the response of a claim.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, rec *listinggen.IdempotencyRecord) error {
	_, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET done = true, status = $1, content_type = $2, body = $3
		WHERE tenant_id = $4 AND key = $5 AND request_hash = $6`, rec.Status, rec.ContentType, rec.Body, rec.TenantID, rec.Key, rec.RequestHash)
	return translate(err)
}

// ReleaseIdempotencyKey drops a running claim.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, tenantID, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND NOT done`, tenantID, key)
	return translate(err)
}

// AddImageOwner records that the tenant made these blobs.
func (s *Store) AddImageOwner(ctx context.Context, tenantID string, keys []string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO image_owners (tenant_id, blob_key) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, tenantID, keys)
	return translate(err)
}

// ImageOwned reports whether the tenant made the blob.
func (s *Store) ImageOwned(ctx context.Context, tenantID, key string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM image_owners WHERE tenant_id = $1 AND blob_key = $2)`, tenantID, key).Scan(&ok)
	return ok, translate(err)
}
