package contract

import "testing"

// quickURIReference is quickURI as it read a URI byte by byte before it
// read bytes by class: the reference the faster one is held to.
func quickURIReference(s []byte) bool {
	i := 0
	for i < len(s) && (isAlpha(s[i]) || i > 0 && (isDigit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) {
		i++
	}
	if i == 0 || i >= len(s) || s[i] != ':' {
		return false
	}
	s = s[i+1:]
	if len(s) >= 2 && s[0] == '/' && s[1] == '/' {
		s = s[2:]
		end := 0
		for end < len(s) && s[end] != '/' && s[end] != '?' && s[end] != '#' {
			end++
		}
		host := s[:end]
		if c := lastColonReference(host); c >= 0 {
			if _, ok := digitsReference(host[c+1:]); !ok {
				return false
			}
			host = host[:c]
		}
		if len(host) == 0 {
			return false
		}
		for _, c := range host {
			if !isAlpha(c) && !isDigit(c) && c != '.' && c != '-' {
				return false
			}
		}
		s = s[end:]
	} else if len(s) == 0 || s[0] == '?' || s[0] == '#' {
		return false
	}
	hashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlpha(c) || isDigit(c):
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		case c == '#':
			hashes++
			if hashes > 1 {
				return false
			}
		default:
			switch c {
			case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '/', '?':
			default:
				return false
			}
		}
	}
	return true
}

func lastColonReference(s []byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}

var uriSeeds = []string{
	"https://shop.example/p/1234", "https://shop.example.com/p/42?utm_source=x&y=%20#frag", "http://h:8080/", "http://h:/",
	"http://[::1]/", "http://u@h/", "urn:isbn:0451450523", "mailto:a@b.co", "http:", "http://", "1http://x", "http://x/%zz",
	"http://a b/", "http://x/#a#b", "HTTP://X.Y", "a:b:c", "http://x?%", "x://-./", "http://h:1:2/", "http://:80/",
	"http://h:80", "http://h:80x", "http://h#", "http://h?", "a+b-c.d://x", "a_b://x", "http://h/%4", "http://h/%4g",
	"http://h/\x80", "http://h\x80/", "h\x80://x", "http:/rooted", "http:?q", "http:#f", "://x", ":", "a:", "http://h/a b",
}

func TestQuickURIMatchesReference(t *testing.T) {
	for _, s := range uriSeeds {
		if got, want := quickURI([]byte(s)), quickURIReference([]byte(s)); got != want {
			t.Errorf("quickURI(%q) = %v, the reference says %v", s, got, want)
		}
	}
	// Every byte in every position of a URI with each part.
	for _, base := range []string{"ab://host.example:80/p?q#f", "ab:opaque/p"} {
		for i := 0; i <= len(base); i++ {
			for c := range 256 {
				inserted := base[:i] + string([]byte{byte(c)}) + base[i:]
				replaced := base[:i] + string([]byte{byte(c)}) + base[min(i+1, len(base)):]
				for _, s := range []string{inserted, replaced} {
					if got, want := quickURI([]byte(s)), quickURIReference([]byte(s)); got != want {
						t.Fatalf("quickURI(%q) = %v, the reference says %v", s, got, want)
					}
				}
			}
		}
	}
}

func FuzzQuickURI(f *testing.F) {
	for _, s := range uriSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		if got, want := quickURI(s), quickURIReference(s); got != want {
			t.Errorf("quickURI(%q) = %v, the reference says %v", s, got, want)
		}
	})
}

func digitsReference(s []byte) (int, bool) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

// two reads every pair of bytes as the loop it replaced in the date and
// time checks did.
func TestTwoMatchesDigits(t *testing.T) {
	for a := range 256 {
		for b := range 256 {
			s := []byte{byte(a), byte(b)}
			gv, gok := two(s)
			wv, wok := digitsReference(s)
			if gok != wok || gok && gv != wv {
				t.Fatalf("two(%q) = %d, %v; want %d, %v", s, gv, gok, wv, wok)
			}
		}
	}
}
