package pipeline

import (
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
	"time"
)

// idGenerator makes the ids Accord gives events that came without one:
// UUIDv7s (RFC 9562), time-ordered, so stores indexed on event_id (SQLite's
// primary key, for one) append to the index instead of writing to a random
// page of it per event, which measured three times faster. Within a
// millisecond, ids stay ordered by a 12-bit sub-millisecond sequence (the
// RFC's method 3, as github.com/google/uuid's NewV7 does it), kept per
// pipeline and advanced without a lock. The rest is random.
type idGenerator struct {
	// last is the last id's 48-bit millisecond and 12-bit sequence, as
	// milli<<12 | seq.
	last atomic.Int64
	// now is the clock; nil is time.Now.
	now func() time.Time
}

// append appends a new UUIDv7 in its 36-character text form to b.
func (g *idGenerator) append(b []byte) []byte {
	var id [16]byte
	// crypto/rand.Read never fails (it crashes the program if the
	// system's random source does).
	_, _ = rand.Read(id[:])
	clock := time.Now
	if g.now != nil {
		clock = g.now
	}
	nano := clock().UnixNano()
	milli := nano / 1e6
	// The sequence is the sub-millisecond time in units of 256 ns (0 to
	// 3906), pushed past the last id's when the clock has not moved on.
	stamp := milli<<12 | (nano-milli*1e6)>>8
	for {
		last := g.last.Load()
		if stamp <= last {
			stamp = last + 1
		}
		if g.last.CompareAndSwap(last, stamp) {
			break
		}
	}
	milli, seq := stamp>>12, stamp&0xfff
	id[0], id[1], id[2], id[3], id[4], id[5] = byte(milli>>40), byte(milli>>32), byte(milli>>24), byte(milli>>16), byte(milli>>8), byte(milli)
	id[6] = 0x70 | byte(seq>>8)&0x0f
	id[7] = byte(seq)
	id[8] = id[8]&0x3f | 0x80 // the RFC's variant
	text := uuidText(&id)
	return append(b, text[:]...)
}

// uuidText is id's 36-character text form, 8-4-4-4-12 lower-case
// hexadecimal digits: four bytes at a time (hex8). A lookup a byte took
// about 450 instructions an id for the text; this, about 240.
func uuidText(id *[16]byte) [36]byte {
	var text [36]byte
	be := binary.BigEndian
	be.PutUint64(text[0:], hex8(be.Uint32(id[0:])))
	mid := hex8(be.Uint32(id[4:]))
	be.PutUint32(text[9:], uint32(mid>>32))
	be.PutUint32(text[14:], uint32(mid))
	mid = hex8(be.Uint32(id[8:]))
	be.PutUint32(text[19:], uint32(mid>>32))
	be.PutUint32(text[24:], uint32(mid))
	be.PutUint64(text[28:], hex8(be.Uint32(id[12:])))
	text[8], text[13], text[18], text[23] = '-', '-', '-', '-'
	return text
}

// hex8 is x's eight hexadecimal digits, the first in the top byte: each
// nibble is spread to a byte of its own, then '0' is added to each and
// 'a'-'0'-10 more to those over 9. No byte carries into the next (the
// largest, 15+'a'-10, is under 256).
func hex8(x uint32) uint64 {
	v := uint64(x)
	v = (v | v<<16) & 0x0000ffff0000ffff
	v = (v | v<<8) & 0x00ff00ff00ff00ff
	v = (v | v<<4) & 0x0f0f0f0f0f0f0f0f
	over9 := (v + 0x0606060606060606) >> 4 & 0x0101010101010101
	return v + 0x3030303030303030 + over9*('a'-'0'-10)
}

// hexPairs holds the two lower-case hexadecimal digits of each byte value,
// at twice the value: one lookup a byte where encoding/hex makes two.
const hexPairs = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" +
	"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f" +
	"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f" +
	"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f" +
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f" +
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf" +
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf" +
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"

// appendHex appends v in lower-case hexadecimal without leading zeros,
// the same text as strconv.AppendUint(b, v, 16), two digits a lookup.
func appendHex(b []byte, v uint64) []byte {
	var text [16]byte
	for k := 14; k >= 0; k -= 2 {
		text[k], text[k+1] = hexPairs[2*(v&0xff)], hexPairs[2*(v&0xff)+1]
		v >>= 8
	}
	skip := 0
	for skip < 15 && text[skip] == '0' {
		skip++
	}
	return append(b, text[skip:]...)
}
