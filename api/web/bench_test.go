package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

// BenchmarkQueue renders review-queue pages over QUEUE_BENCH_N listings
// (default 100,000) on SQLite: filtered pages half-way down the queue
// (keyset cursor) against the unfiltered first page, the baseline. With
// keyset pagination and an index per filter, a deep filtered page costs
// about what the first page does; OFFSET pagination or an unindexed filter
// would grow with the depth.
func BenchmarkQueue(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("QUEUE_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	store := testStore(b)
	const tenant = "t"
	var shops []*listinggen.Shop
	for _, p := range []listinggen.Platform{listinggen.PlatformDouyin, listinggen.PlatformTaobao} {
		sh := &listinggen.Shop{TenantID: tenant, Name: "店 " + string(p), Platform: p}
		if err := store.CreateShop(ctx, sh); err != nil {
			b.Fatal(err)
		}
		shops = append(shops, sh)
	}
	var ids []string
	for lo := 0; lo < n; lo += 5000 {
		var batch []*listinggen.Listing
		for i := lo; i < min(lo+5000, n); i++ {
			sh := shops[i%2]
			title := fmt.Sprintf("连衣裙 雪纺 收腰 %d", i)
			l := &listinggen.Listing{TenantID: tenant, ShopID: sh.ID, ProductID: strconv.Itoa(i), ProductHash: "h" + strconv.Itoa(i),
				Platform: sh.Platform, Status: listinggen.StatusNeedsReview, Copy: listinggen.Copy{Title: title},
				Source: listinggen.Product{ID: strconv.Itoa(i), Title: title}, Dedup: listinggen.DedupReport{Verdict: listinggen.VerdictUnique},
				// One listing in ten breaks a blocking rule.
				Compliance:     listinggen.ComplianceReport{OK: i%10 != 0},
				IdempotencyKey: sh.ID + "/" + strconv.Itoa(i)}
			batch = append(batch, l)
		}
		if _, err := store.CreateListings(ctx, batch); err != nil {
			b.Fatal(err)
		}
		for _, l := range batch {
			ids = append(ids, l.ID)
		}
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	deep := listinggen.EncodeCursor(ids[n/2])

	ui, err := New(DefaultConfig(), Deps{Store: store, Rules: func(*listinggen.Shop) listinggen.TextRules { return listinggen.TextRules{TitleMaxUnits: 60} },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	e := echo.New()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { c.Set("tenant", tenant); return next(c) }
	})
	ui.Register(e)
	for _, c := range []struct{ name, query string }{
		{"baseline=first-page", "/"},
		{"deep/unfiltered", "/?cursor=" + deep},
		{"deep/compliance=problems", "/?compliance=problems&cursor=" + deep},
		{"deep/platform=taobao", "/?platform=taobao&cursor=" + deep},
		{"deep/shop-and-status", "/?status=needs_review&shop=" + shops[1].ID + "&cursor=" + deep},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.query, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", c.query, rec.Code, rec.Body.String())
				}
			}
		})
	}
}
