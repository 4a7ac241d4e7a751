package vectorcache

import (
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"unsafe"
)

// rows is what a set holds: its rows, shop by shop, and the index from a
// listing's id to its row. It is built aside by a load and swapped into the
// set whole.
type rows struct {
	dims    int // the length of the first vector seen; see odd
	spill   *spill
	scratch []int8 // put's codes before they go into a chunk
	// shards[shop number] holds the shop's rows.
	shards []shard
	// chunkTab[chunk.num] is every chunk, for the index's entries to name;
	// freeNums are numbers of chunks that are gone.
	chunkTab []*chunk
	freeNums []uint32
	index    index
	// odd holds the rare vectors that are not coded: those whose length is
	// not dims (a store need not enforce one length per model), zero ones
	// and ones with values that are not finite. They are kept as they are
	// and scored like listinggen.Cosine.
	odd       map[string]oddVector
	shopIDs   []string
	shopIndex map[string]int32
	nameBytes int64 // the ids kept as strings (not UUIDs)
	nameSlots int64 // rows of the chunks that have a names column
	capRows   int64 // rows the chunks have room for
}

func newRows(sp *spill) rows {
	return rows{spill: sp, odd: map[string]oddVector{}, shopIndex: map[string]int32{}, index: index{seed: maphash.MakeSeed()}}
}

// shard is one shop's rows: every chunk is full but the last, which is
// not empty.
type shard struct{ chunks []*chunk }

func (s *shard) last() *chunk { return s.chunks[len(s.chunks)-1] }

// chunk holds up to size rows of one shop, column by column, in one block
// of memory outside the Go heap when it is large (newBlock): row i's codes
// are codes[i*dims : (i+1)*dims], its bounds fac[i] and slack[i], its id
// uuids[i] or, when that id is not a UUID, names[i]; its exact vector is at
// file.off + i*dims*4 in the spill file. The block and the file region are
// given back when the chunk is collected: both are valid while the chunk is
// reachable, so code that reads them keeps the chunk alive until it is done.
type chunk struct {
	num   uint32 // its place in chunkTab
	shop  int32
	n     int // rows in use
	size  int
	codes []int8
	fac   []float32 // scale / |x|: approx = fac·(q·codes)/|q|
	slack []float32 // how far the exact score can be from approx
	uuids [][16]byte
	names []string // nil until a row's id is not a UUID
	file  region
}

// Chunks start small, so that a shop of a few rows costs a few rows, and
// double up to maxChunkRows: past that a shop wastes at most one chunk.
const (
	minChunkRows = 16
	maxChunkRows = 512
)

// rowBytes is what a row of dims dimensions costs in a chunk: codes, fac,
// slack and the packed id.
func rowBytes(dims int) int64 { return int64(dims) + 4 + 4 + 16 }

// chunkOverhead is a chunk's header and its chunkTab and shard entries.
const chunkOverhead = 160

func (c *chunk) full() bool { return c.n == c.size }

func (c *chunk) key(row int) rowKey {
	if c.names != nil && c.names[row] != "" {
		return rowKey{name: c.names[row]}
	}
	return rowKey{uuid: c.uuids[row]}
}

func (c *chunk) id(row int) string { return c.key(row).String() }

// setKey stores row's id, giving the chunk its names column (counted in
// nameSlots) the first time an id is not a UUID.
func (v *rows) setKey(c *chunk, row int, k rowKey) {
	c.uuids[row] = k.uuid
	if k.name != "" && c.names == nil {
		c.names = make([]string, c.size)
		v.nameSlots += int64(c.size)
	}
	if c.names != nil {
		c.names[row] = k.name
	}
}

// newChunk makes an empty chunk of shop sh with room for size rows, and
// their region of the spill file, given back when the chunk is collected.
func (v *rows) newChunk(sh int32, size int) (*chunk, error) {
	file, err := v.spill.alloc(int64(size * v.dims * 4))
	if err != nil {
		return nil, err
	}
	c := &chunk{shop: sh, size: size, file: file}
	d := v.dims
	block := newBlock(c, size*int(rowBytes(d)))
	c.codes = viewAs[int8](block[:size*d])
	c.fac = viewAs[float32](block[size*d : size*(d+4)])
	c.slack = viewAs[float32](block[size*(d+4) : size*(d+8)])
	c.uuids = viewAs[[16]byte](block[size*(d+8):])
	runtime.AddCleanup(c, v.spill.release, file)
	if n := len(v.freeNums); n > 0 {
		c.num = v.freeNums[n-1]
		v.freeNums = v.freeNums[:n-1]
		v.chunkTab[c.num] = c
	} else {
		c.num = uint32(len(v.chunkTab))
		v.chunkTab = append(v.chunkTab, c)
	}
	v.capRows += int64(size)
	return c, nil
}

// dropChunk forgets the empty last chunk of shard s.
func (v *rows) dropChunk(s *shard) {
	c := s.last()
	v.capRows -= int64(c.size)
	if c.names != nil {
		v.nameSlots -= int64(c.size)
	}
	v.chunkTab[c.num] = nil
	v.freeNums = append(v.freeNums, c.num)
	s.chunks[len(s.chunks)-1] = nil
	s.chunks = s.chunks[:len(s.chunks)-1]
}

// viewAs is b's memory as a slice of T; b's length is a multiple of T's
// size and its start suitably aligned (newChunk's offsets are multiples of
// 16 rows' worth).
func viewAs[T any](b []byte) []T {
	var zero T
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/int(unsafe.Sizeof(zero)))
}

type oddVector struct {
	shop int32
	vec  []float32
}

func (v *rows) shopNumber(shop string) int32 {
	if i, ok := v.shopIndex[shop]; ok {
		return i
	}
	i := int32(len(v.shopIDs))
	v.shopIDs = append(v.shopIDs, shop)
	v.shopIndex[shop] = i
	v.shards = append(v.shards, shard{})
	return i
}

// find returns id's row, if it is in a chunk.
func (v *rows) find(id string) (c *chunk, row int, ok bool) {
	if id == "" {
		return nil, 0, false
	}
	slot, found := v.index.lookup(v, keyOf(id))
	if !found {
		return nil, 0, false
	}
	c, row = v.entryRow(v.index.slots[slot])
	return c, row, true
}

// put stores listing id's vector, replacing any it had; an empty vector
// removes it. An error means the spill file failed, and the set can no
// longer answer.
func (v *rows) put(id, shop string, vec []float32) error {
	if err := v.remove(id); err != nil {
		return err
	}
	n := len(vec)
	if n == 0 {
		return nil
	}
	if v.dims == 0 {
		v.dims = n
	}
	sh := v.shopNumber(shop)
	var fac, slack float64
	ok := n == v.dims && id != ""
	if ok {
		if len(v.scratch) != n {
			v.scratch = make([]int8, n)
		}
		fac, slack, ok = quantise(v.scratch, vec)
	}
	if !ok {
		v.odd[id] = oddVector{shop: sh, vec: slices.Clone(vec)}
		return nil
	}
	s := &v.shards[sh]
	if len(s.chunks) == 0 || s.last().full() {
		size := minChunkRows
		if len(s.chunks) > 0 {
			size = min(maxChunkRows, 2*s.last().size)
		}
		c, err := v.newChunk(sh, size)
		if err != nil {
			return err
		}
		s.chunks = append(s.chunks, c)
	}
	c := s.last()
	row := c.n
	if err := v.spill.write(vec, c.file.off+int64(row*n*4)); err != nil {
		return err
	}
	copy(c.codes[row*n:(row+1)*n], v.scratch)
	c.fac[row], c.slack[row] = bounds32(fac, slack)
	k := keyOf(id)
	v.setKey(c, row, k)
	c.n++
	v.index.insert(v, k, entryOf(c, row))
	v.nameBytes += int64(len(k.name))
	return nil
}

// bounds32 rounds a row's fac and slack to float32, widening slack by what
// the rounding of fac can move approx: |approx| is at most 1 + slack, and
// fac's relative error at most 2⁻²⁴.
func bounds32(fac, slack float64) (float32, float32) {
	f := float32(fac)
	s64 := slack + (1+slack)*0x1p-23
	s := float32(s64)
	if float64(s) < s64 {
		s = math.Nextafter32(s, float32(math.Inf(1)))
	}
	return f, s
}

// remove drops id's vector, if cached, moving its shop's last row into its
// place, so that every chunk but the last stays full.
func (v *rows) remove(id string) error {
	if _, ok := v.odd[id]; ok {
		delete(v.odd, id)
		return nil
	}
	if id == "" {
		return nil
	}
	k := keyOf(id)
	slot, ok := v.index.lookup(v, k)
	if !ok {
		return nil
	}
	c, row := v.entryRow(v.index.slots[slot])
	s := &v.shards[c.shop]
	last := s.last()
	end := last.n - 1
	d := v.dims
	if c != last || row != end {
		vec := make([]float32, d)
		if err := v.spill.read(vec, last.file.off+int64(end*d*4)); err != nil {
			return err
		}
		if err := v.spill.write(vec, c.file.off+int64(row*d*4)); err != nil {
			return err
		}
		moved := last.key(end)
		movedSlot, _ := v.index.lookup(v, moved)
		copy(c.codes[row*d:(row+1)*d], last.codes[end*d:(end+1)*d])
		c.fac[row], c.slack[row] = last.fac[end], last.slack[end]
		v.setKey(c, row, moved)
		v.index.slots[movedSlot] = entryOf(c, row) | v.index.slots[movedSlot]&tagMask
	}
	v.setKey(last, end, rowKey{}) // let a name go
	last.n--
	if last.n == 0 {
		v.dropChunk(s)
	}
	v.index.remove(v, slot)
	v.nameBytes -= int64(len(k.name))
	return nil
}

// Index entries name a row as chunk number+1 (bits 0-31, so that 0 is an
// empty slot) and row (bits 32-47), with 16 bits of the id's hash on top,
// so that a probe rarely has to read a row's id to rule it out.
const (
	tagShift = 48
	tagMask  = uint64(0xffff) << tagShift
)

func entryOf(c *chunk, row int) uint64 { return (uint64(c.num) + 1) | uint64(row)<<32 }

func (v *rows) entryRow(e uint64) (*chunk, int) {
	return v.chunkTab[uint32(e)-1], int(e>>32) & 0xffff
}

func (v *rows) entryKey(e uint64) rowKey {
	c, row := v.entryRow(e)
	return c.key(row)
}

// index maps ids to rows: an open-addressing table with linear probing of
// 8-byte entries, in a block outside the Go heap once it is large, where
// the collector's headroom does not double it. Kept between 3/8 and 3/4
// full, it costs 11–21 bytes a row.
type index struct {
	seed  maphash.Seed
	slots []uint64 // a power of two long, or nil
	owner *indexBlock
	used  int
}

// indexBlock owns the slots' memory, released when it is collected. It
// holds a pointer so that it is not a tiny allocation, whose cleanup could
// wait on its neighbours.
type indexBlock struct{ first *uint64 }

// lookup returns k's slot, or the empty slot where it would go.
func (x *index) lookup(v *rows, k rowKey) (slot int, found bool) {
	if x.slots == nil {
		return 0, false
	}
	return x.probe(v, k, k.hash(x.seed))
}

// probe is lookup with k's hash h given.
func (x *index) probe(v *rows, k rowKey, h uint64) (slot int, found bool) {
	tag := h & tagMask
	mask := len(x.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		e := x.slots[i]
		if e == 0 {
			return i, false
		}
		if e&tagMask == tag && v.entryKey(e) == k {
			return i, true
		}
	}
}

// insert points k at entry e (whose tag bits are 0), replacing any entry
// k had.
func (x *index) insert(v *rows, k rowKey, e uint64) {
	if (x.used+1)*4 > len(x.slots)*3 {
		x.grow(v)
	}
	h := k.hash(x.seed)
	slot, found := x.probe(v, k, h)
	if !found {
		x.used++
	}
	x.slots[slot] = e | h&tagMask
}

// grow doubles the table (16 slots at first), placing every entry anew.
func (x *index) grow(v *rows) {
	old := x.slots
	n := max(16, 2*len(old))
	owner := &indexBlock{}
	x.slots, x.owner = viewAs[uint64](newBlock(owner, n*8)), owner
	owner.first = &x.slots[0]
	mask := n - 1
	for _, e := range old {
		if e == 0 {
			continue
		}
		i := int(v.entryKey(e).hash(x.seed)) & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = e
	}
}

// remove empties slot, moving later entries of its probe run back so that
// no lookup stops short of them (backward-shift deletion).
func (x *index) remove(v *rows, slot int) {
	mask := len(x.slots) - 1
	hole := slot
	for j := (hole + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		home := int(v.entryKey(x.slots[j]).hash(x.seed)) & mask
		// An entry whose home is cyclically in (hole, j] is reachable
		// without the hole; any other must move into it.
		if hole <= j && hole < home && home <= j || hole > j && (hole < home || home <= j) {
			continue
		}
		x.slots[hole] = x.slots[j]
		hole = j
	}
	x.slots[hole] = 0
	x.used--
}

// bytes is the table's memory.
func (x *index) bytes() int64 { return int64(len(x.slots)) * 8 }
