package contract

// fastNames finds what an object's schema says of a member name. It
// replaces a Go map on the hot path: a schema names few members, and a
// map's string hash costs more than the whole lookup here (an event's
// object members were ~2,300 of ~13,600 validation instructions, issue
// 15 point 3). The slot is chosen from the name's length and three of its
// bytes; a collision only costs a probe, since each candidate is
// confirmed by comparing the whole name.
type fastNames struct {
	slots   []uint32 // index+1 into entries; 0: empty. A power of two, at most half full
	entries []fastNameEntry
}

type fastNameEntry struct {
	name string
	fastMember
	// once is the entry's own bit (the first 64 entries; 0 for the
	// rest), with which a strict walk spots the name repeated in one
	// object without comparing names (fastNode.checkObject).
	once uint64
}

func nameSlot[T string | []byte](key T, mask uint) uint {
	n := uint(len(key))
	h := n * 0x9e3779b1
	if n > 0 {
		h ^= uint(key[0])*0x85eb + uint(key[n-1])*0xc2b3 + uint(key[n/2])*0x27d5
	}
	return (h ^ h>>13) & mask
}

// newFastNames builds the table of m.
func newFastNames(m map[string]fastMember) fastNames {
	size := 8
	for size < 2*len(m) {
		size *= 2
	}
	t := fastNames{slots: make([]uint32, size), entries: make([]fastNameEntry, 0, len(m))}
	mask := uint(size - 1)
	for name, v := range m {
		var once uint64
		if len(t.entries) < 64 {
			once = 1 << len(t.entries)
		}
		t.entries = append(t.entries, fastNameEntry{name, v, once})
		s := nameSlot(name, mask)
		for t.slots[s] != 0 {
			s = (s + 1) & mask
		}
		t.slots[s] = uint32(len(t.entries))
	}
	return t
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
	if len(t.slots) == 0 {
		return nil
	}
	mask := uint(len(t.slots) - 1)
	for s := nameSlot(key, mask); ; s = (s + 1) & mask {
		k := t.slots[s]
		if k == 0 {
			return nil
		}
		if e := &t.entries[k-1]; e.name == string(key) {
			return e
		}
	}
}
