package app

import (
	"os"
	"syscall"
)

// ReleaseStartupPages unmaps the pages of the executable (and of the shared
// libraries it loaded) that are mapped read-only and unchanged from their
// file, and returns how many bytes of address space it went over.
//
// Starting touches much of the binary once: the dynamic loader's
// relocations, every package's initialisation (the SQLite library's, the
// drivers' and parsers' tables), reading the configuration and loading the
// contracts. Linux counts every page of the file a process has mapped in its
// RSS, and maps 64 KiB around each page touched, so at idle these pages were
// about 28 MiB of accord serve's RSS, most of them never used again. Once
// started, the pages still in use come back on their next touch, from the
// page cache (a minor fault, no disk read); the others no longer count.
// Nothing is lost: these are clean pages of files, which the kernel may
// take away from any process at any time when memory is short; this only
// does it now. Mappings that hold pages the process wrote (its data, the
// libraries' relocated RELRO regions) are left alone.
func ReleaseStartupPages() uintptr {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0
	}
	ranges := cleanReadOnlyFileMappings(f)
	f.Close()
	var n uintptr
	for _, r := range ranges {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, r[0], r[1]-r[0], syscall.MADV_DONTNEED); errno == 0 {
			n += r[1] - r[0]
		}
	}
	return n
}
