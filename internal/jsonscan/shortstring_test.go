package jsonscan

import (
	"bytes"
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
					if fill != 'a' && bytes.IndexByte(interestingBytes, byte(c)) < 0 && c >= 0x20 {
						continue
					}
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

// scanStringByteByByte is scanString read one byte at a time, as it was
// before it read words: the reference it is held to.
func scanStringByteByByte(b []byte, i int) (end int, esc bool, err error) {
	for i++; i < len(b); {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return len(b), esc, errAt(len(b), "unexpected end of input inside a string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(b) {
						return len(b), esc, errAt(len(b), "unexpected end of input inside a string")
					}
					if !isHex(b[k]) {
						return k, esc, errAt(k, "invalid "+describe(b[k])+" in \\u hexadecimal character escape")
					}
				}
				i += 6
			default:
				return i + 1, esc, errAt(i+1, "invalid "+describe(b[i+1])+" in string escape code")
			}
		case c < 0x20:
			return i, esc, errAt(i, "invalid "+describe(c)+" in string literal (control characters must be escaped)")
		default:
			i++
		}
	}
	return i, esc, errAt(i, "unexpected end of input inside a string (is a closing quote missing?)")
}

func checkScanString(t *testing.T, b []byte, i int) {
	t.Helper()
	end, esc, err := scanString(b, i)
	rend, resc, rerr := scanStringByteByByte(b, i)
	same := (err == nil) == (rerr == nil)
	if err != nil && same {
		se, rse := err.(*SyntaxError), rerr.(*SyntaxError)
		same = se.Offset == rse.Offset && se.Msg == rse.Msg
	}
	if end != rend || esc != resc || !same {
		t.Fatalf("scanString(%q, %d) = %d, %v, %v; byte by byte %d, %v, %v", b, i, end, esc, err, rend, resc, rerr)
	}
}

// TestScanStringMatchesByteByByte puts every byte value at every place
// of strings up to two words and more long (so at every place of a word), among
// ASCII and non-ASCII bytes, before a second special byte or not, with b
// ending at the string's end, and before and after it.
func TestScanStringMatchesByteByByte(t *testing.T) {
	for n := 0; n <= 17; n++ {
		for pos := -1; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				if pos < 0 && c > 0 {
					break
				}
				for _, fill := range []byte{'a', 0x80, 0xe2, 0xff} {
					for _, after := range []byte{'b', '"', '\\', 0xc3} {
						// Every byte value among plain bytes, the
						// interesting ones among the others.
						if (fill != 'a' || after != 'b') && bytes.IndexByte(interestingBytes, byte(c)) < 0 && c >= 0x20 {
							continue
						}
						lit := make([]byte, 0, n+24)
						lit = append(lit, '"')
						for range n {
							lit = append(lit, fill)
						}
						if pos >= 0 {
							lit[1+pos] = byte(c)
							if pos+2 < n {
								lit[n] = after
							}
						}
						lit = append(lit, `"u0041"x`...)
						// Cut where the string ends or would, and
						// within the word after.
						for _, cut := range []int{n + 1, n + 2, n + 3, n + 6, len(lit)} {
							checkScanString(t, lit[:min(cut, len(lit))], 0)
						}
					}
				}
			}
		}
	}
}

// interestingBytes are those a word test may get wrong.
var interestingBytes = []byte{'"', '\\', 0x1f, 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x5c, 0x7f, 0x80, 0x9f, 0xa0, 0xc3, 0xdf, 0xe2, 0xff}

// FuzzScanString holds scanString to the byte-at-a-time reading on any
// bytes, from any place.
func FuzzScanString(f *testing.F) {
	for _, s := range []string{`"a"`, `"1234567"`, `"12345678"`, "\"caf\xc3\xa9 \xe2\x80\xa8 x\"", "\"1234567\xff\"", `"a\"b\\c\u00e9\n"`, "\"\x1f\"", `"\u12G4"`, `"abc`, "\"\xff\xff\xff\xff\xff\xff\xff\xff\xff\\"} {
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, b []byte, i int) {
		if i < 0 || i >= len(b) {
			return
		}
		b[i] = '"'
		checkScanString(t, b, i)
	})
}
