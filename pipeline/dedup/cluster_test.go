package dedup

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/listinggen/listinggen"
)

// stepModel is a one-tree model: two items are the same when half or more
// of their title tokens are shared, and not otherwise; every token weighs
// the same.
func stepModel() *Model {
	m := &Model{Features: featureNames[:], IDF: IDF{Unknown: 1, UnknownWord: 1},
		Trees:  []Tree{{Nodes: []Node{{Feature: fTokenCos, Threshold: 0.5, Left: 1, Right: 2}, {Value: -6}, {Value: 6}}}},
		Policy: Policy{Duplicate: 0.5, Similar: 0.2, Cluster: 0.6}}
	if err := m.Check(); err != nil {
		panic(err)
	}
	return m
}

func item(title string, attrs ...listinggen.Attribute) Item {
	return Item{Title: title, Category: "c", Attributes: attrs}
}

// samePartition reports whether two clusterings group the items alike.
func samePartition(a, b []int) bool {
	ab, ba := map[int]int{}, map[int]int{}
	for i := range a {
		if x, ok := ab[a[i]]; ok && x != b[i] {
			return false
		}
		if y, ok := ba[b[i]]; ok && y != a[i] {
			return false
		}
		ab[a[i]], ba[b[i]] = b[i], a[i]
	}
	return true
}

func TestClusterDoesNotChain(t *testing.T) {
	t.Parallel()
	m := stepModel()
	// A and B share half their words, B and C too, A and C none: single
	// linkage would make one cluster of the three.
	items := []Item{item("a b c d"), item("c d e f"), item("e f g h")}
	got := ClusterItems(items, ClusterConfig{Model: m})
	if !samePartition(got, []int{0, 0, 1}) {
		t.Errorf("chain: clusters %v, want A and B together, C alone", got)
	}
	// A fourth offer close to both A and B joins them: the mean over its
	// pairs clears the threshold.
	items = append(items, item("a b c d e f"))
	if got := ClusterItems(items, ClusterConfig{Model: m}); !samePartition(got, []int{0, 0, 1, 0}) {
		t.Errorf("with a fourth offer: clusters %v", got)
	}
}

func TestClusterSpecConflicts(t *testing.T) {
	t.Parallel()
	m := stepModel()
	cotton := listinggen.Attribute{Name: "材质", Values: []string{"棉"}}
	polyester := listinggen.Attribute{Name: "材质", Values: []string{"涤纶"}}
	sizes := listinggen.Attribute{Name: "尺码", Values: []string{"S", "M", "L"}}
	fewer := listinggen.Attribute{Name: "尺码", Values: []string{"S", "M"}}
	red := listinggen.Attribute{Name: "颜色", Values: []string{"红色"}}
	blue := listinggen.Attribute{Name: "颜色", Values: []string{"蓝色"}}
	items := []Item{
		item("夏季 连衣裙 雪纺 碎花", cotton, sizes, red),
		item("夏季 连衣裙 雪纺 碎花", polyester, sizes, red), // another material
		item("夏季 连衣裙 雪纺 碎花", cotton, fewer, red),    // another size set
		item("夏季 连衣裙 雪纺 碎花", cotton, sizes, blue),   // another colour: the same item
		item("夏季 连衣裙 雪纺 碎花"),                        // no attributes: joins the largest it may
	}
	got := ClusterItems(items, ClusterConfig{Model: m})
	if got[0] != got[3] || got[0] == got[1] || got[0] == got[2] || got[1] == got[2] {
		t.Errorf("clusters %v: want 0 and 3 together, 1 and 2 each apart", got)
	}
	if a, b := (&features{attrs: map[string]map[string]bool{"材质": {"棉": true}}}).specMap(), map[string]map[string]bool{"材质": {"涤纶": true}}; !specsConflict(a, b) {
		t.Error("cotton and polyester do not conflict")
	}
}

// With more products in a category than neighbours, each is compared
// with its nearest only, and the offers of one item still find each other.
func TestClusterNeighbours(t *testing.T) {
	t.Parallel()
	m := stepModel()
	var items []Item
	want := map[int]int{}
	for i := range 60 {
		items = append(items, item(fmt.Sprintf("w%d x%d y%d z%d", i, i, i, i)))
		if i%3 == 0 {
			items = append(items, item(fmt.Sprintf("w%d x%d y%d q%d", i, i, i, i)))
			want[len(items)-1] = len(items) - 2
		}
	}
	got := ClusterItems(items, ClusterConfig{Model: m, Neighbours: 5})
	groups := Groups(got)
	if len(groups) != 60 {
		t.Errorf("%d clusters, want 60", len(groups))
	}
	for dup, orig := range want {
		if got[dup] != got[orig] {
			t.Errorf("offer %d not with %d", dup, orig)
		}
	}
	// The result does not depend on the order of the input.
	rng := rand.New(rand.NewPCG(1, 2))
	perm := rng.Perm(len(items))
	shuffled := make([]Item, len(items))
	for i, p := range perm {
		shuffled[i] = items[p]
	}
	again := ClusterItems(shuffled, ClusterConfig{Model: m, Neighbours: 5})
	back := make([]int, len(items))
	for i, p := range perm {
		back[p] = again[i]
	}
	if !samePartition(got, back) {
		t.Error("clustering depends on input order")
	}
}

func TestBlockThreshold(t *testing.T) {
	t.Parallel()
	if got := BlockThreshold(0.3, 20, 25); got != 0.3 {
		t.Errorf("smaller category: %v", got)
	}
	got := BlockThreshold(0.5, 250, 25)
	if want := sigmoid(math.Log(10)); math.Abs(got-want) > 1e-12 {
		t.Errorf("ten times the products: %v, want %v", got, want)
	}
	if got := BlockThreshold(0.5, 250, 0); got != 0.5 {
		t.Errorf("no reference: %v", got)
	}
}

func TestGroups(t *testing.T) {
	t.Parallel()
	got := Groups([]int{0, 1, 0, 2, 1})
	if fmt.Sprint(got) != "[[0 2] [1 4] [3]]" {
		t.Errorf("Groups = %v", got)
	}
}

// Comparisons counts by the categories clustering blocks on, folded.
func TestComparisons(t *testing.T) {
	t.Parallel()
	var ps []listinggen.Product
	for i := range 40 {
		ps = append(ps, listinggen.Product{Category: []string{"女装/连衣裙", "女装／连衣裙 "}[i%2]})
	}
	ps = append(ps, listinggen.Product{Category: "a"}, listinggen.Product{Category: "a"}, listinggen.Product{Category: "b"})
	if got, want := Comparisons(ps, ClusterConfig{}), 40*DefaultNeighbours+2; got != want {
		t.Errorf("Comparisons = %d, want %d", got, want)
	}
	if got, want := Comparisons(ps, ClusterConfig{Neighbours: 5}), 40*5+2; got != want {
		t.Errorf("Comparisons with 5 neighbours = %d, want %d", got, want)
	}
}
