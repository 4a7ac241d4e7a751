package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/listinggen/listinggen"
)

var _ listinggen.SecurityStore = (*Store)(nil)

const apiKeyColumns = `id, tenant_id, name, scopes, secret_hash, created_at, last_used_at, revoked_at`

func scanAPIKey(row interface{ Scan(...any) error }) (*listinggen.APIKey, error) {
	var k listinggen.APIKey
	var scopes, created string
	var used, revoked sql.NullString
	if err := row.Scan(&k.ID, &k.TenantID, &k.Name, &scopes, &k.SecretHash, &created, &used, &revoked); err != nil {
		return nil, err
	}
	k.Scopes = listinggen.SplitScopes(scopes)
	k.CreatedAt = parseTime(created)
	k.LastUsedAt, k.RevokedAt = optTime(used), optTime(revoked)
	return &k, nil
}

func optTime(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t := parseTime(s.String)
	return &t
}

// CreateAPIKey stores a new key (its hash, never its secret).
func (s *Store) CreateAPIKey(ctx context.Context, k *listinggen.APIKey) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, tenant_id, name, scopes, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, k.TenantID, k.Name, listinggen.JoinScopes(k.Scopes), k.SecretHash, formatTime(k.CreatedAt))
		return err
	})
}

// FindAPIKey returns a key by id.
func (s *Store) FindAPIKey(ctx context.Context, id string) (*listinggen.APIKey, error) {
	k, err := scanAPIKey(s.reader.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, listinggen.Errorf(listinggen.ENOTFOUND, "API key %q not found", id)
	}
	return k, translate(err)
}

// ListAPIKeys lists a tenant's keys (every key for ""), oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, tenantID string) ([]*listinggen.APIKey, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE ? = '' OR tenant_id = ? ORDER BY created_at, id`, tenantID, tenantID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []*listinggen.APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, k)
	}
	return out, translate(rows.Err())
}

// RevokeAPIKey marks a key revoked; a second revoke keeps the first time.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, formatTime(at), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return listinggen.Errorf(listinggen.ENOTFOUND, "API key %q not found", id)
		}
		return nil
	})
}

// TouchAPIKey records the key's last use.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, formatTime(at), id)
		return err
	})
}

// CountActiveAPIKeys counts unrevoked keys.
func (s *Store) CountActiveAPIKeys(ctx context.Context) (int, error) {
	var n int
	err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE revoked_at IS NULL`).Scan(&n)
	return n, translate(err)
}

const idemColumns = `tenant_id, key, request_hash, done, status, content_type, body, created_at, expires_at`

func scanIdem(row interface{ Scan(...any) error }) (*listinggen.IdempotencyRecord, error) {
	var r listinggen.IdempotencyRecord
	var created, expires string
	if err := row.Scan(&r.TenantID, &r.Key, &r.RequestHash, &r.Done, &r.Status, &r.ContentType, &r.Body, &created, &expires); err != nil {
		return nil, err
	}
	r.CreatedAt, r.ExpiresAt = parseTime(created), parseTime(expires)
	return &r, nil
}

// ClaimIdempotencyKey claims the key unless a live record holds it. SQLite
// has one writer, so the read and the write of the transaction are atomic.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec *listinggen.IdempotencyRecord, staleAfter time.Duration) (*listinggen.IdempotencyRecord, bool, error) {
	var existing *listinggen.IdempotencyRecord
	now := s.now().UTC()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := scanIdem(tx.QueryRowContext(ctx, `SELECT `+idemColumns+` FROM idempotency_keys WHERE tenant_id = ? AND key = ?`, rec.TenantID, rec.Key))
		switch {
		case err == nil && r.ExpiresAt.After(now) && (r.Done || r.CreatedAt.Add(staleAfter).After(now)):
			existing = r
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO idempotency_keys (tenant_id, key, request_hash, done, status, content_type, body, created_at, expires_at)
			VALUES (?, ?, ?, 0, 0, '', NULL, ?, ?)`, rec.TenantID, rec.Key, rec.RequestHash, formatTime(rec.CreatedAt), formatTime(rec.ExpiresAt))
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if existing != nil {
		return existing, false, nil
	}
	return rec, true, nil
}

// CompleteIdempotencyKey stores the response of a claim.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, rec *listinggen.IdempotencyRecord) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET done = 1, status = ?, content_type = ?, body = ?
			WHERE tenant_id = ? AND key = ? AND request_hash = ?`, rec.Status, rec.ContentType, rec.Body, rec.TenantID, rec.Key, rec.RequestHash)
		return err
	})
}

// ReleaseIdempotencyKey drops a running claim.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, tenantID, key string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = ? AND key = ? AND done = 0`, tenantID, key)
		return err
	})
}

// AddImageOwner records that the tenant made these blobs.
func (s *Store) AddImageOwner(ctx context.Context, tenantID string, keys []string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO image_owners (tenant_id, blob_key) VALUES (?, ?)`, tenantID, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// ImageOwned reports whether the tenant made the blob.
func (s *Store) ImageOwned(ctx context.Context, tenantID, key string) (bool, error) {
	var n int
	err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM image_owners WHERE tenant_id = ? AND blob_key = ?`, tenantID, key).Scan(&n)
	return n > 0, translate(err)
}
