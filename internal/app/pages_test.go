package app

import (
	"reflect"
	"strings"
	"testing"
)

func TestCleanReadOnlyFileMappings(t *testing.T) {
	// Trimmed from a real accord serve's /proc/PID/smaps.
	smaps := `00400000-01bac000 r-xp 00000000 fe:00 9981837                            /usr/bin/accord
Size:              24240 kB
Rss:               13700 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me
01bac000-03469000 r--p 017ac000 fe:00 9981837                            /usr/bin/accord
Rss:               15100 kB
Anonymous:             0 kB
03469000-035c4000 rw-p 03069000 fe:00 9981837                            /usr/bin/accord
Rss:                 748 kB
Anonymous:           252 kB
035c4000-05800000 rw-p 00000000 00:00 0
Anonymous:           100 kB
c000000000-c004000000 rw-p 00000000 00:00 0
Anonymous:          4000 kB
7f2f518af000-7f2f518d7000 r--p 00000000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7f2f518d7000-7f2f51a5f000 r-xp 00028000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7f2f51a7f000-7f2f51a83000 r--p 001cf000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:            16 kB
7f2f51a83000-7f2f51a85000 rw-p 001d3000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             8 kB
7f1c2a400000-7f1c2a410000 rw-s 00000000 fe:00 456                        /data/accord.db-shm
Anonymous:             0 kB
7f1c2a500000-7f1c2a510000 r--s 00000000 fe:00 457                        /data/shared-ro
Anonymous:             0 kB
7f1c2a600000-7f1c2a610000 r--p 00000000 fe:00 789                        /usr/lib/locale/C.utf8/LC_CTYPE (deleted)
Anonymous:             0 kB
7f1c2a700000-7f1c2a710000 r--p 00000000 fe:00 790                        /no/anonymous/line
Rss:                   4 kB
7ffd1a5e0000-7ffd1a601000 rw-p 00000000 00:00 0                          [stack]
Anonymous:           132 kB
7ffd1a7f0000-7ffd1a7f4000 r--p 00000000 00:00 0                          [vvar]
Anonymous:             0 kB
7ffd1a7f4000-7ffd1a7f6000 r-xp 00000000 00:00 0                          [vdso]
Anonymous:             0 kB
7f1c2a800000-7f1c2a810000 r-xp 00000000 fe:00 791                        /last/one
Anonymous:             0 kB`
	got := cleanReadOnlyFileMappings(strings.NewReader(smaps))
	want := [][2]uintptr{
		{0x400000, 0x1bac000},
		{0x1bac000, 0x3469000},
		{0x7f2f518af000, 0x7f2f518d7000},
		{0x7f2f518d7000, 0x7f2f51a5f000},
		{0x7f1c2a600000, 0x7f1c2a610000},
		{0x7f1c2a800000, 0x7f1c2a810000},
	}
	// Writable, shared, anonymous and kernel mappings are never returned,
	// nor libc's RELRO region (read-only, but written by the loader), nor a
	// mapping whose anonymous pages are not known.
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %x\nwant %x", got, want)
	}
}
