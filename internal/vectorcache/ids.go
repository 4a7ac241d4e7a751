package vectorcache

import (
	"hash/maphash"

	"github.com/google/uuid"
)

// rowKey is a listing id as the cache keeps it. The stores make ids as
// UUIDs in canonical form, which pack into 16 bytes without a pointer, so
// that a row's id costs 16 bytes outside the Go heap instead of a string
// header and a 48-byte allocation on it (which the collector's headroom
// then doubles); any other id is kept as its string.
type rowKey struct {
	uuid [16]byte
	name string // the id when it is not a canonical UUID, else ""
}

// keyOf packs id. Only the canonical form (36 characters, lower-case hex,
// the dashes in place) is packed: it is the one uuid.UUID.String gives
// back, so every id round-trips exactly. id must not be empty: its key
// would be the nil UUID's.
func keyOf(id string) rowKey {
	if len(id) == 36 && !hasUpper(id) {
		if u, err := uuid.Parse(id); err == nil {
			return rowKey{uuid: u}
		}
	}
	return rowKey{name: id}
}

func hasUpper(s string) bool {
	for i := range len(s) {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// String is the id keyOf was given.
func (k rowKey) String() string {
	if k.name != "" {
		return k.name
	}
	return uuid.UUID(k.uuid).String()
}

func (k rowKey) hash(seed maphash.Seed) uint64 {
	if k.name != "" {
		return maphash.String(seed, k.name)
	}
	return maphash.Bytes(seed, k.uuid[:])
}
