package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
)

func testAPIKeys(t *testing.T, store listinggen.Store) {
	s := store
	now := time.Now().UTC().Truncate(time.Millisecond)
	if n, err := s.CountActiveAPIKeys(ctx); err != nil || n != 0 {
		t.Fatalf("CountActiveAPIKeys on an empty store = %d, %v", n, err)
	}
	a, token, err := listinggen.NewAPIKey("t1", "ci", []listinggen.Scope{listinggen.ScopeRead, listinggen.ScopeWrite}, now)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := listinggen.NewAPIKey("t2", "", []listinggen.Scope{listinggen.ScopeAdmin}, now)
	for _, k := range []*listinggen.APIKey{a, b} {
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	id, secret, ok := listinggen.ParseAPIKeyToken(token)
	if !ok || id != a.ID {
		t.Fatalf("ParseAPIKeyToken(%q) = %q, ok=%v", token, id, ok)
	}
	got, err := s.FindAPIKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Matches(secret) || got.Matches(secret+"x") || got.TenantID != "t1" || !got.Has(listinggen.ScopeWrite) || got.Has(listinggen.ScopeAdmin) || !got.Active() || got.LastUsedAt != nil {
		t.Fatalf("FindAPIKey = %+v", got)
	}
	_, err = s.FindAPIKey(ctx, "0000000000000000")
	wantCode(t, err, listinggen.ENOTFOUND)
	if keys, err := s.ListAPIKeys(ctx, "t1"); err != nil || len(keys) != 1 || keys[0].ID != a.ID {
		t.Fatalf("ListAPIKeys(t1) = %v, %v", keys, err)
	}
	if keys, err := s.ListAPIKeys(ctx, ""); err != nil || len(keys) != 2 {
		t.Fatalf("ListAPIKeys(all) = %v, %v", keys, err)
	}
	used := now.Add(time.Minute)
	if err := s.TouchAPIKey(ctx, a.ID, used); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, a.ID, now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, a.ID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.RevokeAPIKey(ctx, "0000000000000000", now), listinggen.ENOTFOUND)
	got, _ = s.FindAPIKey(ctx, a.ID)
	if got.Active() || !got.RevokedAt.Equal(now.Add(2*time.Minute)) || got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) {
		t.Fatalf("after touch and revoke: %+v", got)
	}
	if n, err := s.CountActiveAPIKeys(ctx); err != nil || n != 1 {
		t.Fatalf("CountActiveAPIKeys = %d, %v, want 1", n, err)
	}
}

func testIdempotency(t *testing.T, store listinggen.Store) {
	s := store
	now := time.Now().UTC()
	rec := func(tenant, key, hash string, created time.Time) *listinggen.IdempotencyRecord {
		return &listinggen.IdempotencyRecord{TenantID: tenant, Key: key, RequestHash: hash, CreatedAt: created, ExpiresAt: created.Add(24 * time.Hour)}
	}
	// 50 concurrent claims of one key: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_, ok, err := s.ClaimIdempotencyKey(ctx, rec("t1", "k1", "h1", now), time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d of 50 concurrent claims won, want 1", wins.Load())
	}
	// Another tenant's key of the same name is its own.
	if _, ok, err := s.ClaimIdempotencyKey(ctx, rec("t2", "k1", "h9", now), time.Minute); err != nil || !ok {
		t.Fatalf("tenant t2 could not claim its own k1: %v %v", ok, err)
	}
	done := rec("t1", "k1", "h1", now)
	done.Status, done.ContentType, done.Body = 200, "application/json", []byte(`{"ok":true}`)
	if err := s.CompleteIdempotencyKey(ctx, done); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.ClaimIdempotencyKey(ctx, rec("t1", "k1", "h2", now), time.Minute)
	if err != nil || ok || !got.Done || got.Status != 200 || string(got.Body) != `{"ok":true}` || got.RequestHash != "h1" || got.ContentType != "application/json" {
		t.Fatalf("claim of a completed key = %+v, %v, %v", got, ok, err)
	}
	// Released claims and stale claims can be claimed again; done ones
	// cannot be released.
	if err := s.ReleaseIdempotencyKey(ctx, "t1", "k1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ClaimIdempotencyKey(ctx, rec("t1", "k1", "h2", now), time.Minute); ok {
		t.Fatal("a completed record was released")
	}
	if _, ok, _ := s.ClaimIdempotencyKey(ctx, rec("t1", "k2", "h", now), time.Minute); !ok {
		t.Fatal("could not claim k2")
	}
	if err := s.ReleaseIdempotencyKey(ctx, "t1", "k2"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ClaimIdempotencyKey(ctx, rec("t1", "k2", "h", now), time.Minute); !ok {
		t.Fatal("could not claim a released key")
	}
	old := now.Add(-10 * time.Minute)
	if _, ok, _ := s.ClaimIdempotencyKey(ctx, rec("t1", "k3", "h", old), time.Minute); !ok {
		t.Fatal("could not claim k3")
	}
	if _, ok, _ := s.ClaimIdempotencyKey(ctx, rec("t1", "k3", "h", now), time.Minute); !ok {
		t.Fatal("a stale running claim was not taken over")
	}
	expired := rec("t1", "k4", "h", now.Add(-25*time.Hour))
	if _, ok, _ := s.ClaimIdempotencyKey(ctx, expired, time.Minute); !ok {
		t.Fatal("could not claim k4")
	}
	expired.Status, expired.Body = 201, []byte("x")
	_ = s.CompleteIdempotencyKey(ctx, expired)
	if _, ok, _ := s.ClaimIdempotencyKey(ctx, rec("t1", "k4", "h5", now), time.Minute); !ok {
		t.Fatal("an expired record was not replaced")
	}
}

func testImageOwners(t *testing.T, store listinggen.Store) {
	s := store
	if err := s.AddImageOwner(ctx, "t1", []string{"aa", "bb"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddImageOwner(ctx, "t1", []string{"aa"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tenant, key string
		want        bool
	}{{"t1", "aa", true}, {"t1", "bb", true}, {"t2", "aa", false}, {"t1", "cc", false}} {
		if got, err := s.ImageOwned(ctx, c.tenant, c.key); err != nil || got != c.want {
			t.Errorf("ImageOwned(%s, %s) = %v, %v; want %v", c.tenant, c.key, got, err, c.want)
		}
	}
}
