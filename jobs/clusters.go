package jobs

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/catalog"
	"github.com/listinggen/listinggen/pipeline/dedup"
	"github.com/listinggen/listinggen/textnorm"
)

// One listing per cluster. The dedup verifier clusters the catalogue by
// evidence (identifiers, attributes, prices, titles; pipeline/dedup) and
// the most complete, cheapest offer of each cluster is listed. That needs
// the whole catalogue at once and compares each product with its nearest
// products of the same category (dedup.DefaultNeighbours of them), inside
// the submitting request, so it is used when the catalogue has at most
// clusterMaxRows rows and clusterMaxPairs pairs to compare, which bounds
// the request's time. A larger catalogue is clustered by exact
// title (spaces, punctuation and case ignored, same category and brand) as
// it streams, and the first row of each cluster is listed. The job's
// options say which method ran (cluster_method).
const (
	clusterMaxRows  = 50_000
	clusterMaxPairs = 600_000
)

// Values of JobOptions.ClusterMethod.
const (
	ClusterByEvidence   = "evidence"
	ClusterByExactTitle = "exact_title"
)

// clusterer says, row by row, whether another row of its cluster is listed
// instead.
type clusterer interface {
	skipReason(row catalog.Row) string
}

// planClusters reads the catalogue ahead to choose the method. It returns
// the clusterer and a reader that yields every row again from the start.
// A read error stops the read-ahead; the replay returns it in its place, so
// the caller reports the unreadable file where it would have anyway.
func planClusters(r catalog.Reader) (clusterer, catalog.Reader) {
	replay := &replayReader{Reader: r}
	for len(replay.rows) <= clusterMaxRows {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			replay.err = io.EOF
			if c := evidenceClusters(replay.rows); c != nil {
				return c, replay
			}
			return exactClusters{}, replay
		}
		if err != nil {
			replay.err = err
			return exactClusters{}, replay
		}
		replay.rows = append(replay.rows, row)
	}
	return exactClusters{}, replay
}

// evidenceClusters clusters the valid rows by evidence, or returns nil when
// the comparisons would exceed clusterMaxPairs.
func evidenceClusters(rows []catalog.Row) clusterer {
	var valid []int
	var products []listinggen.Product
	for i, row := range rows {
		if len(row.Problems) == 0 {
			valid = append(valid, i)
			products = append(products, row.Product)
		}
	}
	cfg := dedup.DefaultClusterConfig()
	if dedup.Comparisons(products, cfg) > clusterMaxPairs {
		return nil
	}
	ids := dedup.Cluster(products, cfg)
	reasons := map[int]string{}
	for cluster, members := range dedup.Groups(ids) {
		if len(members) < 2 {
			continue
		}
		offers := make([]listinggen.Product, len(members))
		for k, m := range members {
			offers[k] = products[m]
		}
		keep := rows[valid[members[dedup.BestOffer(offers)]]].Number
		for _, m := range members {
			if n := rows[valid[m]].Number; n != keep {
				reasons[n] = fmt.Sprintf("same item as row %d (cluster %d, %d offers): row %d is the most complete, cheapest offer",
					keep, cluster+1, len(members), keep)
			}
		}
	}
	return evidence(reasons)
}

// evidence maps the row numbers not listed to the reason.
type evidence map[int]string

func (e evidence) skipReason(row catalog.Row) string { return e[row.Number] }

// exactClusters lists the first row of each exact-title cluster.
type exactClusters map[[16]byte]int

func (e exactClusters) skipReason(row catalog.Row) string {
	k := clusterKey(&row.Product)
	if first, ok := e[k]; ok {
		return fmt.Sprintf("duplicate of row %d (one listing per cluster, same title)", first)
	}
	e[k] = row.Number
	return ""
}

// clusterForm drops spaces, punctuation and symbols and lower-cases.
var clusterForm = textnorm.New(textnorm.Options{Fold: textnorm.FoldCase, Drop: textnorm.DropSeparators})

// clusterKey is exact-text clustering: title without spaces or
// punctuation, lower-cased, with category and brand.
func clusterKey(p *listinggen.Product) [16]byte {
	norm := clusterForm.String(p.Title)
	sum := sha256.Sum256([]byte(norm + "\x00" + p.Category + "\x00" + p.Brand))
	var k [16]byte
	copy(k[:], sum[:])
	return k
}

// replayReader yields the rows read ahead, then what stopped the
// read-ahead (io.EOF or an error), or, when it stopped at the row cap, the
// rest of the catalogue.
type replayReader struct {
	catalog.Reader
	rows []catalog.Row
	err  error
}

func (r *replayReader) Next() (catalog.Row, error) {
	if len(r.rows) > 0 {
		row := r.rows[0]
		r.rows[0] = catalog.Row{} // let it go once yielded
		r.rows = r.rows[1:]
		return row, nil
	}
	if r.err != nil {
		return catalog.Row{}, r.err
	}
	return r.Reader.Next()
}
