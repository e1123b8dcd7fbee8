package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		offset uint64
		data   []byte
		last   bool
	}{
		{"empty", 1, nil, true},
		{"small", 42, []byte("hello"), false},
		{"binary", 1<<63 + 5, []byte{0, 0xff, 0x80, 0}, true},
		{"1 KiB", 7, bytes.Repeat([]byte("x"), 1024), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := appendFrame([]byte("prefix"), tc.offset, tc.data, tc.last)[len("prefix"):]
			if int64(len(b)) != frameSize(len(tc.data)) {
				t.Fatalf("frame is %d bytes, want %d", len(b), frameSize(len(tc.data)))
			}
			f, n, err := decodeFrame(append(b, "trailing"...))
			if err != nil || n != len(b) || f.offset != tc.offset || f.last != tc.last || !bytes.Equal(f.data, tc.data) {
				t.Fatalf("decode: %+v, %d, %v", f, n, err)
			}
			for cut := range len(b) {
				if _, _, err := decodeFrame(b[:cut]); !errors.Is(err, errTruncated) {
					t.Fatalf("cut at %d: %v, want errTruncated", cut, err)
				}
			}
			for i := range len(b) {
				bad := bytes.Clone(b)
				bad[i] ^= 1
				if f, _, err := decodeFrame(bad); err == nil {
					t.Fatalf("flip at %d decoded as %+v", i, f)
				}
			}
		})
	}
}

// FuzzDecodeFrame feeds the frame decoder arbitrary bytes, as a damaged
// segment would: it must not panic, must never return data whose checksum
// does not match, and must re-encode what it accepts to the same bytes.
func FuzzDecodeFrame(f *testing.F) {
	f.Add(appendFrame(nil, 1, []byte("hello"), true))
	f.Add(appendFrame(nil, 2, nil, false))
	f.Add([]byte{})
	f.Add(make([]byte, headerSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := decodeFrame(b)
		switch {
		case err == nil:
			if n < headerSize || n > len(b) || n != headerSize+len(fr.data) {
				t.Fatalf("accepted frame of %d bytes from %d bytes with %d data bytes", n, len(b), len(fr.data))
			}
			if crc32.Checksum(b[4:n], castagnoli) != binary.LittleEndian.Uint32(b) {
				t.Fatalf("accepted a frame whose checksum does not match")
			}
			if again := appendFrame(nil, fr.offset, fr.data, fr.last); !bytes.Equal(again, b[:n]) {
				t.Fatalf("re-encoded frame differs")
			}
		case errors.Is(err, errTruncated):
			if fr.data != nil || n <= len(b) || n > headerSize+MaxRecordBytes {
				t.Fatalf("truncated frame: data %v, need %d of %d bytes", fr.data != nil, n, len(b))
			}
		case errors.Is(err, errChecksum), errors.Is(err, errLength):
			if fr.data != nil {
				t.Fatalf("corrupt frame returned data")
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzScanTail gives recovery's scan of a last segment two intact batches
// followed by arbitrary bytes and then zeros, as a crash leaves a segment
// whose end was being written into space allocated ahead, or, with an end
// marker after the batches, one being written over a delivered segment's
// old bytes: it must keep the intact batches, account for every byte
// (kept, cut as torn, or left as reserved), and take the tail for reserved
// space exactly when it is all zeros or starts with the end marker for the
// offset that comes next.
func FuzzScanTail(f *testing.F) {
	intact := appendFrame(nil, 1, []byte("one"), true)
	intact = appendFrame(intact, 2, []byte("two"), false)
	intact = appendFrame(intact, 3, []byte("three"), true)
	old := appendFrame(nil, 1, []byte("an earlier life"), true)
	f.Add([]byte{}, uint16(0), false)
	f.Add([]byte{}, uint16(4096), false)
	f.Add(appendFrame(nil, 4, []byte("four"), true), uint16(100), false)
	f.Add(appendFrame(nil, 4, []byte("four"), false), uint16(0), false)
	f.Add(appendFrame(nil, 4, []byte("four"), true)[:10], uint16(50), false)
	f.Add([]byte{0, 0, 0, 1}, uint16(20), false)
	f.Add(old, uint16(0), true)
	f.Add(appendEndMarker(nil, 4), uint16(0), false)
	f.Add(appendEndMarker(nil, 3), uint16(0), false)
	f.Add(append(appendFrame(nil, 4, []byte("four"), true), appendEndMarker(nil, 5)...), uint16(0), false)
	f.Add(appendEndMarker(nil, 4)[:10], uint16(30), false)
	f.Fuzz(func(t *testing.T, tail []byte, zeros uint16, marked bool) {
		seg := bytes.Clone(intact)
		if marked {
			seg = appendEndMarker(seg, 4)
		}
		seg = append(append(seg, tail...), make([]byte, zeros)...)
		path := filepath.Join(t.TempDir(), segmentName(1))
		if err := os.WriteFile(path, seg, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		size := int64(len(seg))
		end, next, st, err := scanTail(file, 1, size)
		if err != nil {
			t.Fatalf("scanTail: %v", err)
		}
		if end < int64(len(intact)) || next < 4 {
			t.Fatalf("lost intact batches: end %d of %d, next %d", end, len(intact), next)
		}
		if marked && (end != int64(len(intact)) || !st.reused) {
			t.Fatalf("end marker after the intact batches not taken as their end: end %d of %d, reused %v", end, len(intact), st.reused)
		}
		if end+st.cut+st.reserved != size {
			t.Fatalf("end %d + cut %d + reserved %d != size %d", end, st.cut, st.reserved, size)
		}
		rest := seg[end:]
		allZero := !slices.ContainsFunc(rest, func(c byte) bool { return c != 0 })
		marker := isEndMarker(rest, next)
		if (allZero || marker) != (st.cut == 0) {
			t.Fatalf("bytes after the kept batches all zero: %v, an end marker: %v, but cut %d (reason %v)", allZero, marker, st.cut, st.reason)
		}
		if marker != st.reused {
			t.Fatalf("an end marker after the kept batches: %v, but reused %v", marker, st.reused)
		}
		if st.cut > 0 && st.reserved != 0 {
			t.Fatalf("a torn tail (%d bytes) with reserved space (%d): the cut takes it all", st.cut, st.reserved)
		}
	})
}
