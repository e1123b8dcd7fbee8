package contract

// Format checks on the fast path. The library's checks take an any and a
// string, and its Validate wraps them in a validator: about 8 allocations
// and a net/url parse per checked string. The common formats therefore get a
// check of their own that reads the string's bytes and allocates nothing.
// Each one is only trusted to say "valid": it accepts a strict, plain
// subset of what the library accepts (no leap second, no IPv6 host, no user
// info, no character outside the plain ASCII set), and whatever it does not
// accept goes to the library's check (the very function the stock validator
// runs), which decides valid or invalid. FuzzFastFormats holds each to the
// library's verdict.

// fastFormat is one format's check.
type fastFormat struct {
	// quick says "certainly valid" from the bytes; nil for formats
	// without one.
	quick func([]byte) bool
	// lib is the library's own check, the one the stock validator runs.
	lib func(any) error
}

func (f *fastFormat) valid(s []byte) bool {
	if f.quick != nil && f.quick(s) {
		return true
	}
	return f.lib(string(s)) == nil
}

// quickFormats are the formats with a check of their own.
var quickFormats = map[string]func([]byte) bool{
	"date-time": quickDateTime,
	"date":      quickDate,
	"time":      quickTime,
	"uri":       quickURI,
	"uuid":      quickUUID,
}

// two reads the two decimal digits s[0] and s[1], and reports whether both
// are digits. Dates and times are read two digits at a time, without a
// loop: they are on the hot path (issue 15 point 3).
func two(s []byte) (int, bool) {
	a, b := s[0]-'0', s[1]-'0'
	return int(a)*10 + int(b), a <= 9 && b <= 9
}

// quickDate accepts YYYY-MM-DD with a day that exists in its month.
func quickDate(s []byte) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	yh, ok0 := two(s[0:2])
	yl, ok1 := two(s[2:4])
	m, ok2 := two(s[5:7])
	d, ok3 := two(s[8:10])
	y := yh*100 + yl
	if !ok0 || !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// quickTime accepts hh:mm:ss, an optional fraction of digits, and Z, z or
// an offset ±hh:mm; no leap second (second 60 depends on the offset, so the
// library decides).
func quickTime(s []byte) bool {
	if len(s) < 9 || s[2] != ':' || s[5] != ':' {
		return false
	}
	h, ok1 := two(s[0:2])
	m, ok2 := two(s[3:5])
	sec, ok3 := two(s[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 59 {
		return false
	}
	s = s[8:]
	if len(s) > 0 && s[0] == '.' {
		n := 1
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		s = s[n:]
	}
	if len(s) == 1 {
		return s[0] == 'Z' || s[0] == 'z'
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return false
	}
	zh, ok1 := two(s[1:3])
	zm, ok2 := two(s[4:6])
	return ok1 && ok2 && zh <= 23 && zm <= 59
}

// quickDateTime accepts a quickDate, T or t, and a quickTime.
func quickDateTime(s []byte) bool {
	return len(s) >= 20 && (s[10] == 'T' || s[10] == 't') && quickDate(s[:10]) && quickTime(s[11:])
}

// quickUUID accepts 8-4-4-4-12 hex digits.
func quickUUID(s []byte) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// quickURI accepts an absolute URI of plain ASCII: a scheme, then either an
// authority (//host, a name of letters, digits, dots and hyphens, with an
// optional port of digits) or an opaque or rooted path, then a path, query
// and fragment of unreserved characters, sub-delims, ':', '@', '/', '?' and
// %-escapes of two hex digits.
//
// It reads each byte once, by its class in uriBytes: it is on the hot path
// for every uri-formatted string (about 580 instructions for a 27-byte URL
// byte by byte, issue 15 point 3). TestQuickURIMatchesReference and
// FuzzQuickURI hold it to the byte-by-byte reading it replaced.
func quickURI(s []byte) bool {
	if len(s) == 0 || uriBytes[s[0]]&uriAlpha == 0 {
		return false
	}
	i := 1
	for i < len(s) && uriBytes[s[i]]&uriScheme != 0 {
		i++
	}
	if i >= len(s) || s[i] != ':' {
		return false
	}
	s = s[i+1:]
	if len(s) >= 2 && s[0] == '/' && s[1] == '/' {
		s = s[2:]
		// The host: a name, then an optional port of digits, up to the
		// path, the query or the fragment.
		end := 0
		for end < len(s) && uriBytes[s[end]]&uriHost != 0 {
			end++
		}
		if end == 0 {
			return false
		}
		if end < len(s) && s[end] == ':' {
			port := end + 1
			for port < len(s) && isDigit(s[port]) {
				port++
			}
			if port == end+1 {
				return false
			}
			end = port
		}
		if end < len(s) && s[end] != '/' && s[end] != '?' && s[end] != '#' {
			return false
		}
		s = s[end:]
	} else if len(s) == 0 || s[0] == '?' || s[0] == '#' {
		return false
	}
	hashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if uriBytes[c]&uriPath != 0 {
			continue
		}
		switch c {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		case '#':
			hashes++
			if hashes > 1 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// The classes of bytes quickURI reads.
const (
	uriAlpha  = 1 << iota // a letter: a scheme's first byte
	uriScheme             // a letter, a digit, '+', '-' or '.'
	uriHost               // a letter, a digit, '.' or '-'
	uriPath               // a letter, a digit, unreserved or a sub-delim, ':', '@', '/' or '?'
)

var uriBytes = func() (t [256]uint8) {
	for c := range 256 {
		b := byte(c)
		alnum := isAlpha(b) || isDigit(b)
		if isAlpha(b) {
			t[c] |= uriAlpha
		}
		if alnum || b == '+' || b == '-' || b == '.' {
			t[c] |= uriScheme
		}
		if alnum || b == '.' || b == '-' {
			t[c] |= uriHost
		}
		switch {
		case alnum:
			t[c] |= uriPath
		default:
			switch b {
			case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '/', '?':
				t[c] |= uriPath
			}
		}
	}
	return t
}()

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
