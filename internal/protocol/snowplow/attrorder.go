package snowplow

import (
	"math/bits"
	"slices"
)

// knownAttrs are the names of up to eight bytes that Mapping lists and
// paramNames, in order, with their prefixes (namePrefix): attributes with these names are
// put in order by their rank in this table rather than sorted.
var knownAttrs = newKnownAttrs()

type knownAttr struct {
	prefix uint64
	n      int32
	// param is the name's index in paramNames, -1 for none.
	param int32
}

// paramRank is the rank in knownAttrs of each of paramNames.
var paramRank = rankParams(knownAttrs)

// knownSlots is an open-addressing table of knownAttrs: at
// knownSlot(prefix) or after it, the rank+1 of the known name with that
// prefix, 0 for none (then none is).
var knownSlots = slotKnownAttrs(knownAttrs)

const knownSlotsLen = 512

// maxKnownAttrs is the most known names: their ranks are bits of a [2]uint64.
const maxKnownAttrs = 128

// newKnownAttrs returns knownAttrs: paramNames and the names of up to
// eight bytes of Mapping, sorted, each once.
func newKnownAttrs() []knownAttr {
	names := slices.Clone(paramNames[:])
	for _, m := range Mapping() {
		if len(m.Param) <= 8 {
			names = append(names, m.Param)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) > maxKnownAttrs {
		panic("snowplow: too many known attribute names")
	}
	known := make([]knownAttr, 0, len(names))
	for _, name := range names {
		known = append(known, knownAttr{namePrefix([]byte(name)), int32(len(name)), int32(slices.Index(paramNames[:], name))})
	}
	return known
}

// rankParams returns paramRank for the known names.
func rankParams(known []knownAttr) [numParams]int32 {
	var rank [numParams]int32
	for r, k := range known {
		if k.param >= 0 {
			rank[k.param] = int32(r)
		}
	}
	return rank
}

// slotKnownAttrs returns knownSlots for the known names, put in by rank.
func slotKnownAttrs(known []knownAttr) [knownSlotsLen]uint8 {
	var slots [knownSlotsLen]uint8
	for r, k := range known {
		h := knownSlot(k.prefix)
		for slots[h] != 0 {
			h = (h + 1) % knownSlotsLen
		}
		slots[h] = uint8(r + 1)
	}
	return slots
}

// knownSlot is where in knownSlots a name with this prefix is looked for first.
func knownSlot(prefix uint64) uint {
	return uint((prefix * 0x9E3779B97F4A7C15) >> (64 - 9))
}

// knownRank is the rank in knownAttrs of the name of n bytes with this
// prefix, or -1 if it is not one of them.
func knownRank(prefix uint64, n int) int {
	if n > 8 {
		return -1
	}
	for h := knownSlot(prefix); ; h = (h + 1) % knownSlotsLen {
		r := int(knownSlots[h]) - 1
		if r < 0 {
			return -1
		}
		if k := &knownAttrs[r]; k.prefix == prefix && int(k.n) == n {
			return r
		}
	}
}

// addAttr appends f, whose name has this prefix and rank in knownAttrs
// (-1 for none), to d.attrs, and remembers where for orderKnown: a known
// name by its rank, another in d.order.
func (d *decoder) addAttr(f field, prefix uint64, r int) {
	i := int32(len(d.attrs))
	d.attrs = append(d.attrs, f)
	if r < 0 {
		d.order = append(d.order, attrOrder{prefix, i})
		return
	}
	if d.known[r>>6]&(1<<(r&63)) != 0 {
		d.attrsTwice = true
		return
	}
	d.known[r>>6] |= 1 << (r & 63)
	if d.knownAt != nil {
		d.knownAt[r] = i
	}
}

// orderKnown sets d.order to the order of d.attrs by name, exactly as
// sortAttrs does, from what addAttr found of them, when no name is in
// d.attrs twice: the attributes with a known name by their rank, the
// others (few, usually none, in d.order) sorted by insertion and merged
// with them. It reports false, d.order to be rebuilt, when it cannot (a
// name twice, too many attributes, no scratch, or ways.sortAll).
func (d *decoder) orderKnown() bool {
	if d.attrsTwice || d.knownAt == nil || len(d.attrs) > maxInsertionSort || d.sortAll {
		return false
	}
	o := d.order
	// The other names, sorted by insertion.
	for i := 1; i < len(o); i++ {
		x, j := o[i], i
		for ; j > 0 && (x.prefix < o[j-1].prefix || x.prefix == o[j-1].prefix && d.attrName(x) < d.attrName(o[j-1])); j-- {
			o[j] = o[j-1]
		}
		o[j] = x
	}
	for k := 1; k < len(o); k++ {
		if o[k].prefix == o[k-1].prefix && d.attrName(o[k]) == d.attrName(o[k-1]) {
			return false
		}
	}
	// Merged after them, then moved to the front. A known name is never
	// one of the others, so no two compare equal.
	u := len(o)
	next := 0
	for w, m := range d.known {
		for ; m != 0; m &= m - 1 {
			r := w<<6 | bits.TrailingZeros64(m)
			k := attrOrder{knownAttrs[r].prefix, d.knownAt[r]}
			for next < u && (o[next].prefix < k.prefix || o[next].prefix == k.prefix && d.attrName(o[next]) < d.attrName(k)) {
				o = append(o, o[next])
				next++
			}
			o = append(o, k)
		}
	}
	o = append(o, o[next:u]...)
	d.order = append(o[:0], o[u:]...)
	return true
}
