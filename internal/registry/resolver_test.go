package registry

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/contract"
)

const (
	keyA = "iglu:com.acme/a/jsonschema/1-0-0"
	keyB = "iglu:com.acme/b/jsonschema/1-0-0"
	keyC = "iglu:com.acme/c/jsonschema/1-0-0"
	keyD = "iglu:com.acme/d/jsonschema/1-0-0"
)

func TestResolveOrder(t *testing.T) {
	local := contract.NewSet([]*contract.Contract{mustCompile(t, mustKey(t, keyA), "dir:"+keyA)})
	tests := []struct {
		name       string
		key        string
		backends   func() []*fakeBackend
		wantSource string // "" for an error
		wantErr    error
		wantIn     []string // substrings of the error
	}{
		{
			name:       "local first even when a backend has it",
			key:        keyA,
			backends:   func() []*fakeBackend { return []*fakeBackend{newFake("one", keyA)} },
			wantSource: "dir:" + keyA,
		},
		{
			name:       "first backend that has it wins",
			key:        keyB,
			backends:   func() []*fakeBackend { return []*fakeBackend{newFake("one", keyB), newFake("two", keyB)} },
			wantSource: "one:" + keyB,
		},
		{
			name:       "later backend when the first has not",
			key:        keyB,
			backends:   func() []*fakeBackend { return []*fakeBackend{newFake("one"), newFake("two", keyB)} },
			wantSource: "two:" + keyB,
		},
		{
			name: "later backend when the first fails",
			key:  keyB,
			backends: func() []*fakeBackend {
				one := newFake("one", keyB)
				one.fail = errDown
				return []*fakeBackend{one, newFake("two", keyB)}
			},
			wantSource: "two:" + keyB,
		},
		{
			name:       "key without iglu: prefix",
			key:        "com.acme/b/jsonschema/1-0-0",
			backends:   func() []*fakeBackend { return []*fakeBackend{newFake("one", keyB)} },
			wantSource: "one:" + keyB,
		},
		{
			name:     "no source has it",
			key:      keyB,
			backends: func() []*fakeBackend { return []*fakeBackend{newFake("one"), newFake("two")} },
			wantErr:  contract.ErrNotFound,
			wantIn:   []string{keyB, "one, two"},
		},
		{
			name:     "bad key",
			key:      "iglu:com.acme/b/1-0-0",
			backends: func() []*fakeBackend { return []*fakeBackend{newFake("one", keyB)} },
			wantErr:  contract.ErrBadKey,
		},
		{
			name: "failure when no other backend has it",
			key:  keyB,
			backends: func() []*fakeBackend {
				one := newFake("one")
				one.fail = errDown
				return []*fakeBackend{one, newFake("two")}
			},
			wantErr: errDown,
			wantIn:  []string{"registry backend one", keyB, "connection refused"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fakes := tc.backends()
			var bs []Backend
			for _, f := range fakes {
				bs = append(bs, f)
			}
			r, _ := newTestResolver(local, CacheOptions{}, bs...)
			c, err := r.Resolve(tc.key)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Resolve(%q) error = %v, want one wrapping %v", tc.key, err, tc.wantErr)
				}
				for _, s := range tc.wantIn {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tc.key, err)
			}
			if c.Source != tc.wantSource {
				t.Errorf("Source = %q, want %q", c.Source, tc.wantSource)
			}
		})
	}
}

func TestResolveWithoutLocalRegistry(t *testing.T) {
	r, _ := newTestResolver(nil, CacheOptions{}, newFake("one", keyB))
	if c, err := r.Resolve(keyB); err != nil || c.URI != keyB {
		t.Fatalf("Resolve = %v, %v", c, err)
	}
	if _, err := r.Resolve("nonsense"); !errors.Is(err, contract.ErrBadKey) {
		t.Fatalf("bad key error = %v, want ErrBadKey", err)
	}
}

func TestPositiveCacheExpiresAfterTTL(t *testing.T) {
	one := newFake("one", keyB)
	r, clk := newTestResolver(nil, CacheOptions{TTL: time.Minute}, one)
	first, err := r.Resolve(keyB)
	if err != nil {
		t.Fatal(err)
	}
	clk.advance(59 * time.Second)
	if c, _ := r.Resolve(keyB); c != first || one.count() != 1 {
		t.Fatalf("within TTL: same contract %v, fetches %d; want cached, 1 fetch", c == first, one.count())
	}
	clk.advance(time.Second)
	c, err := r.Resolve(keyB)
	if err != nil {
		t.Fatal(err)
	}
	if one.count() != 2 || c == first {
		t.Fatalf("after TTL: fetches %d, new contract %v; want 2 fetches and a fresh compilation", one.count(), c != first)
	}
}

func TestNegativeCacheExpires(t *testing.T) {
	one := newFake("one")
	r, clk := newTestResolver(nil, CacheOptions{NegativeTTL: 30 * time.Second}, one)
	for range 5 {
		if _, err := r.Resolve(keyB); !errors.Is(err, ErrNotFound) {
			t.Fatalf("error = %v, want ErrNotFound", err)
		}
	}
	if one.count() != 1 {
		t.Fatalf("fetches = %d for 5 lookups of an unknown key within NegativeTTL, want 1", one.count())
	}
	// The contract is published; the miss is still served until it expires.
	one.set(func(f *fakeBackend) { f.docs[keyB] = schemaDoc(mustKey(t, keyB)) })
	clk.advance(29 * time.Second)
	if _, err := r.Resolve(keyB); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before NegativeTTL: error = %v, want the cached miss", err)
	}
	clk.advance(time.Second)
	if c, err := r.Resolve(keyB); err != nil || c.URI != keyB {
		t.Fatalf("after NegativeTTL: %v, %v; want the published contract", c, err)
	}
	if one.count() != 2 {
		t.Fatalf("fetches = %d, want 2", one.count())
	}
}

func TestBackendFailureIsNotCached(t *testing.T) {
	one := newFake("one", keyB)
	one.fail = errDown
	r, _ := newTestResolver(nil, CacheOptions{}, one)
	for i := 1; i <= 3; i++ {
		_, err := r.Resolve(keyB)
		var be *BackendError
		if !errors.As(err, &be) || be.Backend != "one" || be.Key != keyB || !errors.Is(err, errDown) {
			t.Fatalf("error = %v, want a BackendError naming one and %s", err, keyB)
		}
		if errors.Is(err, ErrNotFound) {
			t.Fatalf("a failure must not read as not found: %v", err)
		}
		if one.count() != i {
			t.Fatalf("lookup %d: fetches = %d, want every lookup to retry", i, one.count())
		}
	}
	one.set(func(f *fakeBackend) { f.fail = nil })
	if c, err := r.Resolve(keyB); err != nil || c.URI != keyB {
		t.Fatalf("after recovery: %v, %v", c, err)
	}
	if s := r.Stats(); s.Failures != 3 {
		t.Errorf("Stats.Failures = %d, want 3", s.Failures)
	}
}

func TestSeveralBackendFailuresAreAllNamed(t *testing.T) {
	one, two := newFake("one"), newFake("two")
	one.fail, two.fail = errDown, errors.New("timeout")
	r, _ := newTestResolver(nil, CacheOptions{}, one, two)
	_, err := r.Resolve(keyB)
	for _, s := range []string{"registry backend one", "connection refused", "registry backend two", "timeout"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("error %v does not say %q", err, s)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q spans lines", err)
	}
}

// A document that does not compile is a failure of the backend that served
// it: the next backend is asked, and nothing is cached, so fixing the
// document in the backend takes effect on the next lookup.
func TestDocumentThatDoesNotCompile(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{"not JSON", `{"self":`},
		{"self names another key", string(schemaDoc(mustKey(t, keyC)))},
		{"breaks the meta-schema", strings.Replace(string(schemaDoc(mustKey(t, keyB))), `"type": "object"`, `"type": 12`, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			one := newFake("one")
			one.docs[keyB] = []byte(tc.doc)
			r, _ := newTestResolver(nil, CacheOptions{}, one)
			_, err := r.Resolve(keyB)
			var be *BackendError
			if !errors.As(err, &be) || be.Backend != "one" || !errors.Is(err, contract.ErrInvalidContract) {
				t.Fatalf("error = %v, want a BackendError of one wrapping ErrInvalidContract", err)
			}
			if !strings.Contains(err.Error(), keyB) {
				t.Errorf("error %q does not name the key", err)
			}
			if _, err := r.Resolve(keyB); err == nil || one.count() != 2 {
				t.Fatalf("second lookup: err %v, fetches %d; want not cached (2 fetches)", err, one.count())
			}

			// With a second backend that has a good document, that one serves.
			two := newFake("two", keyB)
			r2, _ := newTestResolver(nil, CacheOptions{}, one, two)
			c, err := r2.Resolve(keyB)
			if err != nil || c.Source != "two:"+keyB {
				t.Fatalf("with a good second backend: %v, %v", c, err)
			}
		})
	}
}

func TestLRUEviction(t *testing.T) {
	one := newFake("one", keyA, keyB, keyC, keyD)
	r, _ := newTestResolver(nil, CacheOptions{MaxEntries: 3}, one)
	for _, k := range []string{keyA, keyB, keyC} {
		if _, err := r.Resolve(k); err != nil {
			t.Fatal(err)
		}
	}
	// A is used again, so B is now the least recently used.
	if _, err := r.Resolve(keyA); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(keyD); err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s.Entries != 3 || s.Evictions != 1 {
		t.Fatalf("Stats = %+v, want 3 entries and 1 eviction", s)
	}
	before := one.count()
	for _, k := range []string{keyA, keyD} {
		if _, err := r.Resolve(k); err != nil {
			t.Fatal(err)
		}
	}
	if one.count() != before {
		t.Fatalf("A or D was fetched again: fetches %d -> %d", before, one.count())
	}
	if _, err := r.Resolve(keyB); err != nil {
		t.Fatal(err)
	}
	if one.count() != before+1 {
		t.Fatalf("B was not evicted: fetches %d -> %d", before, one.count())
	}
}

func TestCacheStaysBounded(t *testing.T) {
	one := newFake("one")
	r, _ := newTestResolver(nil, CacheOptions{MaxEntries: 50}, one)
	for i := range 500 {
		k := contract.Key{Vendor: "com.acme", Name: "x", Format: "jsonschema", Version: contract.SchemaVer{Model: 1, Addition: i}}
		if _, err := r.Resolve(k.String()); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	}
	if s := r.Stats(); s.Entries != 50 || s.Evictions != 450 {
		t.Fatalf("Stats = %+v, want 50 entries and 450 evictions", s)
	}
}

func TestSingleflight(t *testing.T) {
	tests := []struct {
		name string
		fail error
	}{
		{"found", nil},
		{"backend failure", errDown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			one := newFake("one", keyB)
			one.fail = tc.fail
			one.gate = make(chan struct{})
			one.started = make(chan struct{}, 100)
			r, _ := newTestResolver(nil, CacheOptions{}, one)

			const n = 50
			var wg sync.WaitGroup
			results := make([]*contract.Contract, n)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { results[i], errs[i] = r.Resolve(keyB) })
			}
			<-one.started // one fetch is under way
			// Let the others reach the flight: every one of them is either
			// waiting on it or counted as a miss once it does.
			check.Eventually(t, 5*time.Second, "the misses are counted", func() bool { return r.Stats().Misses == n })
			close(one.gate)
			wg.Wait()
			if got := one.count(); got != 1 {
				t.Fatalf("%d concurrent lookups made %d fetches, want 1", n, got)
			}
			for i := range n {
				if tc.fail != nil {
					if !errors.Is(errs[i], tc.fail) {
						t.Fatalf("lookup %d: error %v, want the backend's failure", i, errs[i])
					}
					continue
				}
				if errs[i] != nil || results[i] != results[0] {
					t.Fatalf("lookup %d: %v, %v; want the one contract fetched", i, results[i], errs[i])
				}
			}
		})
	}
}

func TestPurge(t *testing.T) {
	one := newFake("one", keyB)
	r, _ := newTestResolver(nil, CacheOptions{}, one)
	mustResolve := func(key string, want error) {
		t.Helper()
		if _, err := r.Resolve(key); !errors.Is(err, want) {
			t.Fatalf("Resolve(%s) = %v, want %v", key, err, want)
		}
	}
	mustResolve(keyB, nil)
	mustResolve(keyC, ErrNotFound)
	if s := r.Stats(); s.Entries != 2 {
		t.Fatalf("entries = %d, want 2", s.Entries)
	}
	r.Purge()
	if s := r.Stats(); s.Entries != 0 {
		t.Fatalf("entries after Purge = %d, want 0", s.Entries)
	}
	one.set(func(f *fakeBackend) { f.docs[keyC] = schemaDoc(mustKey(t, keyC)) })
	mustResolve(keyB, nil)
	mustResolve(keyC, nil) // the miss was purged too
	if one.count() != 4 {
		t.Fatalf("fetches = %d, want 4", one.count())
	}
}

func TestPurgeDuringFetchDoesNotFillCache(t *testing.T) {
	one := newFake("one", keyB)
	one.gate = make(chan struct{})
	one.started = make(chan struct{}, 1)
	r, _ := newTestResolver(nil, CacheOptions{}, one)
	done := make(chan error)
	go func() { _, err := r.Resolve(keyB); done <- err }()
	<-one.started
	r.Purge()
	close(one.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s.Entries != 0 {
		t.Fatalf("entries = %d after a fetch that began before Purge, want 0", s.Entries)
	}
}

func TestLocalRegistryIsNotCached(t *testing.T) {
	local := contract.NewSet(nil)
	one := newFake("one", keyB)
	r, _ := newTestResolver(local, CacheOptions{}, one)
	if c, err := r.Resolve(keyB); err != nil || c.Source != "one:"+keyB {
		t.Fatalf("before the file: %v, %v", c, err)
	}
	// The contracts directory gains the contract (the watcher's Replace):
	// it wins at once, cache or not.
	local.Replace([]*contract.Contract{mustCompile(t, mustKey(t, keyB), "dir")})
	if c, err := r.Resolve(keyB); err != nil || c.Source != "dir" {
		t.Fatalf("after the file: %v, %v; want the local contract", c, err)
	}
	if s := r.Stats(); s.Entries != 1 {
		t.Fatalf("entries = %d, want only the fetched one", s.Entries)
	}
}

func TestNonCanonicalKeySharesTheFetch(t *testing.T) {
	one := newFake("one", keyB)
	r, _ := newTestResolver(nil, CacheOptions{}, one)
	forms := []string{keyB, "com.acme/b/jsonschema/1-0-0", "iglu:com.acme/b/jsonschema/1-0-0.json", "com.acme/b/jsonschema/1-0-0"}
	var first *contract.Contract
	for _, k := range forms {
		c, err := r.Resolve(k)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = c
		} else if c != first {
			t.Fatalf("Resolve(%q) returned another compilation", k)
		}
	}
	if one.count() != 1 {
		t.Fatalf("fetches = %d for one key in several forms, want 1", one.count())
	}
}

func TestContracts(t *testing.T) {
	local := contract.NewSet([]*contract.Contract{mustCompile(t, mustKey(t, keyA), "dir")})
	one := newFake("one", keyA, keyB, keyC)
	r, clk := newTestResolver(local, CacheOptions{TTL: time.Minute}, one)
	for _, k := range []string{keyB, "com.acme/b/jsonschema/1-0-0", keyD} {
		_, _ = r.Resolve(k)
	}
	clk.advance(30 * time.Second)
	if _, err := r.Resolve(keyC); err != nil {
		t.Fatal(err)
	}
	uris := func() []string {
		var out []string
		for _, c := range r.Contracts() {
			out = append(out, c.URI+"@"+c.Source)
		}
		return out
	}
	want := []string{keyA + "@dir", keyB + "@one:" + keyB, keyC + "@one:" + keyC}
	if got := uris(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("Contracts = %v, want %v", got, want)
	}
	clk.advance(30 * time.Second) // B has expired, C has not
	want = []string{keyA + "@dir", keyC + "@one:" + keyC}
	if got := uris(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after B expired: Contracts = %v, want %v", got, want)
	}
}

func TestCacheOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts CacheOptions
		want string // "" for valid
	}{
		{"zero takes defaults", CacheOptions{}, ""},
		{"set", CacheOptions{TTL: time.Hour, MaxEntries: 5, NegativeTTL: time.Second}, ""},
		{"negative ttl", CacheOptions{TTL: -1}, "ttl"},
		{"negative max", CacheOptions{MaxEntries: -1}, "max_entries"},
		{"negative negative ttl", CacheOptions{NegativeTTL: -time.Second}, "negative_ttl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	d := CacheOptions{}.withDefaults()
	if d.TTL != 10*time.Minute || d.MaxEntries != 10000 || d.NegativeTTL != time.Minute {
		t.Fatalf("defaults = %+v", d)
	}
}

// A contract cached from a backend gives way at once to the same key added
// to the local registry (the filesystem always wins), and the cache is
// used without asking the local registry again only while it is unchanged.
func TestLocalContractAddedAfterCachingWins(t *testing.T) {
	const key = "iglu:com.acme/late/jsonschema/1-0-0"
	local := contract.NewSet(nil)
	backend := newFake("remote", key)
	r, _ := newTestResolver(local, CacheOptions{}, backend)
	c, err := r.Resolve(key)
	if err != nil || c.Source != "remote:"+key {
		t.Fatalf("first resolve: %v, source %q", err, c.Source)
	}
	for range 3 {
		if c, _ := r.Resolve(key); c.Source != "remote:"+key {
			t.Fatalf("cached resolve came from %q", c.Source)
		}
	}
	// An unrelated local change keeps the cached answer valid.
	local.Replace([]*contract.Contract{mustCompile(t, mustKey(t, "iglu:com.acme/other/jsonschema/1-0-0"), "local")})
	if c, _ := r.Resolve(key); c.Source != "remote:"+key || backend.count() != 1 {
		t.Fatalf("after an unrelated reload: source %q, %d fetches", c.Source, backend.count())
	}
	local.Replace([]*contract.Contract{mustCompile(t, mustKey(t, key), "local")})
	if c, _ := r.Resolve(key); c.Source != "local" {
		t.Errorf("after the key was added locally it came from %q; want local", c.Source)
	}
}

// While every backend fails, a contract they served before is served past
// its TTL (stale), and refreshed once a backend answers again.
func TestStaleContractServedDuringAnOutage(t *testing.T) {
	const key = "iglu:com.acme/order/jsonschema/1-0-0"
	backend := newFake("remote", key)
	r, clk := newTestResolver(nil, CacheOptions{TTL: time.Minute, NegativeTTL: 10 * time.Second}, backend)
	first, err := r.Resolve(key)
	if err != nil {
		t.Fatal(err)
	}
	backend.set(func(f *fakeBackend) { f.fail = errors.New("connection refused") })
	clk.advance(2 * time.Minute)
	c, err := r.Resolve(key)
	if err != nil || c != first {
		t.Fatalf("during the outage: %v, same contract %v; want the stale contract", err, c == first)
	}
	if st := r.Stats(); st.Stale != 1 {
		t.Errorf("stale %d; want 1", st.Stale)
	}
	// Within the negative TTL the stale answer is reused without asking.
	fetches := backend.count()
	if _, err := r.Resolve(key); err != nil || backend.count() != fetches {
		t.Errorf("within the retry interval: %v, %d fetches (was %d)", err, backend.count(), fetches)
	}
	backend.set(func(f *fakeBackend) { f.fail = nil })
	clk.advance(time.Minute)
	if _, err := r.Resolve(key); err != nil || backend.count() != fetches+1 {
		t.Errorf("after the outage: %v, %d fetches; want a refresh", err, backend.count())
	}
	// A key never served before still fails during an outage.
	backend.set(func(f *fakeBackend) { f.fail = errors.New("connection refused") })
	if _, err := r.Resolve("iglu:com.acme/other/jsonschema/1-0-0"); err == nil {
		t.Error("a key never fetched resolved during an outage")
	}
}
