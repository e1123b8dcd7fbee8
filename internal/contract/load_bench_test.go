package contract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// manyContractsDir writes n small generated contracts, spread over vendors
// and names as a real contracts directory is, under a temporary directory.
// Each is the shape BenchmarkCompile10000Contracts in internal/registry
// compiles: a self block, two typed properties, required and
// additionalProperties.
func manyContractsDir(b *testing.B, n int) (string, []string) {
	b.Helper()
	dir := b.TempDir()
	paths := make([]string, n)
	for i := range n {
		vendor, name, version := fmt.Sprintf("com.vendor%d", i%37), fmt.Sprintf("event_%d", i/10), fmt.Sprintf("1-0-%d", i%10)
		paths[i] = filepath.Join(dir, vendor, name, "jsonschema", version)
		if err := os.MkdirAll(filepath.Dir(paths[i]), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(paths[i], manyContractsDoc(vendor, name, version, 64), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir, paths
}

func manyContractsDoc(vendor, name, version string, maxLength int) []byte {
	return fmt.Appendf(nil, `{
	"$schema": %q,
	"self": {"vendor": %q, "name": %q, "format": "jsonschema", "version": %q},
	"type": "object",
	"properties": {"id": {"type": "string", "maxLength": %d}, "n": {"type": "integer", "minimum": 0}},
	"required": ["id"],
	"additionalProperties": false
}`, IgluMetaSchemaURI, vendor, name, version, maxLength)
}

// cpuTime is the CPU time the process has used, every thread counted (the
// garbage collector's too), which a machine shared with other work does not
// inflate the way it inflates the wall clock.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoadDir10000 is start-up with a large contracts directory: the
// watcher's first load (what accord serve does with hot reload off) of 10,000
// contract files. It reports the CPU time and the wall time of one load, the
// heap the loaded set keeps, and the allocations made per contract.
func BenchmarkLoadDir10000(b *testing.B) { benchmarkLoadDir(b, 0) }

// BenchmarkLoadDir10000Watched is the same load with hot reload on (what
// accord serve does by default): where the system notifies changes, the
// tree's directories are watched once the load is done, in the background,
// and the tree walked again (watch-cpu-ms); the watches are part of the
// heap kept.
func BenchmarkLoadDir10000Watched(b *testing.B) { benchmarkLoadDir(b, time.Hour) }

func benchmarkLoadDir(b *testing.B, interval time.Duration) {
	const n = 10_000
	dir, _ := manyContractsDir(b, n)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var heap, cpu, wall, allocs, watchCPU float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		cpu0, start := cpuTime(b), time.Now()
		reg := NewSet(nil)
		w := NewWatcher(context.Background(), dir, reg, interval, log)
		wall += float64(time.Since(start).Milliseconds())
		cpu1 := cpuTime(b)
		cpu += float64((cpu1 - cpu0).Milliseconds())
		<-w.watched
		watchCPU += float64((cpuTime(b) - cpu1).Milliseconds())
		runtime.GC()
		runtime.ReadMemStats(&after)
		if reg.Len() != n {
			b.Fatalf("set holds %d contracts, want %d", reg.Len(), n)
		}
		heap = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
		allocs = float64(after.Mallocs-before.Mallocs) / n
		if interval > 0 && notifySupported && w.currentNotify() == nil {
			b.Log("the directory is polled, not watched")
		}
		w.Close()
		runtime.KeepAlive(reg)
	}
	b.ReportMetric(cpu/float64(b.N), "cpu-ms/load")
	if interval > 0 {
		b.ReportMetric(watchCPU/float64(b.N), "watch-cpu-ms")
	}
	b.ReportMetric(wall/float64(b.N), "wall-ms/load")
	b.ReportMetric(heap, "heap-MiB")
	b.ReportMetric(allocs, "allocs/contract")
}

// BenchmarkReloadOneOf10000 is a hot reload with 10,000 contracts loaded:
// one file changed, the watcher's next reload recompiles it and swaps in the
// new set. An op is one such reload: poll walks the tree and compares every
// file (where notifications are not available); notify lists again the
// directory the change's event named.
func BenchmarkReloadOneOf10000(b *testing.B) {
	b.Run("poll", func(b *testing.B) { benchmarkReloadOne(b, false) })
	if notifySupported {
		b.Run("notify", func(b *testing.B) { benchmarkReloadOne(b, true) })
	}
}

// newBenchWatcher loads dir with a watcher whose goroutine never runs: the
// benchmark calls reload itself, and with notify reads the events too.
func newBenchWatcher(b *testing.B, dir string, notify bool) (*Watcher, *Set) {
	reg := NewSet(nil)
	w := NewWatcher(context.Background(), dir, reg, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	b.Cleanup(w.Close)
	if notify {
		w.useNotify = true
		if _, err := w.reload(true, nil, false); err != nil {
			b.Fatal(err)
		}
		if w.notify == nil {
			b.Skip("the benchmark's directory cannot be watched here")
		}
	}
	return w, reg
}

// nextEvents gathers the events that name path (and any before them).
func nextEvents(b *testing.B, w *Watcher, path string) map[string]fsnotify.Op {
	touched := map[string]fsnotify.Op{}
	timeout := time.After(10 * time.Second)
	for touched[path] == 0 {
		select {
		case ev := <-w.notify.Events:
			touched[ev.Name] |= ev.Op
		case err := <-w.notify.Errors:
			b.Fatal(err)
		case <-timeout:
			b.Fatalf("no event for %s", path)
		}
	}
	return touched
}

func benchmarkReloadOne(b *testing.B, notify bool) {
	const n = 10_000
	dir, paths := manyContractsDir(b, n)
	w, _ := newBenchWatcher(b, dir, notify)
	changed := paths[n/2]
	rel, _ := filepath.Rel(dir, changed)
	k, err := ParseKey(filepath.ToSlash(rel))
	if err != nil {
		b.Fatal(err)
	}
	mtime := time.Now()
	var cpu float64
	i := 0
	for b.Loop() {
		// A new body and a new modification time, as an edit makes.
		i++
		mtime = mtime.Add(time.Second)
		if err := os.WriteFile(changed, manyContractsDoc(k.Vendor, k.Name, k.Version.String(), 65+i%2), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Chtimes(changed, mtime, mtime); err != nil {
			b.Fatal(err)
		}
		var touched map[string]fsnotify.Op
		if notify {
			touched = nextEvents(b, w, changed)
		}
		cpu0 := cpuTime(b)
		rep, err := w.reload(false, touched, false)
		cpu += float64((cpuTime(b) - cpu0).Microseconds())
		if err != nil || rep.Loaded != n || len(rep.Failed) != 0 {
			b.Fatalf("reload: %+v, %v", rep, err)
		}
	}
	b.ReportMetric(cpu/float64(b.N)/1000, "cpu-ms/reload")
}

// BenchmarkIdleReload10000 is what hot reload costs while nothing changes,
// with 10,000 contracts loaded: an op is one reload that finds nothing to
// do. poll walks the tree and compares every file; notify has had no event.
func BenchmarkIdleReload10000(b *testing.B) {
	b.Run("poll", func(b *testing.B) { benchmarkIdleReload(b, false) })
	if notifySupported {
		b.Run("notify", func(b *testing.B) { benchmarkIdleReload(b, true) })
	}
}

func benchmarkIdleReload(b *testing.B, notify bool) {
	const n = 10_000
	dir, _ := manyContractsDir(b, n)
	w, _ := newBenchWatcher(b, dir, notify)
	var cpu float64
	for b.Loop() {
		cpu0 := cpuTime(b)
		_, err := w.reload(false, map[string]fsnotify.Op{}, false)
		cpu += float64((cpuTime(b) - cpu0).Microseconds())
		if !errors.Is(err, errUnchanged) {
			b.Fatalf("reload: %v, want nothing changed", err)
		}
	}
	b.ReportMetric(cpu/float64(b.N)/1000, "cpu-ms/reload")
}

// BenchmarkSetContracts is listing a set's contracts in key order, as
// accord serve does at start for the privacy stage to check each one.
func BenchmarkSetContracts(b *testing.B) {
	const n = 2_000
	cs := make([]*Contract, n)
	for i := range cs {
		vendor, name, version := fmt.Sprintf("com.vendor%d", i%37), fmt.Sprintf("event_%d", i/10), fmt.Sprintf("1-0-%d", i%10)
		c, err := Compile(manyContractsDoc(vendor, name, version, 64), Key{}, "")
		if err != nil {
			b.Fatal(err)
		}
		cs[i] = c
	}
	set := NewSet(cs)
	b.ReportAllocs()
	for b.Loop() {
		if got := set.Contracts(); len(got) != n {
			b.Fatalf("%d contracts, want %d", len(got), n)
		}
	}
}
