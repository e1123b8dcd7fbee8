package event

import (
	"sync/atomic"
	"unsafe"
)

// Runs of an envelope's fields that are the same for most records are
// encoded once and copied: the protocol and the contract's schema, vendor,
// name and version (the strings of the contract the pipeline resolved),
// and the collector (the pipeline's own). Encoding them took a third of
// a record's encoding (docs/performance-log.md, the hot path's fourth pass).
//
// A cached run is used only when the record's strings equal the ones it
// was encoded from (a comparison that stops at the first pointer when they
// are the very same strings, as they are when they come from one contract),
// so the output is byte for byte what encoding them gives, whoever set the
// fields. A run is cached only the second time in a row that its slot sees
// the same strings (by their addresses), so records whose strings are
// made anew each time (a failed event's key, parsed from what the client
// sent) allocate nothing here, and two runs that share a slot do not
// replace each other on every record.

// fragmentSlots is the size of each cache: a power of two, larger than the
// number of contracts most streams of events name at a time.
const fragmentSlots = 256

// fragment is an encoded run and the strings it was encoded from.
type fragment struct {
	keys [5]string
	json []byte
}

// fragmentCache maps runs of strings to their encoding. It is safe for
// concurrent use: entries are never changed once stored.
type fragmentCache struct {
	slots [fragmentSlots]atomic.Pointer[fragment]
	// seen holds, for each slot, the addresses (mixed) of the strings it
	// last missed.
	seen [fragmentSlots]atomic.Uint64
}

// The caches are package state, an exception to the rule that state is
// passed to what uses it: Envelope.AppendJSON has many callers (delivery,
// the sinks, the inspector, tests) and no encoder object to hold them, and
// what they hold can never change an output (every use compares the
// strings by value), is bounded (2 × 256 entries) and is never changed
// once stored. An encoder owned by the pipeline would be the place for
// them if AppendJSON ever takes one.
var (
	keyFragments       fragmentCache
	collectorFragments fragmentCache
)

// slot returns the slot for the strings at the addresses p0 to p4, and
// their mix.
func slot(p0, p1, p2, p3, p4 *byte) (int, uint64) {
	// FNV-1a's steps on whole addresses: strings allocated at regular
	// strides must not mix to the same value.
	const prime = 0x100000001b3
	h := (uint64(uintptr(unsafe.Pointer(p0))) ^ 0xcbf29ce484222325) * prime
	h = (h ^ uint64(uintptr(unsafe.Pointer(p1)))) * prime
	h = (h ^ uint64(uintptr(unsafe.Pointer(p2)))) * prime
	h = (h ^ uint64(uintptr(unsafe.Pointer(p3)))) * prime
	h = (h ^ uint64(uintptr(unsafe.Pointer(p4)))) * 0x9e3779b97f4a7c15
	return int(h>>56) & (fragmentSlots - 1), h
}

// same reports whether a and b are equal, looking at no byte when they
// are the very same string.
func same(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

// remember caches run, the encoding of keys, in slot i if the slot missed
// the same strings (by their mix h) the last time.
func (c *fragmentCache) remember(i int, h uint64, keys [5]string, run []byte) {
	if c.seen[i].Swap(h) == h {
		c.slots[i].Store(&fragment{keys: keys, json: append([]byte(nil), run...)})
	}
}

// appendKeyRun appends the protocol, schema, vendor, name and version.
func (e *Envelope) appendKeyRun(dst []byte) []byte {
	i, h := slot(unsafe.StringData(e.Protocol), unsafe.StringData(e.Schema), unsafe.StringData(e.Vendor), unsafe.StringData(e.Name), unsafe.StringData(e.Version))
	if f := keyFragments.slots[i].Load(); f != nil && same(f.keys[0], e.Protocol) && same(f.keys[1], e.Schema) &&
		same(f.keys[2], e.Vendor) && same(f.keys[3], e.Name) && same(f.keys[4], e.Version) {
		return append(dst, f.json...)
	}
	start := len(dst)
	dst = append(dst, `,"protocol":`...)
	dst = appendString(dst, e.Protocol)
	dst = append(dst, `,"schema":`...)
	dst = appendString(dst, e.Schema)
	dst = append(dst, `,"vendor":`...)
	dst = appendString(dst, e.Vendor)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, e.Name)
	dst = append(dst, `,"version":`...)
	dst = appendString(dst, e.Version)
	keyFragments.remember(i, h, [5]string{e.Protocol, e.Schema, e.Vendor, e.Name, e.Version}, dst[start:])
	return dst
}

// appendCached appends the collector as a JSON object.
func (c *Collector) appendCached(dst []byte) []byte {
	i, h := slot(unsafe.StringData(c.Name), unsafe.StringData(c.Version), unsafe.StringData(c.Env), unsafe.StringData(c.Host), nil)
	if f := collectorFragments.slots[i].Load(); f != nil && same(f.keys[0], c.Name) && same(f.keys[1], c.Version) &&
		same(f.keys[2], c.Env) && same(f.keys[3], c.Host) {
		return append(dst, f.json...)
	}
	start := len(dst)
	dst = c.AppendJSON(dst)
	collectorFragments.remember(i, h, [5]string{c.Name, c.Version, c.Env, c.Host}, dst[start:])
	return dst
}
