package contract

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
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
// watcher's first load (what accord serve does) of 10,000 contract files. It
// reports the CPU time and the wall time of one load, the heap the loaded
// set keeps, and the allocations made per contract.
func BenchmarkLoadDir10000(b *testing.B) {
	const n = 10_000
	dir, _ := manyContractsDir(b, n)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var heap, cpu, wall, allocs float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		cpu0, start := cpuTime(b), time.Now()
		reg := NewSet(nil)
		w := NewWatcher(context.Background(), dir, reg, 0, log)
		wall += float64(time.Since(start).Milliseconds())
		cpu += float64((cpuTime(b) - cpu0).Milliseconds())
		runtime.GC()
		runtime.ReadMemStats(&after)
		if reg.Len() != n {
			b.Fatalf("set holds %d contracts, want %d", reg.Len(), n)
		}
		heap = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
		allocs = float64(after.Mallocs-before.Mallocs) / n
		w.Close()
		runtime.KeepAlive(reg)
	}
	b.ReportMetric(cpu/float64(b.N), "cpu-ms/load")
	b.ReportMetric(wall/float64(b.N), "wall-ms/load")
	b.ReportMetric(heap, "heap-MiB")
	b.ReportMetric(allocs, "allocs/contract")
}

// BenchmarkReloadOneOf10000 is a hot reload with 10,000 contracts loaded:
// one file changed, the watcher's poll recompiles it and swaps in the new
// set. An op is one such poll.
func BenchmarkReloadOneOf10000(b *testing.B) {
	const n = 10_000
	dir, paths := manyContractsDir(b, n)
	reg := NewSet(nil)
	w := NewWatcher(context.Background(), dir, reg, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer w.Close()
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
		cpu0 := cpuTime(b)
		rep, err := w.reload(false)
		cpu += float64((cpuTime(b) - cpu0).Microseconds())
		if err != nil || rep.Loaded != n || len(rep.Failed) != 0 {
			b.Fatalf("reload: %+v, %v", rep, err)
		}
	}
	b.ReportMetric(cpu/float64(b.N)/1000, "cpu-ms/reload")
}
