package registry

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
)

// genKeys returns n distinct keys spread over vendors and names, as a real
// contracts directory is.
func genKeys(n int) []contract.Key {
	keys := make([]contract.Key, n)
	for i := range keys {
		keys[i] = contract.Key{
			Vendor:  fmt.Sprintf("com.vendor%d", i%37),
			Name:    fmt.Sprintf("event_%d", i/10),
			Format:  "jsonschema",
			Version: contract.SchemaVer{Model: 1, Revision: 0, Addition: i % 10},
		}
	}
	return keys
}

// genContracts compiles the 10,000 generated contracts once for every
// benchmark that needs them.
var genContracts = sync.OnceValues(func() ([]*contract.Contract, error) {
	keys := genKeys(10_000)
	out := make([]*contract.Contract, len(keys))
	for i, k := range keys {
		c, err := contract.Compile(schemaDoc(k), k, "gen")
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
})

func benchContracts(b *testing.B, n int) []*contract.Contract {
	b.Helper()
	all, err := genContracts()
	if err != nil {
		b.Fatal(err)
	}
	return all[:n]
}

// BenchmarkResolveCachedHit is an event whose contract came from a backend
// and is in the cache: the local registry misses, the cache hits.
func BenchmarkResolveCachedHit(b *testing.B) {
	local := contract.NewSet(benchContracts(b, 100))
	r := NewResolver(local, []Backend{newFake("one", keyB)}, CacheOptions{})
	if _, err := r.Resolve(keyB); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Resolve(keyB); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.Resolve(keyB); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkResolveLocal is an event whose contract is in the contracts
// directory: the Resolver adds nothing to the local registry's lookup.
func BenchmarkResolveLocal(b *testing.B) {
	cs := benchContracts(b, 100)
	local := contract.NewSet(cs)
	r := NewResolver(local, []Backend{newFake("one")}, CacheOptions{})
	key := cs[42].URI
	b.Run("registry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := local.Resolve(key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("resolver", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Resolve(key); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkResolveWithNContracts shows that a lookup costs the same however
// many contracts there are: N contracts in the local registry, or N in the
// cache, looked up in turn.
func BenchmarkResolveWithNContracts(b *testing.B) {
	for _, n := range []int{100, 1000, 10_000} {
		cs := benchContracts(b, n)
		keys := make([]string, n)
		for i, c := range cs {
			keys[i] = c.URI
		}
		b.Run(fmt.Sprintf("local/N=%d", n), func(b *testing.B) {
			r := NewResolver(contract.NewSet(cs), nil, CacheOptions{})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := r.Resolve(keys[i]); err != nil {
					b.Fatal(err)
				}
				i++
				if i == n {
					i = 0
				}
			}
		})
		b.Run(fmt.Sprintf("cached/N=%d", n), func(b *testing.B) {
			back := &fakeBackend{name: "one", docs: map[string][]byte{}}
			for _, c := range cs {
				back.docs[c.URI] = c.Document
			}
			r := NewResolver(contract.NewSet(nil), []Backend{back}, CacheOptions{MaxEntries: n})
			for _, k := range keys {
				if _, err := r.Resolve(k); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if _, err := r.Resolve(keys[i]); err != nil {
					b.Fatal(err)
				}
				i++
				if i == n {
					i = 0
				}
			}
			if f := back.count(); f != n {
				b.Fatalf("%d fetches, want %d: the cache did not hold every contract", f, n)
			}
		})
	}
}

// BenchmarkCompile10000Contracts is start-up with a large contracts
// directory: compiling 10,000 small contracts into a registry. It reports the
// time per contract and the heap the compiled registry keeps.
func BenchmarkCompile10000Contracts(b *testing.B) {
	keys := genKeys(10_000)
	docs := make([][]byte, len(keys))
	for i, k := range keys {
		docs[i] = schemaDoc(k)
	}
	var heap, perContract float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		cs := make([]*contract.Contract, len(keys))
		for i, k := range keys {
			c, err := contract.Compile(docs[i], k, "gen")
			if err != nil {
				b.Fatal(err)
			}
			cs[i] = c
		}
		reg := contract.NewSet(cs)
		elapsed := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		if reg.Len() != len(keys) {
			b.Fatalf("registry holds %d contracts, want %d", reg.Len(), len(keys))
		}
		heap = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
		perContract = float64(elapsed.Microseconds()) / float64(len(keys))
		runtime.KeepAlive(reg)
	}
	b.ReportMetric(heap, "heap-MiB")
	b.ReportMetric(perContract, "µs/contract")
}
