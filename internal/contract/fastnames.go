package contract

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"unsafe"
)

// fastNames finds what an object's schema says of a member name. It
// replaces a Go map on the hot path: a schema names few members, and a
// map's string hash costs more than the whole lookup here (an event's
// object members were ~2,300 of ~13,600 validation instructions, issue
// 15 point 3). The slot is chosen from the name's first sixteen bytes as
// two words, its length and, past sixteen bytes, its last eight; a
// collision only costs a probe, since each candidate is confirmed by its
// words and length (and, past sixteen bytes, the whole name).
type fastNames struct {
	slots   []uint32 // index+1 into entries; 0: empty. A power of two, at most half full
	entries []fastNameEntry
	// seed is the multiplier of nameSlot, chosen so that (mostly) every
	// name sits in the slot its hash gives: perfect says all do, and a
	// name not in its own slot is not named, without probing further.
	seed uint64
	// shift is 64 less log2 of len(slots) (0 for no slots): nameSlot
	// keeps the product's top bits, fewer than 1<<(64-shift).
	shift   uint8
	perfect bool
}

type fastNameEntry struct {
	name string
	// w0 and w1 are the name's first sixteen bytes as little-endian
	// words, zero past its end (nameWords): with its length, the whole
	// name when it is at most sixteen bytes long.
	w0, w1 uint64
	fastMember
	// once is the entry's own bit (the first 64 entries; 0 for the
	// rest), with which a strict walk spots the name repeated in one
	// object without comparing names (fastNode.checkObject).
	once uint64
}

// nameWords returns key's first sixteen bytes as two little-endian
// words, zero past its end, and its last eight bytes as one when it is
// longer than sixteen (0 otherwise).
func nameWords[T string | []byte](key T) (w0, w1, tail uint64) {
	var buf [16]byte
	copy(buf[:], key)
	if len(key) > 16 {
		var t [8]byte
		copy(t[:], key[len(key)-8:])
		tail = binary.LittleEndian.Uint64(t[:])
	}
	return binary.LittleEndian.Uint64(buf[:8]), binary.LittleEndian.Uint64(buf[8:]), tail
}

// nameSlot is the slot of a name of n bytes, given as nameWords gives
// it, in a table of 1<<(64-shift) slots: the top bits of a product, which
// every bit of the words reaches (Fibonacci hashing). A product's lower
// bits depend only on the multiplicand's bits below them: bits 32 and up,
// masked, left bytes 5-7 and 9-12 of a name (some bits of 4 and 12) and
// most of the first three of the last eight out of the slot of a small
// table, and names such as property_0 and property_1 shared a slot
// whatever the seed.
func nameSlot(w0, w1, tail uint64, n int, seed uint64, shift uint8) uint {
	h := (w0 ^ bits.RotateLeft64(w1, 29) ^ bits.RotateLeft64(tail, 41) ^ uint64(n)) * seed
	return uint(h >> (shift & 63)) // & 63: no test of a shift of 64 or more
}

// shortNameSlot is nameSlot of a name of at most sixteen bytes (tail 0)
// written without the tail, whose rotation of zero the compiler does not
// fold away: three instructions a lookup.
func shortNameSlot(w0, w1 uint64, n int, seed uint64, shift uint8) uint {
	h := (w0 ^ bits.RotateLeft64(w1, 29) ^ uint64(n)) * seed
	return uint(h >> (shift & 63))
}

// nameSeeds are the multipliers newFastNames tries, in turn, for a table
// in which no two names share a slot; the first is the golden ratio's.
var nameSeeds = [...]uint64{
	0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f, 0x165667b19e3779f9, 0xd6e8feb86659fd93,
	0xff51afd7ed558ccd, 0xc4ceb9fe1a85ec53, 0x94d049bb133111eb, 0xbf58476d1ce4e5b9,
	0x27d4eb2f165667c5, 0x85ebca77c2b2ae63, 0x9fb21c651e98df25, 0xa0761d6478bd642f,
	0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3, 0x589965cc75374cc3, 0x1d8e4e27c47d124f,
}

// newFastNames builds the table of m: of at least twice as many slots as
// names, and up to eight times as many, the first size and seed of
// nameSeeds that gives each name a slot of its own; failing that, the
// smallest size with the first seed, names that collide probing on.
func newFastNames(m map[string]fastMember) fastNames {
	entries := make([]fastNameEntry, 0, len(m))
	for name, v := range m {
		w0, w1, _ := nameWords(name)
		var once uint64
		if len(entries) < 64 {
			once = 1 << len(entries)
		}
		entries = append(entries, fastNameEntry{name: name, w0: w0, w1: w1, fastMember: v, once: once})
	}
	size := 8
	for size < 2*len(m) {
		size *= 2
	}
	// Each size and seed is tried in one scratch table (on the stack up
	// to 64 names), so that a try that fails allocates nothing: most sets
	// of names fail a few, some every one.
	var stack [512]uint32
	scratch := stack[:]
	if 4*size > len(stack) {
		scratch = make([]uint32, 4*size)
	}
	for sz := size; sz <= 4*size; sz *= 2 {
		for _, seed := range nameSeeds {
			if placeNames(scratch[:sz], entries, seed, true) {
				return fastNames{slots: slices.Clone(scratch[:sz]), entries: entries, seed: seed, shift: slotShift(sz), perfect: true}
			}
		}
	}
	slots := make([]uint32, size)
	perfect := placeNames(slots, entries, nameSeeds[0], false)
	return fastNames{slots: slots, entries: entries, seed: nameSeeds[0], shift: slotShift(size), perfect: perfect}
}

// slotShift is the shift of nameSlot for a table of size slots, a power
// of two.
func slotShift(size int) uint8 {
	return uint8(64 - bits.TrailingZeros(uint(size)))
}

// placeNames fills slots (a power of two of them, cleared first) with
// the entries' indexes+1, each in the slot seed gives it or, when that is
// taken, the next free one; it reports whether each is in its own.
// perfectOnly gives up at the first that is not.
func placeNames(slots []uint32, entries []fastNameEntry, seed uint64, perfectOnly bool) bool {
	clear(slots)
	mask, shift := uint(len(slots)-1), slotShift(len(slots))
	perfect := true
	for i := range entries {
		e := &entries[i]
		_, _, tail := nameWords(e.name)
		s := nameSlot(e.w0, e.w1, tail, len(e.name), seed, shift)
		for slots[s] != 0 {
			if perfectOnly {
				return false
			}
			perfect = false
			s = (s + 1) & mask
		}
		slots[s] = uint32(i + 1)
	}
	return perfect
}

// at is slots[s] for s a slot nameSlot gives, in a table with slots,
// read without a bounds check: s is below 1<<(64-shift), which is
// len(slots) (TestFastNamesWords holds it). The check, which the
// compiler cannot prove away after a variable shift as it did after a
// mask, cost the member loop (checkNamedMembers) about 9 instructions a
// name, most of them registers spilled.
func (t *fastNames) at(s uint) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(t.slots)), 4*s))
}

// find returns the member key names and whether the schema names it.
func (t *fastNames) find(key []byte) (fastMember, bool) {
	if e := t.entry(key); e != nil {
		return e.fastMember, true
	}
	return fastMember{}, false
}

// entry returns the entry of the member key names, or nil.
func (t *fastNames) entry(key []byte) *fastNameEntry {
	w0, w1, tail := nameWords(key)
	if len(key) <= 16 {
		return t.short(w0, w1, len(key))
	}
	if len(t.slots) == 0 {
		return nil
	}
	mask := uint(len(t.slots) - 1)
	for s := nameSlot(w0, w1, tail, len(key), t.seed, t.shift); ; s = (s + 1) & mask {
		k := t.slots[s]
		if k == 0 {
			return nil
		}
		if e := &t.entries[k-1]; e.w0 == w0 && e.w1 == w1 && e.name == string(key) {
			return e
		}
		if t.perfect {
			return nil
		}
	}
}

// short is entry for a name of n bytes, at most sixteen, given as its
// words (jsonscan.ShortString reads them).
func (t *fastNames) short(w0, w1 uint64, n int) *fastNameEntry {
	if len(t.slots) == 0 {
		return nil
	}
	s := shortNameSlot(w0, w1, n, t.seed, t.shift)
	if k := t.at(s); k != 0 {
		if e := &t.entries[k-1]; e.w0 == w0 && e.w1 == w1 && len(e.name) == n {
			return e
		}
		if !t.perfect {
			return t.probe(w0, w1, n, s)
		}
	}
	return nil
}

// probe is short past the name's own slot s, in a table that is not
// perfect. Kept out of line: a lookup in a perfect table, the common case,
// never runs it.
//
//go:noinline
func (t *fastNames) probe(w0, w1 uint64, n int, s uint) *fastNameEntry {
	mask := uint(len(t.slots) - 1)
	for s = (s + 1) & mask; ; s = (s + 1) & mask {
		k := t.slots[s]
		if k == 0 {
			return nil
		}
		if e := &t.entries[k-1]; e.w0 == w0 && e.w1 == w1 && len(e.name) == n {
			return e
		}
	}
}
