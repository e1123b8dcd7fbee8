package app

import (
	"bufio"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/accord-events/accord/internal/testenv"
)

// exeRSS is the RSS, in KiB, of this process's read-only mappings of its
// own executable (/proc/self/smaps).
func exeRSS(t *testing.T) int {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		testenv.Missing(t, "no /proc/self/exe: %v", err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		testenv.Missing(t, "no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	kib, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		if !strings.HasSuffix(fs[0], ":") {
			in = len(fs) >= 6 && fs[5] == exe && (fs[1] == "r-xp" || fs[1] == "r--p")
			continue
		}
		if in && fs[0] == "Rss:" {
			n, _ := strconv.Atoi(fs[1])
			kib += n
		}
	}
	return kib
}

func TestReleaseStartupPages(t *testing.T) {
	before := exeRSS(t)
	if n := ReleaseStartupPages(); n == 0 {
		t.Fatal("released nothing")
	}
	after := exeRSS(t)
	t.Logf("executable's read-only pages: %d KiB before, %d KiB after", before, after)
	// The test binary's start touched most of what it runs; what this test
	// uses between the two readings comes back, much less than that.
	if after >= before {
		t.Fatalf("the executable's RSS did not fall: %d KiB before, %d KiB after", before, after)
	}

	// The process runs on: new OS threads (with cgo, created by libc's
	// pthread_create through the dynamic loader's relocated tables, which
	// a careless release would have reverted to the file's bytes), name
	// lookups, and the code released.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // ends the thread when the goroutine exits
			if _, err := net.LookupHost("localhost"); err != nil {
				t.Errorf("lookup after the release: %v", err)
			}
		}()
	}
	wg.Wait()
	if got := cleanReadOnlyFileMappings(strings.NewReader("00400000-00401000 r-xp 0 0:0 1 /x\nAnonymous: 0 kB\n")); len(got) != 1 {
		t.Fatalf("after the release: %v", got)
	}
}
