package jsonscan

import (
	"encoding/binary"
	"testing"
)

// shortStringByteByByte is ShortString read one byte at a time: the
// reference it is held to.
func shortStringByteByByte(b []byte, i int) (w0, w1 uint64, n int, ok bool) {
	p := i + 1
	if p < 0 || p > len(b) {
		return 0, 0, 0, false
	}
	n = -1
	for k := p; k < len(b) && k < p+16; k++ {
		c := b[k]
		if c == '"' {
			n = k - p
			break
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return 0, 0, 0, false
		}
	}
	if n < 0 {
		return 0, 0, 0, false // 16 bytes or more, or b ends first
	}
	// Enough bytes after the opening quote for the words read.
	if len(b)-p < 8 || (n >= 8 && len(b)-p < 16) {
		return 0, 0, 0, false
	}
	var buf [16]byte
	copy(buf[:], b[p:p+n])
	return binary.LittleEndian.Uint64(buf[:8]), binary.LittleEndian.Uint64(buf[8:]), n, true
}

func checkShortString(t *testing.T, b []byte, i int) {
	t.Helper()
	w0, w1, n, ok := ShortString(b, i)
	rw0, rw1, rn, rok := shortStringByteByByte(b, i)
	if w0 != rw0 || w1 != rw1 || n != rn || ok != rok {
		t.Fatalf("ShortString(%q, %d) = %#x, %#x, %d, %v; byte by byte %#x, %#x, %d, %v", b, i, w0, w1, n, ok, rw0, rw1, rn, rok)
	}
	if !ok {
		return
	}
	// What it reads is what StringEscaped reads.
	end, esc, err := StringEscaped(b, i)
	if err != nil || esc || end != i+n+2 {
		t.Fatalf("ShortString(%q, %d): n %d, but StringEscaped says end %d, escaped %v, %v", b, i, n, end, esc, err)
	}
}

// TestShortStringMatchesByteByByte puts every byte value at every place
// of strings of every length around the two words ShortString reads,
// among ASCII and non-ASCII bytes, with b ending around the words read.
func TestShortStringMatchesByteByByte(t *testing.T) {
	for n := 0; n <= 18; n++ {
		for pos := -1; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				if pos < 0 && c > 0 {
					break
				}
				for _, fill := range []byte{'a', 0x80, 0xe2, 0xff, '~'} {
					lit := make([]byte, 0, n+24)
					lit = append(lit, '"')
					for range n {
						lit = append(lit, fill)
					}
					if pos >= 0 {
						lit[1+pos] = byte(c)
					}
					lit = append(lit, '"')
					lit = append(lit, `,"x":1}]`...)
					lit = append(lit, make([]byte, 16)...)
					// b ending inside the string, at its end, and where
					// one or two words after its opening quote end.
					for _, cut := range []int{n, n + 1, n + 2, 8, 9, 10, 16, 17, 18, len(lit)} {
						if cut > 0 && cut <= len(lit) {
							checkShortString(t, lit[:cut], 0)
						}
					}
				}
			}
		}
	}
}

// FuzzShortString holds ShortString to the byte-at-a-time reading and to
// StringEscaped on any bytes, from any place.
func FuzzShortString(f *testing.F) {
	for _, s := range []string{`"a"`, `"1234567"x`, `"12345678"........`, `"123456789012345"xxxxxx`, `"1234567890123456"xxxxx`, `"a\"b"xxxxxxxxxxxxxxxx`, "\"\xe2\x80\xa8\"xxxxxxxxxx", "\"\x00\"xxxxxxxxxxxxxxxx", `""`} {
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, b []byte, i int) {
		if i < 0 || i >= len(b) {
			return
		}
		b[i] = '"'
		checkShortString(t, b, i)
	})
}
