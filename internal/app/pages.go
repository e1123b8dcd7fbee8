package app

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// cleanReadOnlyFileMappings returns the address ranges of the private,
// read-only file mappings listed in r (the format of /proc/self/smaps)
// that hold only the file's own pages: the executable's code, its read-only
// data and tables, and those of the shared libraries it loaded.
//
// A mapping with anonymous pages is left out: the dynamic loader writes
// relocations into a library's RELRO region and then makes it read-only,
// so such a mapping reads r--p yet holds data found nowhere in the file,
// and dropping it would bring back the unrelocated bytes. Writable and
// shared mappings are never returned either.
func cleanReadOnlyFileMappings(r io.Reader) [][2]uintptr {
	var (
		out        [][2]uintptr
		cur        [2]uintptr
		candidate  bool
		anonymous  = -1 // KiB; -1 until the mapping's Anonymous line is read
		flushMatch = func() {
			if candidate && anonymous == 0 {
				out = append(out, cur)
			}
		}
	)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if strings.HasSuffix(f[0], ":") {
			// A field of the current mapping, such as "Anonymous:  0 kB".
			if f[0] == "Anonymous:" && len(f) >= 2 {
				if n, err := strconv.Atoi(f[1]); err == nil {
					anonymous = n
				}
			}
			continue
		}
		// A mapping's first line:
		// 00400000-01bac000 r-xp 00000000 fe:00 9981837   /usr/bin/accord
		flushMatch()
		candidate, anonymous = false, -1
		if len(f) < 6 || !strings.HasPrefix(f[5], "/") || (f[1] != "r-xp" && f[1] != "r--p") {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		cur, candidate = [2]uintptr{uintptr(start), uintptr(end)}, true
	}
	flushMatch()
	return out
}
