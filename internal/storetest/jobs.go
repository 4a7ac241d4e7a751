package storetest

import (
	"fmt"
	"testing"

	"github.com/listinggen/listinggen"
)

// itemOutcome is how an item of a test job ends: its state and, when
// done, the listing it recorded.
type itemOutcome struct {
	shopID  string
	state   listinggen.ItemState
	listing string
	err     string
}

// mustJob stores a job with one item per outcome (rows 1, 2, …) and runs
// each queued item to its outcome through ClaimItem and FinishItem, the
// way workers record results.
func mustJob(t *testing.T, js listinggen.JobStore, tenant string, outcomes []itemOutcome) *listinggen.Job {
	t.Helper()
	job := &listinggen.Job{TenantID: tenant, State: listinggen.JobRunning, Source: "items"}
	var items []*listinggen.JobItem
	for i, o := range outcomes {
		it := &listinggen.JobItem{Row: i + 1, ShopID: o.shopID, Product: listinggen.Product{ID: fmt.Sprintf("p%d", i+1), Title: fmt.Sprintf("商品 %d", i+1)},
			State: listinggen.ItemQueued}
		if o.state == listinggen.ItemInvalid {
			it.State, it.Error, it.Product.Title = listinggen.ItemInvalid, o.err, ""
		}
		items = append(items, it)
	}
	next := 0
	if err := js.CreateJob(ctx, job, func() (*listinggen.JobItem, error) {
		if next == len(items) {
			return nil, nil
		}
		next++
		return items[next-1], nil
	}, nil); err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	for i, it := range items {
		if it.State != listinggen.ItemQueued {
			continue
		}
		claimed, _, ok, err := js.ClaimItem(ctx, it.ID, "storetest")
		if err != nil || !ok {
			t.Fatalf("ClaimItem: %v, %v", ok, err)
		}
		claimed.State, claimed.ListingID, claimed.Error = outcomes[i].state, outcomes[i].listing, outcomes[i].err
		if err := js.FinishItem(ctx, claimed); err != nil {
			t.Fatalf("FinishItem: %v", err)
		}
	}
	return job
}

// testJobListingFilter: GET /v1/listings?job_id= keeps the listings the
// job's items recorded, each once, newest first, paged, combined with the
// other filters, and never another tenant's.
func testJobListingFilter(t *testing.T, s listinggen.Store) {
	js := s
	a := mustShop(t, s, "t1", "A", "")
	b := mustShop(t, s, "t1", "B", "")
	l1 := mustCreate(t, s, newListing("t1", a.ID, "p1", "保温杯"))
	l2 := mustCreate(t, s, newListing("t1", a.ID, "p2", "连衣裙"))
	l3 := newListing("t1", b.ID, "p3", "雨伞")
	l3.Status = listinggen.StatusNeedsReview
	mustCreate(t, s, l3)
	done, failed := listinggen.ItemDone, listinggen.ItemFailed
	j1 := mustJob(t, js, "t1", []itemOutcome{
		{a.ID, done, l1.ID, ""},
		{b.ID, done, l3.ID, ""},
		{a.ID, failed, "", "EINVALID: broken"},
		{"", listinggen.ItemInvalid, "", "title: is required"},
		{b.ID, done, l1.ID, ""}, // a listing reused by a second item
	})
	j2 := mustJob(t, js, "t1", []itemOutcome{{a.ID, done, l2.ID, ""}})
	t2 := mustShop(t, s, "t2", "C", "")
	other := mustCreate(t, s, newListing("t2", t2.ID, "p1", "保温杯"))
	j3 := mustJob(t, js, "t2", []itemOutcome{{t2.ID, done, other.ID, ""}})

	cases := []struct {
		name   string
		tenant string
		f      listinggen.ListingFilter
		want   []string
	}{
		{"job 1", "t1", listinggen.ListingFilter{JobID: j1.ID}, []string{l3.ID, l1.ID}},
		{"job 2", "t1", listinggen.ListingFilter{JobID: j2.ID}, []string{l2.ID}},
		{"job and shop", "t1", listinggen.ListingFilter{JobID: j1.ID, ShopID: a.ID}, []string{l1.ID}},
		{"job and status", "t1", listinggen.ListingFilter{JobID: j1.ID, Status: listinggen.StatusNeedsReview}, []string{l3.ID}},
		{"unknown job", "t1", listinggen.ListingFilter{JobID: "no-such-job"}, nil},
		{"another tenant's job", "t1", listinggen.ListingFilter{JobID: j3.ID}, nil},
		{"job of tenant 1 asked by tenant 2", "t2", listinggen.ListingFilter{JobID: j1.ID}, nil},
	}
	for _, c := range cases {
		page, err := s.FindListings(ctx, c.tenant, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := ids(page.Items); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	first, err := s.FindListings(ctx, "t1", listinggen.ListingFilter{JobID: j1.ID, Limit: 1})
	if err != nil || len(first.Items) != 1 || first.Items[0].ID != l3.ID || first.NextCursor == "" {
		t.Fatalf("first page of job 1: %v, %v", ids(first.Items), err)
	}
	second, err := s.FindListings(ctx, "t1", listinggen.ListingFilter{JobID: j1.ID, Limit: 1, Cursor: first.NextCursor})
	if err != nil || len(second.Items) != 1 || second.Items[0].ID != l1.ID {
		t.Fatalf("second page of job 1: %v, %v", ids(second.Items), err)
	}
	if second.NextCursor != "" {
		third, err := s.FindListings(ctx, "t1", listinggen.ListingFilter{JobID: j1.ID, Limit: 1, Cursor: second.NextCursor})
		if err != nil || len(third.Items) != 0 {
			t.Fatalf("third page of job 1: %v, %v", ids(third.Items), err)
		}
	}
}

// testJobsAndItems: the tenant's jobs newest first with their counts, and
// a job's items in (row, shop) order filtered by state, both paged with
// cursors, and neither reachable from another tenant.
func testJobsAndItems(t *testing.T, s listinggen.Store) {
	js := s
	a := mustShop(t, s, "t1", "A", "")
	b := mustShop(t, s, "t1", "B", "")
	l1 := mustCreate(t, s, newListing("t1", a.ID, "p1", "保温杯"))
	done, failed := listinggen.ItemDone, listinggen.ItemFailed
	j1 := mustJob(t, js, "t1", []itemOutcome{
		{a.ID, done, l1.ID, ""},
		{b.ID, failed, "", "EINVALID: processing the item failed (panic: poison row)"},
		{"", listinggen.ItemInvalid, "", "title: is required"},
		{a.ID, failed, "", "ENOTFOUND: shop not found"},
	})
	j2 := mustJob(t, js, "t1", []itemOutcome{{a.ID, done, l1.ID, ""}})
	j3 := mustJob(t, js, "t2", []itemOutcome{{"", listinggen.ItemInvalid, "", "bad"}})

	page, err := js.FindJobs(ctx, "t1", listinggen.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || page.Items[0].ID != j2.ID || page.Items[1].ID != j1.ID || page.NextCursor != "" {
		t.Fatalf("FindJobs(t1) = %d jobs, want j2, j1", len(page.Items))
	}
	got := page.Items[1]
	if got.Items != 4 || got.Counts[listinggen.ItemDone] != 1 || got.Counts[listinggen.ItemFailed] != 2 || got.Counts[listinggen.ItemInvalid] != 1 ||
		got.Counts[listinggen.ItemQueued] != 0 || got.State != listinggen.JobCompleted || got.TenantID != "t1" {
		t.Errorf("listed job 1: items %d, state %s, counts %v", got.Items, got.State, got.Counts)
	}
	page, err = js.FindJobs(ctx, "t1", listinggen.JobFilter{Limit: 1})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != j2.ID || page.NextCursor == "" {
		t.Fatalf("FindJobs limit 1: %v", err)
	}
	page, err = js.FindJobs(ctx, "t1", listinggen.JobFilter{Limit: 1, Cursor: page.NextCursor})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != j1.ID {
		t.Fatalf("FindJobs second page: %v", err)
	}
	if page, err := js.FindJobs(ctx, "t1", listinggen.JobFilter{WithoutCounts: true}); err != nil || len(page.Items) != 2 ||
		page.Items[1].ID != j1.ID || page.Items[1].Counts != nil || page.Items[1].Items != 4 {
		t.Errorf("FindJobs without counts: %v, %+v", err, page.Items)
	}
	if page, err := js.FindJobs(ctx, "t2", listinggen.JobFilter{}); err != nil || len(page.Items) != 1 || page.Items[0].ID != j3.ID {
		t.Errorf("FindJobs(t2) = %+v, %v; want only t2's job", page, err)
	}
	_, err = js.FindJobs(ctx, "t1", listinggen.JobFilter{Cursor: "not-a-cursor"})
	wantCode(t, err, listinggen.EINVALID)

	errorStates := []listinggen.ItemState{listinggen.ItemFailed, listinggen.ItemInvalid}
	items, err := js.FindJobItems(ctx, "t1", j1.ID, listinggen.JobItemFilter{States: errorStates})
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, it := range items.Items {
		rows = append(rows, fmt.Sprintf("%d %s %s", it.Row, it.State, it.Error))
	}
	want := []string{"2 failed EINVALID: processing the item failed (panic: poison row)", "3 invalid title: is required", "4 failed ENOTFOUND: shop not found"}
	if fmt.Sprint(rows) != fmt.Sprint(want) || items.NextCursor != "" {
		t.Fatalf("error items = %q, want %q", rows, want)
	}
	if it := items.Items[0]; it.JobID != j1.ID || it.ShopID != b.ID || it.Product.ID != "p2" || it.Product.Title != "商品 2" || it.Attempts != 1 {
		t.Errorf("failed item = %+v", it)
	}
	// Paged one at a time, every item once, in (row, shop) order.
	var paged []int
	cursor := ""
	for range 10 {
		p, err := js.FindJobItems(ctx, "t1", j1.ID, listinggen.JobItemFilter{Limit: 1, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			paged = append(paged, it.Row)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if fmt.Sprint(paged) != "[1 2 3 4]" {
		t.Errorf("items paged one by one: rows %v, want [1 2 3 4]", paged)
	}
	if p, err := js.FindJobItems(ctx, "t1", j1.ID, listinggen.JobItemFilter{States: []listinggen.ItemState{listinggen.ItemDone}}); err != nil ||
		len(p.Items) != 1 || p.Items[0].ListingID != l1.ID {
		t.Errorf("done items: %+v, %v", p, err)
	}
	_, err = js.FindJobItems(ctx, "t2", j1.ID, listinggen.JobItemFilter{})
	wantCode(t, err, listinggen.ENOTFOUND)
	_, err = js.FindJobItems(ctx, "t1", "no-such-job", listinggen.JobItemFilter{})
	wantCode(t, err, listinggen.ENOTFOUND)
	for _, bad := range []string{"not-a-cursor", listinggen.EncodeCursor("x/y"), listinggen.EncodeCursor("-3/a")} {
		_, err = js.FindJobItems(ctx, "t1", j1.ID, listinggen.JobItemFilter{Cursor: bad})
		wantCode(t, err, listinggen.EINVALID)
	}
}
