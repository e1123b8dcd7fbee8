package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
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
