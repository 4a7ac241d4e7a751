package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
)

// testUsage: records add up per shop, concurrent adds are not lost, the
// filters narrow, and tenants never see each other's spending.
func testUsage(t *testing.T, s listinggen.Store) {
	day1 := time.Date(2026, 11, 1, 23, 30, 0, 0, time.UTC)
	day2 := day1.Add(2 * time.Hour) // the next UTC day
	rec := func(tenant, shop, job string, day time.Time, op string, calls int64, cost float64) listinggen.UsageRecord {
		return listinggen.UsageRecord{UsageAccount: listinggen.UsageAccount{TenantID: tenant, ShopID: shop, JobID: job},
			Day: day, Model: "m1", Op: op, Calls: calls, PromptTokens: 100 * calls, CompletionTokens: 10 * calls, CostUSD: cost}
	}
	if err := s.AddUsage(ctx, []listinggen.UsageRecord{
		rec("t1", "s1", "", day1, "rewrite", 2, 0.5),
		rec("t1", "s1", "", day1, "repair", 1, 0.25),
		rec("t1", "s2", "j1", day2, "rewrite", 3, 1),
		rec("t2", "s1", "", day1, "rewrite", 7, 9),
	}); err != nil {
		t.Fatal(err)
	}
	// The same key from many writers at once: every delta counts.
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.AddUsage(ctx, []listinggen.UsageRecord{rec("t1", "s2", "j1", day2, "rewrite", 1, 0.5), rec("t1", "s1", "", day1, "rewrite", 1, 0.25)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string, f listinggen.UsageFilter, want ...listinggen.UsageTotal) {
		t.Helper()
		got, err := s.UsageByShop(ctx, "t1", f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: got %+v, want %+v", name, got, want)
		}
		for i := range want {
			if got[i].ShopID != want[i].ShopID || got[i].Calls != want[i].Calls || got[i].PromptTokens != 100*want[i].Calls ||
				got[i].CompletionTokens != 10*want[i].Calls || got[i].CostUSD < want[i].CostUSD-1e-9 || got[i].CostUSD > want[i].CostUSD+1e-9 {
				t.Fatalf("%s: got %+v, want %+v", name, got[i], want[i])
			}
		}
	}
	s1 := listinggen.UsageTotal{ShopID: "s1", Calls: 13, CostUSD: 3.25}
	s2 := listinggen.UsageTotal{ShopID: "s2", Calls: 13, CostUSD: 6}
	check("all", listinggen.UsageFilter{}, s1, s2)
	check("shop", listinggen.UsageFilter{ShopID: "s2"}, s2)
	check("job", listinggen.UsageFilter{JobID: "j1"}, s2)
	check("from day 2", listinggen.UsageFilter{From: day2}, s2)
	check("to day 1", listinggen.UsageFilter{To: day1}, s1)
	check("no match", listinggen.UsageFilter{ShopID: "nope"})
	if got, err := s.UsageByShop(ctx, "t3", listinggen.UsageFilter{}); err != nil || len(got) != 0 {
		t.Fatalf("a tenant with no usage: %+v, %v", got, err)
	}
}
