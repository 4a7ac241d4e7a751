package jobs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/catalog"
	"github.com/listinggen/listinggen/internal/sample"
	"github.com/listinggen/listinggen/pipeline/dedup"
)

// The sample catalogue, one listing per cluster: one row listed per
// evidence cluster, the best offer of each, and every other row naming it;
// the rows are replayed in order for the job.
func TestOnePerClusterOnTheSampleCatalogue(t *testing.T) {
	t.Parallel()
	f, err := os.Open(sample.Path("catalogue/sample-300.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := catalog.Open(f, catalog.JSONL, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, replay := planClusters(r)
	if _, ok := c.(evidence); !ok {
		t.Fatalf("300 rows clustered by %T, want evidence", c)
	}
	var rows []catalog.Row
	var products []listinggen.Product
	for {
		row, err := replay.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
		products = append(products, row.Product)
	}
	if len(rows) != 300 || rows[0].Number >= rows[299].Number {
		t.Fatalf("replayed %d rows", len(rows))
	}
	ids := dedup.Cluster(products, dedup.DefaultClusterConfig())
	listed := 0
	for _, members := range dedup.Groups(ids) {
		offers := make([]listinggen.Product, len(members))
		for k, m := range members {
			offers[k] = products[m]
		}
		best := rows[members[dedup.BestOffer(offers)]].Number
		for _, m := range members {
			reason := c.skipReason(rows[m])
			switch {
			case rows[m].Number == best && reason != "":
				t.Errorf("row %d is its cluster's best offer but skipped: %s", best, reason)
			case rows[m].Number == best:
				listed++
			case !strings.Contains(reason, fmt.Sprintf("same item as row %d", best)):
				t.Errorf("row %d: reason %q, want it to name row %d", rows[m].Number, reason, best)
			}
		}
	}
	if listed != len(dedup.Groups(ids)) || listed > 200 {
		t.Errorf("%d rows listed for %d clusters", listed, len(dedup.Groups(ids)))
	}
}

// A catalogue with more pairs to compare than the budget is clustered by
// exact title, as it streams.
func TestLargeCategoryFallsBackToExactTitles(t *testing.T) {
	t.Parallel()
	var rows []catalog.Row
	for i := range 25_000 { // each compared with its 30 nearest: 750,000 pairs
		rows = append(rows, catalog.Row{Number: i + 2, Product: listinggen.Product{Title: fmt.Sprintf("连衣裙 款%d", i%700), Category: "女装/连衣裙"}})
	}
	if c := evidenceClusters(rows); c != nil {
		t.Fatalf("%d rows of one category clustered by evidence", len(rows))
	}
	e := exactClusters{}
	if e.skipReason(rows[0]) != "" || !strings.Contains(e.skipReason(rows[700]), "duplicate of row 2") {
		t.Errorf("exact-title clusters: row 702 should name row 2")
	}
}

// countingReader yields n generated rows.
type countingReader struct{ next, n int }

func (r *countingReader) Next() (catalog.Row, error) {
	if r.next == r.n {
		return catalog.Row{}, io.EOF
	}
	r.next++
	return catalog.Row{Number: r.next + 1, Product: listinggen.Product{Title: fmt.Sprint("商品", r.next), Category: fmt.Sprint(r.next % 1000)}}, nil
}
func (r *countingReader) HeaderProblems() []catalog.Problem { return nil }
func (r *countingReader) Close() error                      { return nil }

// Past clusterMaxRows the read-ahead stops, exact titles cluster, and the
// job still gets every row once, in order.
func TestCatalogueOverTheRowCapStreams(t *testing.T) {
	t.Parallel()
	n := clusterMaxRows + 5
	c, replay := planClusters(&countingReader{n: n})
	if _, ok := c.(exactClusters); !ok {
		t.Fatalf("%d rows clustered by %T", n, c)
	}
	for i := range n {
		row, err := replay.Next()
		if err != nil || row.Number != i+2 {
			t.Fatalf("row %d: %+v, %v", i, row.Number, err)
		}
	}
	if _, err := replay.Next(); err != io.EOF {
		t.Fatalf("after the last row: %v", err)
	}
}

// brokenReader yields n rows, then a read error.
type brokenReader struct{ countingReader }

func (r *brokenReader) Next() (catalog.Row, error) {
	if r.next == r.n {
		return catalog.Row{}, errors.New("unexpected end of the zip archive")
	}
	return r.countingReader.Next()
}

// A file that cannot be read to the end is replayed up to the break and
// then reports the error, as it would have without the read-ahead.
func TestUnreadableCatalogueIsReplayedUpToTheError(t *testing.T) {
	t.Parallel()
	c, replay := planClusters(&brokenReader{countingReader{n: 3}})
	if _, ok := c.(exactClusters); !ok {
		t.Fatalf("clustered by %T", c)
	}
	for i := range 3 {
		if row, err := replay.Next(); err != nil || row.Number != i+2 {
			t.Fatalf("row %d: %d, %v", i, row.Number, err)
		}
	}
	if _, err := replay.Next(); err == nil || err == io.EOF {
		t.Fatalf("after the rows: %v, want the read error", err)
	}
}
