package listinggen

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Scope is what an API key may do. Scopes do not imply each other: a key
// that should read and write lists both.
type Scope string

const (
	// ScopeRead allows every GET.
	ScopeRead Scope = "read"
	// ScopeWrite allows the routes that spend model budget or change
	// listings: generate, jobs, listing edits, compliance checks, images.
	ScopeWrite Scope = "write"
	// ScopeAdmin allows changing shops, tenant word lists and keys.
	ScopeAdmin Scope = "admin"
)

// Scopes lists every scope in a stable order.
var Scopes = []Scope{ScopeRead, ScopeWrite, ScopeAdmin}

// ParseScopes reads a comma-separated list such as "read,write".
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, part := range strings.Split(s, ",") {
		sc := Scope(strings.TrimSpace(part))
		if sc == "" {
			continue
		}
		if !slices.Contains(Scopes, sc) {
			return nil, Errorf(EINVALID, "unknown scope %q: want some of read, write, admin", sc)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(EINVALID, "at least one scope is required (read, write, admin)")
	}
	return out, nil
}

// JoinScopes writes scopes as "read,write": how the CLI shows them and
// the stores keep them.
func JoinScopes(scopes []Scope) string {
	parts := make([]string, len(scopes))
	for i, s := range scopes {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}

// SplitScopes reads what JoinScopes wrote (no validation: stored values).
func SplitScopes(s string) []Scope {
	var out []Scope
	for _, part := range strings.Split(s, ",") {
		out = append(out, Scope(part))
	}
	return out
}

// APIKey is a stored key. Only the SHA-256 of its secret is kept: the
// plaintext is shown once, when the key is created, and cannot be recovered.
// A key's secret is 256 random bits, so a fast hash is enough (there is
// nothing to brute-force, unlike a password).
type APIKey struct {
	// ID is public: it is the first part of the token and how the key is
	// found, so the secret itself is never used as a lookup value.
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant"`
	Name       string     `json:"name,omitempty"`
	Scopes     []Scope    `json:"scopes"`
	SecretHash string     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Has reports whether the key carries scope s.
func (k *APIKey) Has(s Scope) bool { return slices.Contains(k.Scopes, s) }

// Active reports whether the key may still be used.
func (k *APIKey) Active() bool { return k.RevokedAt == nil }

// apiKeyPrefix marks listinggen tokens, so that a leaked one is recognisable
// by secret scanners and by people.
const apiKeyPrefix = "lgk_"

// NewAPIKey mints a key for tenant: the record to store and the token to
// show once ("lgk_<id>_<secret>").
func NewAPIKey(tenantID, name string, scopes []Scope, now time.Time) (*APIKey, string, error) {
	if fe := CheckText("tenant", tenantID, 200, false); fe != nil || strings.TrimSpace(tenantID) == "" {
		return nil, "", Errorf(EINVALID, "tenant must be a non-empty, printable name")
	}
	idBytes := make([]byte, 8)
	secret := make([]byte, 32)
	if _, err := rand.Read(idBytes); err != nil {
		return nil, "", err
	}
	if _, err := rand.Read(secret); err != nil {
		return nil, "", err
	}
	id := hex.EncodeToString(idBytes)
	sec := base64.RawURLEncoding.EncodeToString(secret)
	k := &APIKey{ID: id, TenantID: tenantID, Name: name, Scopes: scopes, SecretHash: hashSecret(sec), CreatedAt: now.UTC()}
	return k, apiKeyPrefix + id + "_" + sec, nil
}

// ParseAPIKeyToken splits a token into its key id and secret; ok is false
// when it does not have the shape of a listinggen key.
func ParseAPIKeyToken(token string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(token, apiKeyPrefix)
	if !found {
		return "", "", false
	}
	id, secret, found = strings.Cut(rest, "_")
	if !found || len(id) != 16 || secret == "" {
		return "", "", false
	}
	return id, secret, true
}

// Matches compares secret with the stored hash in constant time.
func (k *APIKey) Matches(secret string) bool {
	return subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(k.SecretHash)) == 1
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// APIKeyService stores keys. It is one part of Store (through
// SecurityStore), so that code that only checks keys, such as the API's
// authenticator, asks for no more than this.
type APIKeyService interface {
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// FindAPIKey returns a key by id, revoked or not; ENOTFOUND if absent.
	FindAPIKey(ctx context.Context, id string) (*APIKey, error)
	// ListAPIKeys lists a tenant's keys, or every key when tenantID is "".
	ListAPIKeys(ctx context.Context, tenantID string) ([]*APIKey, error)
	// RevokeAPIKey marks a key revoked (ENOTFOUND if absent); revoking twice
	// keeps the first time.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	// TouchAPIKey records that the key was used at at.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
	// CountActiveAPIKeys is how many unrevoked keys exist: zero means the
	// server runs open (loopback only).
	CountActiveAPIKeys(ctx context.Context) (int, error)
}

// IdempotencyRecord is what a request with an Idempotency-Key left behind:
// while it runs, a claim; once done, the response to replay.
type IdempotencyRecord struct {
	TenantID string
	Key      string
	// RequestHash identifies the request (method, path and body): the same
	// key with another request is a client bug.
	RequestHash string
	Done        bool
	Status      int
	ContentType string
	Body        []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// IdempotencyService keeps idempotency records.
type IdempotencyService interface {
	// ClaimIdempotencyKey stores rec as a running claim and returns
	// (rec, true), unless the tenant already has a live record for the key:
	// then it returns that record and false. A record past its ExpiresAt, or
	// a claim still running after staleAfter (its process died), is
	// replaced.
	ClaimIdempotencyKey(ctx context.Context, rec *IdempotencyRecord, staleAfter time.Duration) (*IdempotencyRecord, bool, error)
	// CompleteIdempotencyKey stores the response of a claimed key.
	CompleteIdempotencyKey(ctx context.Context, rec *IdempotencyRecord) error
	// ReleaseIdempotencyKey drops a claim whose request failed in a way
	// worth retrying, so that the retry runs again.
	ReleaseIdempotencyKey(ctx context.Context, tenantID, key string) error
}

// ImageOwnerService records which tenants made an image blob. Blobs are
// content-addressed and shared, but a tenant may only read the ones it made.
type ImageOwnerService interface {
	AddImageOwner(ctx context.Context, tenantID string, keys []string) error
	ImageOwned(ctx context.Context, tenantID, key string) (bool, error)
}

// SecurityStore is what the API's security middleware needs from a store.
type SecurityStore interface {
	APIKeyService
	IdempotencyService
	ImageOwnerService
}

// String describes a key without its secret, for logs and the CLI.
func (k *APIKey) String() string {
	state := "active"
	if k.RevokedAt != nil {
		state = "revoked " + k.RevokedAt.Format(time.RFC3339)
	}
	return fmt.Sprintf("%s tenant=%s scopes=%v %s", k.ID, k.TenantID, k.Scopes, state)
}
