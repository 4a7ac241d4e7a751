// Package storetest is the conformance suite every listinggen.Store must
// pass. Each backend's tests call Run with a function that opens a fresh,
// empty store, so SQLite and PostgreSQL are held to the same behaviour.
package storetest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/hashembed"
)

// Opener returns a fresh, empty, migrated store; the suite closes it.
type Opener func(t *testing.T) listinggen.Store

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	t.Run("Shops", func(t *testing.T) { testShops(t, open(t)) })
	t.Run("ShopSettingsUpdateDelete", func(t *testing.T) { testShopSettings(t, open(t)) })
	t.Run("TenantWords", func(t *testing.T) { testTenantWords(t, open(t)) })
	t.Run("ListingCRUD", func(t *testing.T) { testListingCRUD(t, open(t)) })
	t.Run("ListingFilters", func(t *testing.T) { testListingFilters(t, open(t)) })
	t.Run("Pagination", func(t *testing.T) { testPagination(t, open(t)) })
	t.Run("JobListingFilter", func(t *testing.T) { testJobListingFilter(t, open(t)) })
	t.Run("JobsAndItems", func(t *testing.T) { testJobsAndItems(t, open(t)) })
	t.Run("LeasesAndFencing", func(t *testing.T) { testLeasesAndFencing(t, open(t)) })
	t.Run("ReclaimAtRestart", func(t *testing.T) { testReclaimAtRestart(t, open(t)) })
	t.Run("ConcurrentReclaim", func(t *testing.T) { testConcurrentReclaim(t, open(t)) })
	t.Run("OptimisticUpdate", func(t *testing.T) { testOptimisticUpdate(t, open(t)) })
	t.Run("TenantIsolation", func(t *testing.T) { testTenantIsolation(t, open(t)) })
	t.Run("ConcurrentIdempotentCreate", func(t *testing.T) { testConcurrentIdempotentCreate(t, open(t)) })
	t.Run("RejectsBadText", func(t *testing.T) { testRejectsBadText(t, open(t)) })
	t.Run("Similar", func(t *testing.T) { testSimilar(t, open(t)) })
	t.Run("Usage", func(t *testing.T) { testUsage(t, open(t)) })
	t.Run("Recall", func(t *testing.T) { Recall(t, open(t)) })
	t.Run("ImageHashes", func(t *testing.T) { testImageHashes(t, open(t)) })
	t.Run("APIKeys", func(t *testing.T) { testAPIKeys(t, open(t)) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, open(t)) })
	t.Run("ImageOwners", func(t *testing.T) { testImageOwners(t, open(t)) })
}

var ctx = context.Background()

func mustShop(t *testing.T, s listinggen.Store, tenant, name, group string) *listinggen.Shop {
	t.Helper()
	sh := &listinggen.Shop{TenantID: tenant, Name: name, Platform: listinggen.PlatformDouyin, Group: group}
	if err := s.CreateShop(ctx, sh); err != nil {
		t.Fatalf("CreateShop: %v", err)
	}
	return sh
}

var embedder, _ = hashembed.New(hashembed.DefaultConfig())

// newListing builds a listing whose vector embeds its title.
func newListing(tenant, shopID, productID, title string) *listinggen.Listing {
	return &listinggen.Listing{
		TenantID: tenant, ShopID: shopID, ProductID: productID, ProductHash: "h-" + productID,
		Platform: listinggen.PlatformDouyin, Status: listinggen.StatusDraft,
		Copy:           listinggen.Copy{Title: title, SellingPoints: []string{"材质：棉"}, Description: title, Keywords: []string{}},
		Source:         listinggen.Product{ID: productID, Title: title},
		Images:         []listinggen.ListingImage{{SourceURL: "https://img.example/a.jpg", Status: listinggen.ImagesPending}},
		ImagesStatus:   listinggen.ImagesPending,
		Dedup:          listinggen.DedupReport{Verdict: listinggen.VerdictUnique, Matches: []listinggen.DedupMatch{}},
		Embedding:      embedder.Vector(title),
		EmbeddingModel: embedder.Model(),
		IdempotencyKey: tenant + "/" + shopID + "/" + productID,
	}
}

func mustCreate(t *testing.T, s listinggen.Store, l *listinggen.Listing) *listinggen.Listing {
	t.Helper()
	created, err := s.CreateListing(ctx, l)
	if err != nil {
		t.Fatalf("CreateListing: %v", err)
	}
	if !created {
		t.Fatalf("CreateListing(%s): created=false for a new key", l.IdempotencyKey)
	}
	return l
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := listinggen.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func testShops(t *testing.T, s listinggen.Store) {
	a := mustShop(t, s, "t1", "旗舰店", "g1")
	if a.ID == "" || a.CreatedAt.IsZero() {
		t.Fatalf("CreateShop did not fill ID and CreatedAt: %+v", a)
	}
	got, err := s.FindShop(ctx, "t1", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "旗舰店" || got.Group != "g1" || got.Platform != listinggen.PlatformDouyin || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("FindShop = %+v, want %+v", got, a)
	}
	_, err = s.FindShop(ctx, "t1", "missing")
	wantCode(t, err, listinggen.ENOTFOUND)
	mustShop(t, s, "t1", "二店", "g2")
	page, err := s.FindShops(ctx, "t1", listinggen.ShopFilter{Group: "g1"})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != a.ID {
		t.Fatalf("FindShops(group g1) = %+v, %v", page, err)
	}
	dup := &listinggen.Shop{ID: a.ID, TenantID: "t1", Name: "x", Platform: listinggen.PlatformTaobao}
	wantCode(t, s.CreateShop(ctx, dup), listinggen.ECONFLICT)
}

func testListingCRUD(t *testing.T, s listinggen.Store) {
	sh := mustShop(t, s, "t1", "店", "")
	l := mustCreate(t, s, newListing("t1", sh.ID, "p1", "法式复古碎花连衣裙"))
	if l.ID == "" || l.Version != 1 {
		t.Fatalf("CreateListing did not fill ID/Version: %+v", l)
	}
	got, err := s.FindListing(ctx, "t1", l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Copy.Title != l.Copy.Title || got.ShopID != sh.ID || got.Status != listinggen.StatusDraft ||
		len(got.Embedding) != len(l.Embedding) || got.EmbeddingModel != l.EmbeddingModel || got.Images[0].Status != listinggen.ImagesPending {
		t.Fatalf("FindListing = %+v", got)
	}
	for i := range l.Embedding {
		if got.Embedding[i] != l.Embedding[i] {
			t.Fatalf("embedding[%d] = %v, want %v", i, got.Embedding[i], l.Embedding[i])
		}
	}
	// Same idempotency key: the stored listing comes back, nothing new is written.
	again := newListing("t1", sh.ID, "p1", "another title")
	created, err := s.CreateListing(ctx, again)
	if err != nil || created || again.ID != l.ID || again.Copy.Title != l.Copy.Title {
		t.Fatalf("idempotent CreateListing = created %v, %+v, %v", created, again, err)
	}
	_, err = s.FindListing(ctx, "t1", "missing")
	wantCode(t, err, listinggen.ENOTFOUND)
	// Many at once: in the order asked, the tenant's only, all or none.
	m := mustCreate(t, s, newListing("t1", sh.ID, "p3", "复古印花半身裙"))
	both, err := s.FindListingsByID(ctx, "t1", []string{m.ID, l.ID})
	if err != nil || len(both) != 2 || both[0].ID != m.ID || both[1].ID != l.ID || both[1].Copy.Title != l.Copy.Title || len(both[0].Embedding) != len(m.Embedding) {
		t.Fatalf("FindListingsByID = %+v, %v", both, err)
	}
	if none, err := s.FindListingsByID(ctx, "t1", nil); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("FindListingsByID(none) = %v, %v", none, err)
	}
	_, err = s.FindListingsByID(ctx, "t1", []string{l.ID, "missing"})
	wantCode(t, err, listinggen.ENOTFOUND)
	_, err = s.FindListingsByID(ctx, "t2", []string{l.ID})
	wantCode(t, err, listinggen.ENOTFOUND)
	_, err = s.CreateListing(ctx, newListing("t1", "no-such-shop", "p2", "x"))
	wantCode(t, err, listinggen.ENOTFOUND)
}

func testListingFilters(t *testing.T, s listinggen.Store) {
	a := mustShop(t, s, "t1", "A", "")
	b := mustShop(t, s, "t1", "B", "")
	la := newListing("t1", a.ID, "p1", "保温杯")
	la.Compliance.OK = true
	mustCreate(t, s, la)
	lb := newListing("t1", b.ID, "p1", "保温杯 大容量")
	lb.Status = listinggen.StatusNeedsReview
	lb.Dedup.Verdict = listinggen.VerdictDuplicate
	mustCreate(t, s, lb)
	lc := newListing("t1", b.ID, "p2", "连衣裙")
	lc.Platform = listinggen.PlatformTaobao
	lc.Compliance = listinggen.ComplianceReport{OK: true, Violations: []listinggen.Violation{{Field: "title", Severity: listinggen.SeverityWarn, Rule: "r"}}}
	mustCreate(t, s, lc)
	cases := []struct {
		name string
		f    listinggen.ListingFilter
		want []string
	}{
		{"all", listinggen.ListingFilter{}, []string{lc.ID, lb.ID, la.ID}},
		{"shop", listinggen.ListingFilter{ShopID: b.ID}, []string{lc.ID, lb.ID}},
		{"product", listinggen.ListingFilter{ProductID: "p1"}, []string{lb.ID, la.ID}},
		{"status", listinggen.ListingFilter{Status: listinggen.StatusNeedsReview}, []string{lb.ID}},
		{"verdict", listinggen.ListingFilter{Verdict: listinggen.VerdictDuplicate}, []string{lb.ID}},
		{"combined", listinggen.ListingFilter{ShopID: a.ID, ProductID: "p2"}, nil},
		{"platform", listinggen.ListingFilter{Platform: listinggen.PlatformTaobao}, []string{lc.ID}},
		{"compliance ok", listinggen.ListingFilter{Compliance: listinggen.ComplianceOK}, []string{lc.ID, la.ID}},
		{"compliance problems", listinggen.ListingFilter{Compliance: listinggen.ComplianceProblems}, []string{lb.ID}},
		{"platform and problems", listinggen.ListingFilter{Platform: listinggen.PlatformDouyin, Compliance: listinggen.ComplianceProblems, ShopID: b.ID}, []string{lb.ID}},
	}
	for _, c := range cases {
		page, err := s.FindListings(ctx, "t1", c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := ids(page.Items); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v (newest first)", c.name, got, c.want)
		}
	}
}

func ids(ls []*listinggen.Listing) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.ID)
	}
	return out
}

func testPagination(t *testing.T, s listinggen.Store) {
	sh := mustShop(t, s, "t1", "店", "")
	var all []string
	for i := 0; i < 23; i++ {
		l := mustCreate(t, s, newListing("t1", sh.ID, fmt.Sprintf("p%02d", i), fmt.Sprintf("商品 %d", i)))
		all = append(all, l.ID)
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		page, err := s.FindListings(ctx, "t1", listinggen.ListingFilter{Limit: 5, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 5 {
			t.Fatalf("page of %d items, limit 5", len(page.Items))
		}
		seen = append(seen, ids(page.Items)...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	sort.Sort(sort.Reverse(sort.StringSlice(all)))
	if fmt.Sprint(seen) != fmt.Sprint(all) {
		t.Fatalf("paged ids %v, want every id once, newest first %v", seen, all)
	}
	_, err := s.FindListings(ctx, "t1", listinggen.ListingFilter{Cursor: "not-a-cursor"})
	wantCode(t, err, listinggen.EINVALID)
}

func testOptimisticUpdate(t *testing.T, s listinggen.Store) {
	sh := mustShop(t, s, "t1", "店", "")
	l := mustCreate(t, s, newListing("t1", sh.ID, "p1", "保温杯"))
	stale := *l
	l.Copy.Title = "保温杯 316不锈钢"
	l.Status = listinggen.StatusApproved
	if err := s.UpdateListing(ctx, l); err != nil {
		t.Fatal(err)
	}
	if l.Version != 2 {
		t.Fatalf("version after update = %d, want 2", l.Version)
	}
	got, _ := s.FindListing(ctx, "t1", l.ID)
	if got.Copy.Title != "保温杯 316不锈钢" || got.Status != listinggen.StatusApproved || got.Version != 2 {
		t.Fatalf("after update: %+v", got)
	}
	page, _ := s.FindListings(ctx, "t1", listinggen.ListingFilter{Status: listinggen.StatusApproved})
	if len(page.Items) != 1 {
		t.Fatalf("status filter after update found %d", len(page.Items))
	}
	stale.Copy.Title = "lost update"
	wantCode(t, s.UpdateListing(ctx, &stale), listinggen.ECONFLICT)
	missing := *l
	missing.ID = "missing"
	wantCode(t, s.UpdateListing(ctx, &missing), listinggen.ENOTFOUND)
}

func testTenantIsolation(t *testing.T, s listinggen.Store) {
	shA := mustShop(t, s, "A", "A店", "g")
	la := mustCreate(t, s, newListing("A", shA.ID, "p1", "保温杯 316不锈钢"))
	shB := mustShop(t, s, "B", "B店", "g")
	mustCreate(t, s, newListing("B", shB.ID, "p1", "保温杯 316不锈钢"))

	if _, err := s.FindShop(ctx, "B", shA.ID); listinggen.ErrorCode(err) != listinggen.ENOTFOUND {
		t.Errorf("tenant B read A's shop: %v", err)
	}
	if page, _ := s.FindShops(ctx, "B", listinggen.ShopFilter{}); len(page.Items) != 1 || page.Items[0].ID != shB.ID {
		t.Errorf("tenant B lists shops %+v", page.Items)
	}
	if _, err := s.FindListing(ctx, "B", la.ID); listinggen.ErrorCode(err) != listinggen.ENOTFOUND {
		t.Errorf("tenant B read A's listing: %v", err)
	}
	if page, _ := s.FindListings(ctx, "B", listinggen.ListingFilter{ShopID: shA.ID}); len(page.Items) != 0 {
		t.Errorf("tenant B lists A's listings: %v", ids(page.Items))
	}
	if _, err := s.CreateListing(ctx, newListing("B", shA.ID, "p9", "x")); listinggen.ErrorCode(err) != listinggen.ENOTFOUND {
		t.Errorf("tenant B created a listing in A's shop: %v", err)
	}
	hijack := *la
	hijack.TenantID = "B"
	hijack.Copy.Title = "hijacked"
	if err := s.UpdateListing(ctx, &hijack); listinggen.ErrorCode(err) != listinggen.ENOTFOUND {
		t.Errorf("tenant B updated A's listing: %v", err)
	}
	for _, q := range []listinggen.SimilarQuery{{ShopID: shA.ID}, {Group: "g"}, {}} {
		q.Vector, q.Model, q.K = la.Embedding, la.EmbeddingModel, 10
		hits, err := s.SimilarListings(ctx, "B", q)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if h.ListingID == la.ID || h.ShopID == shA.ID {
				t.Errorf("tenant B similarity %+v returned A's listing", q)
			}
		}
	}
}

func testConcurrentIdempotentCreate(t *testing.T, s listinggen.Store) {
	sh := mustShop(t, s, "t1", "店", "")
	const n = 50
	var wg sync.WaitGroup
	idsSeen := make([]string, n)
	createdCount := make([]bool, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			l := newListing("t1", sh.ID, "same", "同一个商品")
			createdCount[i], errs[i] = s.CreateListing(ctx, l)
			idsSeen[i] = l.ID
		}(i)
	}
	wg.Wait()
	created := 0
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("create %d: %v", i, errs[i])
		}
		if createdCount[i] {
			created++
		}
		if idsSeen[i] != idsSeen[0] {
			t.Fatalf("create %d returned id %s, create 0 returned %s", i, idsSeen[i], idsSeen[0])
		}
	}
	page, _ := s.FindListings(ctx, "t1", listinggen.ListingFilter{})
	if created != 1 || len(page.Items) != 1 {
		t.Fatalf("%d concurrent creates with one key: %d reported created, %d rows", n, created, len(page.Items))
	}
	key := newListing("t1", sh.ID, "same", "同一个商品").IdempotencyKey
	got, err := s.FindListingByKey(ctx, "t1", key)
	if err != nil || got.ID != idsSeen[0] || got.Copy.Title != "同一个商品" {
		t.Fatalf("FindListingByKey: %+v, %v; want listing %s", got, err, idsSeen[0])
	}
	_, err = s.FindListingByKey(ctx, "t2", key)
	wantCode(t, err, listinggen.ENOTFOUND)
	_, err = s.FindListingByKey(ctx, "t1", key+"x")
	wantCode(t, err, listinggen.ENOTFOUND)
}

func testRejectsBadText(t *testing.T, s listinggen.Store) {
	for _, bad := range []string{"保温\x00杯", "保温\xff杯"} {
		err := s.CreateShop(ctx, &listinggen.Shop{TenantID: "t1", Name: bad, Platform: listinggen.PlatformDouyin})
		wantCode(t, err, listinggen.EINVALID)
		if fields := listinggen.ErrorFields(err); len(fields) == 0 || fields[0].Field != "name" {
			t.Errorf("CreateShop(%q) fields = %+v, want name", bad, fields)
		}
	}
	sh := mustShop(t, s, "t1", "店", "")
	for _, bad := range []string{"保温\x00杯", "保温\xff杯"} {
		_, err := s.CreateListing(ctx, newListing("t1", sh.ID, "p1", bad))
		wantCode(t, err, listinggen.EINVALID)
		if fields := listinggen.ErrorFields(err); len(fields) == 0 || fields[0].Field != "copy.title" {
			t.Errorf("CreateListing(%q) fields = %+v, want copy.title first", bad, fields)
		}
	}
	if page, _ := s.FindListings(ctx, "t1", listinggen.ListingFilter{}); len(page.Items) != 0 {
		t.Fatalf("rejected listings were stored: %v", ids(page.Items))
	}
}

func testSimilar(t *testing.T, s listinggen.Store) {
	a := mustShop(t, s, "t1", "A", "g1")
	b := mustShop(t, s, "t1", "B", "g1")
	c := mustShop(t, s, "t1", "C", "g2")
	titles := []string{"316不锈钢保温杯大容量男女学生水杯", "法式复古碎花连衣裙女收腰显瘦", "蓝牙耳机入耳式降噪超长续航", "儿童积木拼装益智玩具大颗粒"}
	var inA []*listinggen.Listing
	for i, title := range titles {
		inA = append(inA, mustCreate(t, s, newListing("t1", a.ID, fmt.Sprintf("a%d", i), title)))
	}
	lb := mustCreate(t, s, newListing("t1", b.ID, "b0", titles[0]))
	lc := mustCreate(t, s, newListing("t1", c.ID, "c0", titles[0]))
	other := newListing("t1", a.ID, "m0", titles[0])
	other.EmbeddingModel = "some-other-model"
	other.Embedding = make([]float32, 8)
	other.Embedding[0] = 1
	mustCreate(t, s, other)

	q := embedder.Vector("保温杯 316不锈钢 大容量 学生水杯")
	hits, err := s.SimilarListings(ctx, "t1", listinggen.SimilarQuery{ShopID: a.ID, Vector: q, Model: embedder.Model(), K: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 || hits[0].ListingID != inA[0].ID || hits[0].Score < hits[1].Score || hits[0].Score < 0.5 {
		t.Fatalf("shop-scoped hits = %+v, want %s first with a high score", hits, inA[0].ID)
	}
	for _, h := range hits {
		if h.ShopID != a.ID {
			t.Fatalf("shop-scoped query returned a listing of shop %s", h.ShopID)
		}
	}
	// A shop with k listings returns k rows whatever K asks for above it.
	hits, _ = s.SimilarListings(ctx, "t1", listinggen.SimilarQuery{ShopID: a.ID, Vector: q, Model: embedder.Model(), K: 10})
	if len(hits) != len(titles) {
		t.Fatalf("shop with %d listings of this model returned %d hits", len(titles), len(hits))
	}
	hits, _ = s.SimilarListings(ctx, "t1", listinggen.SimilarQuery{Group: "g1", Vector: q, Model: embedder.Model(), K: 10, ExcludeID: inA[0].ID})
	if len(hits) != len(titles) || hits[0].ListingID != lb.ID {
		t.Fatalf("group-scoped hits = %+v, want %s first and %d hits", hits, lb.ID, len(titles))
	}
	for _, h := range hits {
		if h.ListingID == inA[0].ID || h.ShopID == c.ID {
			t.Fatalf("group query returned excluded or out-of-group listing %+v", h)
		}
	}
	hits, _ = s.SimilarListings(ctx, "t1", listinggen.SimilarQuery{Vector: q, Model: embedder.Model(), K: 3})
	found := map[string]bool{}
	for _, h := range hits {
		found[h.ListingID] = true
	}
	if !found[inA[0].ID] || !found[lb.ID] || !found[lc.ID] {
		t.Fatalf("tenant-wide hits = %+v, want the three copies of the same title", hits)
	}
	_, err = s.SimilarListings(ctx, "t1", listinggen.SimilarQuery{ShopID: a.ID, Model: embedder.Model(), K: 3})
	wantCode(t, err, listinggen.EINVALID)
}

func testShopSettings(t *testing.T, s listinggen.Store) {
	fifty := 50
	sh := &listinggen.Shop{TenantID: "t1", Name: "店", Platform: listinggen.PlatformTaobao,
		WordRules: listinggen.WordRules{
			BannedWords:      []listinggen.CustomTerm{{Term: "秒杀", Severity: listinggen.SeverityWarn, Suggestion: "限时"}},
			AllowedWords:     []string{"万能宝"},
			AuthorizedBrands: []string{"华为"},
		},
		Rules:    listinggen.RuleOverrides{TitleMaxUnits: &fifty},
		Licences: []string{"cosmetics_special"},
	}
	if err := s.CreateShop(ctx, sh); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindShop(ctx, "t1", sh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.WordRules) != fmt.Sprint(sh.WordRules) || got.Rules.TitleMaxUnits == nil || *got.Rules.TitleMaxUnits != 50 ||
		fmt.Sprint(got.Licences) != "[cosmetics_special]" {
		t.Fatalf("settings round trip: %+v", got)
	}
	got.Name, got.Group, got.Style = "新名字", "g9", "简洁"
	got.Platform = listinggen.PlatformDouyin // ignored: listings were written for the old platform
	got.AllowedWords = nil
	got.Rules = listinggen.RuleOverrides{}
	got.Licences = []string{"health_food", "ccc"}
	if err := s.UpdateShop(ctx, got); err != nil {
		t.Fatal(err)
	}
	again, _ := s.FindShop(ctx, "t1", sh.ID)
	if again.Name != "新名字" || again.Group != "g9" || again.Platform != listinggen.PlatformTaobao || len(again.AllowedWords) != 0 ||
		again.Rules.TitleMaxUnits != nil || len(again.BannedWords) != 1 || again.UpdatedAt.Before(again.CreatedAt) ||
		fmt.Sprint(again.Licences) != "[health_food ccc]" {
		t.Fatalf("after update: %+v", again)
	}
	foreign := *again
	foreign.TenantID = "t2"
	wantCode(t, s.UpdateShop(ctx, &foreign), listinggen.ENOTFOUND)
	bad := *again
	bad.Name = "a\x00b"
	wantCode(t, s.UpdateShop(ctx, &bad), listinggen.EINVALID)

	mustCreate(t, s, newListing("t1", sh.ID, "p1", "保温杯"))
	wantCode(t, s.DeleteShop(ctx, "t1", sh.ID), listinggen.ECONFLICT)
	empty := mustShop(t, s, "t1", "空店", "")
	wantCode(t, s.DeleteShop(ctx, "t2", empty.ID), listinggen.ENOTFOUND)
	if err := s.DeleteShop(ctx, "t1", empty.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindShop(ctx, "t1", empty.ID)
	wantCode(t, err, listinggen.ENOTFOUND)
	wantCode(t, s.DeleteShop(ctx, "t1", empty.ID), listinggen.ENOTFOUND)
}

func testTenantWords(t *testing.T, s listinggen.Store) {
	w, err := s.TenantWords(ctx, "t1")
	if err != nil || len(w.BannedWords)+len(w.AllowedWords)+len(w.AuthorizedBrands) != 0 {
		t.Fatalf("unset tenant words = %+v, %v", w, err)
	}
	words := listinggen.WordRules{BannedWords: []listinggen.CustomTerm{{Term: "秒杀"}}, AuthorizedBrands: []string{"乐高"}}
	if err := s.SetTenantWords(ctx, "t1", words); err != nil {
		t.Fatal(err)
	}
	words.AllowedWords = []string{"最美"}
	if err := s.SetTenantWords(ctx, "t1", words); err != nil {
		t.Fatal(err)
	}
	got, _ := s.TenantWords(ctx, "t1")
	if fmt.Sprint(got) != fmt.Sprint(words) {
		t.Fatalf("tenant words = %+v, want %+v", got, words)
	}
	if other, _ := s.TenantWords(ctx, "t2"); len(other.BannedWords) != 0 {
		t.Fatalf("tenant t2 sees t1's words: %+v", other)
	}
	bad := listinggen.WordRules{BannedWords: []listinggen.CustomTerm{{Term: "a\xffb"}}}
	wantCode(t, s.SetTenantWords(ctx, "t1", bad), listinggen.EINVALID)
}

// withImages gives l images with the given perceptual hashes ("" for an
// image without one).
func withImages(l *listinggen.Listing, hashes ...string) *listinggen.Listing {
	l.Images = nil
	for i, h := range hashes {
		l.Images = append(l.Images, listinggen.ListingImage{SourceURL: fmt.Sprintf("https://img.example/%d.jpg", i), Status: "ready", PHash: h})
	}
	return l
}

func testImageHashes(t *testing.T, s listinggen.Store) {
	a := mustShop(t, s, "t1", "A", "g1")
	b := mustShop(t, s, "t1", "B", "g1")
	c := mustShop(t, s, "t1", "C", "")
	x := mustShop(t, s, "t2", "X", "g1")
	const main = "f0f0f0f0f0f0f0f0"
	la := mustCreate(t, s, withImages(newListing("t1", a.ID, "a", "保温杯"), main, "0123456789abcdef"))
	// Image 2 of lb is 3 bits from la's main image; its main image is far.
	lb := mustCreate(t, s, withImages(newListing("t1", b.ID, "b", "保温杯"), "0f0f0f0f0f0f0f0f", "", "f0f0f0f0f0f0f0f7"))
	lc := mustCreate(t, s, withImages(newListing("t1", c.ID, "c", "保温杯"), "f0f0f0f0f0f0f0f1"))
	mustCreate(t, s, withImages(newListing("t2", x.ID, "x", "保温杯"), main))
	mustCreate(t, s, withImages(newListing("t1", a.ID, "none", "保温杯")))

	q := listinggen.ImageHashQuery{Hashes: []uint64{0xf0f0f0f0f0f0f0f0}, MaxDistance: 8, K: 10}
	got, err := s.SimilarImages(ctx, "t1", q)
	if err != nil {
		t.Fatal(err)
	}
	want := []listinggen.ImageHashMatch{
		{ListingID: la.ID, ShopID: a.ID, Distance: 0, Image: 0, Query: 0},
		{ListingID: lc.ID, ShopID: c.ID, Distance: 1, Image: 0, Query: 0},
		{ListingID: lb.ID, ShopID: b.ID, Distance: 3, Image: 2, Query: 0},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tenant-wide:\n got %+v\nwant %+v", got, want)
	}
	q.Group, q.ExcludeID = "g1", la.ID
	if got, _ = s.SimilarImages(ctx, "t1", q); len(got) != 1 || got[0].ListingID != lb.ID {
		t.Fatalf("group g1 without la = %+v, want lb only", got)
	}
	q.Group, q.ShopID, q.ExcludeID = "", c.ID, ""
	if got, _ = s.SimilarImages(ctx, "t1", q); len(got) != 1 || got[0].ListingID != lc.ID {
		t.Fatalf("shop C = %+v, want lc only", got)
	}
	q.ShopID, q.MaxDistance, q.K = "", 2, 1
	q.Hashes = []uint64{0xffffffffffffffff, 0x0123456789abcdef}
	if got, _ = s.SimilarImages(ctx, "t1", q); len(got) != 1 || got[0] != (listinggen.ImageHashMatch{ListingID: la.ID, ShopID: a.ID, Image: 1, Query: 1}) {
		t.Fatalf("second query hash against a second image = %+v", got)
	}
	// Another tenant sees only its own.
	q = listinggen.ImageHashQuery{Hashes: []uint64{0xf0f0f0f0f0f0f0f0}, MaxDistance: 64, K: 10}
	if got, _ = s.SimilarImages(ctx, "t2", q); len(got) != 1 || got[0].ShopID != x.ID {
		t.Fatalf("tenant t2 = %+v", got)
	}
	// An update replaces the listing's hashes.
	withImages(lc, "0000000000000000")
	if err := s.UpdateListing(ctx, lc); err != nil {
		t.Fatal(err)
	}
	q.MaxDistance = 8
	if got, _ = s.SimilarImages(ctx, "t1", q); len(got) != 2 {
		t.Fatalf("after lc's update = %+v, want la and lb", got)
	}
	_, err = s.SimilarImages(ctx, "t1", listinggen.ImageHashQuery{K: 1})
	wantCode(t, err, listinggen.EINVALID)
}
