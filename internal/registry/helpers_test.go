package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
)

// schemaDoc is a small self-describing contract for key.
func schemaDoc(k contract.Key) []byte {
	return fmt.Appendf(nil, `{
	"$schema": %q,
	"self": {"vendor": %q, "name": %q, "format": "jsonschema", "version": %q},
	"type": "object",
	"properties": {"id": {"type": "string", "maxLength": 64}, "n": {"type": "integer", "minimum": 0}},
	"required": ["id"],
	"additionalProperties": false
}`, contract.IgluMetaSchemaURI, k.Vendor, k.Name, k.Version.String())
}

func mustKey(t testing.TB, s string) contract.Key {
	t.Helper()
	k, err := contract.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustCompile(t testing.TB, k contract.Key, source string) *contract.Contract {
	t.Helper()
	c, err := contract.Compile(schemaDoc(k), k, source)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fakeBackend serves documents from a map. fail makes every Fetch fail;
// gate, when set, makes Fetch wait until it is closed.
type fakeBackend struct {
	name string

	mu      sync.Mutex
	docs    map[string][]byte // by Key.String()
	fail    error
	fetches int
	gate    chan struct{}
	started chan struct{} // receives once per Fetch, when set
}

func newFake(name string, keys ...string) *fakeBackend {
	f := &fakeBackend{name: name, docs: map[string][]byte{}}
	for _, s := range keys {
		k, err := contract.ParseKey(s)
		if err != nil {
			panic(err)
		}
		f.docs[k.String()] = schemaDoc(k)
	}
	return f
}

func (f *fakeBackend) Name() string { return f.name }

func (f *fakeBackend) Fetch(ctx context.Context, key contract.Key) ([]byte, error) {
	f.mu.Lock()
	f.fetches++
	gate, started, fail := f.gate, f.started, f.fail
	doc, ok := f.docs[key.String()]
	f.mu.Unlock()
	if started != nil {
		started <- struct{}{}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail != nil {
		return nil, fail
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return doc, nil
}

func (f *fakeBackend) List(context.Context) ([]contract.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []contract.Key
	for s := range f.docs {
		k, _ := contract.ParseKey(s)
		keys = append(keys, k)
	}
	return keys, nil
}

func (f *fakeBackend) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetches
}

func (f *fakeBackend) set(fn func(f *fakeBackend)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// clock is a settable time for the Resolver.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestResolver(local *contract.Set, opts CacheOptions, backends ...Backend) (*Resolver, *clock) {
	r := NewResolver(local, backends, opts)
	clk := newClock()
	r.now = clk.now
	return r, clk
}

var errDown = errors.New("connection refused")
