package registry

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accord-events/accord/internal/contract"
)

// Defaults for CacheOptions' zero values.
const (
	DefaultTTL          = 10 * time.Minute
	DefaultNegativeTTL  = time.Minute
	DefaultMaxEntries   = 10_000
	DefaultFetchTimeout = 10 * time.Second
	// DefaultMaxFetchesPerRequest and DefaultMaxConcurrentFetches bound
	// the backend lookups clients can cause: per request, and at once.
	DefaultMaxFetchesPerRequest = 10
	DefaultMaxConcurrentFetches = 8
)

// CacheOptions tune the Resolver's cache. A zero field takes its default.
type CacheOptions struct {
	// TTL is how long a fetched contract is served before it is fetched
	// again (default 10m).
	TTL time.Duration `yaml:"ttl" doc:"How long a contract fetched from a backend is used before it is fetched again."`
	// MaxEntries bounds the cache, contracts and misses together (default
	// 10000); past it the least recently used entries are evicted.
	MaxEntries int `yaml:"max_entries" doc:"Most contracts and misses the cache holds; past it the least recently used are evicted."`
	// NegativeTTL is how long a key that no backend has is answered as not
	// found without asking the backends again (default 1m).
	NegativeTTL time.Duration `yaml:"negative_ttl" doc:"How long a key no backend has is answered as not found without asking the backends again, so an unknown schema does not cost a fetch per event."`
	// FetchTimeout bounds one backend's Fetch (default 10s): Resolve has no
	// context of its own, and an event must not wait on a hung backend.
	FetchTimeout time.Duration `yaml:"fetch_timeout" doc:"How long one fetch from a backend may take before it counts as failed."`
	// MaxFetchesPerRequest bounds the backend lookups one request may
	// cause (default 10): keys neither local nor cached, each counted once.
	MaxFetchesPerRequest int `yaml:"max_fetches_per_request" doc:"Most schema keys one request may have looked up in the backends (keys neither in contracts.dir nor cached); the request's further events naming uncached keys fail as schema_not_found, saying the lookup budget ran out."`
	// MaxConcurrentFetches bounds backend lookups under way at once, over
	// all requests (default 8).
	MaxConcurrentFetches int `yaml:"max_concurrent_fetches" doc:"Most backend lookups under way at once, over all requests; more wait for a turn, as long as their request's deadline allows."`
}

// DefaultCacheOptions returns the defaults.
func DefaultCacheOptions() CacheOptions {
	return CacheOptions{TTL: DefaultTTL, MaxEntries: DefaultMaxEntries, NegativeTTL: DefaultNegativeTTL, FetchTimeout: DefaultFetchTimeout,
		MaxFetchesPerRequest: DefaultMaxFetchesPerRequest, MaxConcurrentFetches: DefaultMaxConcurrentFetches}
}

// Validate reports options that cannot be meant: negative durations or
// sizes. Zero is not an error; it takes the default.
func (o CacheOptions) Validate() error {
	var errs []error
	if o.TTL < 0 {
		errs = append(errs, fmt.Errorf("ttl: %s is negative; set a duration such as 10m, or 0 for the default", o.TTL))
	}
	if o.NegativeTTL < 0 {
		errs = append(errs, fmt.Errorf("negative_ttl: %s is negative; set a duration such as 1m, or 0 for the default", o.NegativeTTL))
	}
	if o.MaxEntries < 0 {
		errs = append(errs, fmt.Errorf("max_entries: %d is negative; set a count such as 10000, or 0 for the default", o.MaxEntries))
	}
	if o.FetchTimeout < 0 {
		errs = append(errs, fmt.Errorf("fetch_timeout: %s is negative; set a duration such as 10s, or 0 for the default", o.FetchTimeout))
	}
	if o.MaxFetchesPerRequest < 0 {
		errs = append(errs, fmt.Errorf("max_fetches_per_request: %d is negative; set a count such as 10, or 0 for the default", o.MaxFetchesPerRequest))
	}
	if o.MaxConcurrentFetches < 0 {
		errs = append(errs, fmt.Errorf("max_concurrent_fetches: %d is negative; set a count such as 8, or 0 for the default", o.MaxConcurrentFetches))
	}
	return errors.Join(errs...)
}

func (o CacheOptions) withDefaults() CacheOptions {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = DefaultNegativeTTL
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.MaxFetchesPerRequest <= 0 {
		o.MaxFetchesPerRequest = DefaultMaxFetchesPerRequest
	}
	if o.MaxConcurrentFetches <= 0 {
		o.MaxConcurrentFetches = DefaultMaxConcurrentFetches
	}
	return o
}

// Stats counts what the Resolver's cache did since it was made.
type Stats struct {
	// Hits are lookups answered from the cache, contracts and misses alike.
	Hits uint64 `json:"hits"`
	// Misses are lookups the cache could not answer, so the backends were
	// asked (or a lookup already asking them was joined).
	Misses uint64 `json:"misses"`
	// Fetches are calls of Backend.Fetch.
	Fetches uint64 `json:"fetches"`
	// Failures are fetches that failed or returned a document that does not
	// compile.
	Failures uint64 `json:"failures"`
	// Evictions are entries dropped to keep the cache within MaxEntries.
	Evictions uint64 `json:"evictions"`
	// Stale counts expired contracts served again because every backend
	// failed to refresh them.
	Stale uint64 `json:"stale"`
	// OverBudget counts lookups refused because their request had used
	// its max_fetches_per_request, or its deadline passed first.
	OverBudget uint64 `json:"over_budget"`
	// Entries is how many entries the cache holds now.
	Entries int `json:"entries"`
}

// Resolver resolves schema keys from the local registry and then from an
// ordered list of backends, caching what the backends answer. It is safe for
// concurrent use and starts no goroutines: a fetch runs in the goroutine of
// the lookup that needed it, and concurrent lookups of the same key wait for
// that one fetch instead of making their own.
//
// It satisfies pipeline.Resolver.
type Resolver struct {
	local    *contract.Set
	backends []Backend
	opts     CacheOptions
	// now is the clock, replaced in tests.
	now func() time.Time

	mu sync.RWMutex
	// entries holds the cache by the key as looked up; a key looked up in a
	// non-canonical form (no "iglu:" prefix) has an entry under that form
	// too, so that form is not parsed per event.
	entries map[string]*entry
	// ring and hand are the CLOCK (second-chance) eviction order, which
	// approximates least-recently-used without a write lock on a hit: a hit
	// only sets the entry's used bit.
	ring []*entry
	hand int
	// flights are the fetches under way, by canonical key.
	flights map[string]*flight
	// purges counts Purge calls, so that a fetch that started before a
	// Purge does not put its answer into the emptied cache.
	purges uint64

	// fetchSlots is a semaphore of MaxConcurrentFetches slots: one is held
	// through each fetch, so no flood of requests fans out unbounded.
	fetchSlots chan struct{}

	hits, misses, fetches, failures, evictions, stale, overBudget atomic.Uint64
}

// entry is one cached answer: a contract, or a miss (err wraps ErrNotFound).
type entry struct {
	key     string
	c       *contract.Contract
	err     error
	expires time.Time
	// localGen is the local registry's generation when it was last asked
	// for the key and did not have it: while it stays the same, the local
	// registry still does not have it and need not be asked.
	localGen atomic.Uint64
	slot     int // index in ring
	used     atomic.Bool
}

type flight struct {
	done chan struct{}
	c    *contract.Contract
	err  error
	// cache says whether the answer may be cached (a contract or a miss),
	// and for how long.
	cache bool
	ttl   time.Duration
	// localGen is the local registry's generation before the flight's
	// first lookup missed it.
	localGen uint64
}

// NewResolver returns a resolver that consults local (which may be nil)
// first and then backends in order. Options that CacheOptions.Validate
// rejects take their defaults.
func NewResolver(local *contract.Set, backends []Backend, opts CacheOptions) *Resolver {
	opts = opts.withDefaults()
	return &Resolver{
		local:      local,
		backends:   append([]Backend(nil), backends...),
		opts:       opts,
		now:        time.Now,
		entries:    make(map[string]*entry),
		flights:    make(map[string]*flight),
		fetchSlots: make(chan struct{}, opts.MaxConcurrentFetches),
	}
}

// RequestResolver resolves the keys of one request: lookups that reach the
// backends are bounded by CacheOptions.MaxFetchesPerRequest and by the
// request's context and deadline, so one request naming hundreds of
// unknown keys costs a few fetches, not hundreds. Use it from one
// goroutine.
type RequestResolver struct {
	r        *Resolver
	ctx      context.Context
	deadline time.Time
	left     int
}

// ForRequest returns a resolver for one request, whose lookups stop when
// ctx ends and, when deadline is set, at deadline. It returns the
// interface pipeline.RequestResolvers asks for.
func (r *Resolver) ForRequest(ctx context.Context, deadline time.Time) contract.Resolver {
	if len(r.backends) == 0 {
		// No lookup can reach a backend, so there is nothing to bound:
		// r itself, rather than a resolver allocated for every request
		// (two a request, one for validation and one for the privacy
		// rules, in the default configuration, which has no backend).
		return r
	}
	return &RequestResolver{r: r, ctx: ctx, deadline: deadline, left: r.opts.MaxFetchesPerRequest}
}

// Resolve is Resolver.Resolve within the request's budget. A key past the
// budget, or looked up after the request's deadline, fails with an error
// wrapping contract.ErrLookupBudget (and so ErrNotFound); it is not cached.
func (q *RequestResolver) Resolve(key string) (*contract.Contract, error) {
	return q.r.resolve(q.ctx, key, q)
}

// spend takes one lookup from the budget; ctx is the request's, bounded by
// its deadline (resolveSlow).
func (q *RequestResolver) spend(ctx context.Context, canon string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %s was not looked up in the registry backends: the request's deadline passed (%v)", contract.ErrLookupBudget, canon, err)
	}
	if q.left <= 0 {
		return fmt.Errorf("%w: %s was not looked up in the registry backends: the request's lookup budget of %d keys ran out (contracts.cache.max_fetches_per_request); send events of fewer unknown schemas per request", contract.ErrLookupBudget, canon, q.r.opts.MaxFetchesPerRequest)
	}
	q.left--
	return nil
}

// Resolve returns the contract named by key, in any form contract.ParseKey
// accepts. The error wraps contract.ErrBadKey for a key that is not a schema
// key, ErrNotFound when no source has it, and is a *BackendError (or
// several, see errors.As) when a backend that might have it failed.
func (r *Resolver) Resolve(key string) (*contract.Contract, error) {
	return r.resolve(context.Background(), key, nil)
}

// resolve is Resolve within a request's budget q (nil: none), its fetches
// ending with ctx.
func (r *Resolver) resolve(ctx context.Context, key string, q *RequestResolver) (*contract.Contract, error) {
	var gen uint64
	if r.local != nil {
		// A key the cache answered for while the local registry stayed
		// unchanged is still not local: skip the local lookup (which, for
		// a key it does not hold, costs its own cache of misses).
		gen = r.local.Generation()
		r.mu.RLock()
		e := r.entries[key]
		r.mu.RUnlock()
		if e != nil && e.localGen.Load() == gen && r.now().Before(e.expires) {
			r.hit(e)
			return e.c, e.err
		}
		c, err := r.local.Resolve(key)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, contract.ErrNotFound) {
			return nil, err
		}
	}
	now := r.now()
	r.mu.RLock()
	e := r.entries[key]
	r.mu.RUnlock()
	if e != nil && now.Before(e.expires) {
		// The local registry was just asked and does not have the key.
		e.localGen.Store(gen)
		r.hit(e)
		return e.c, e.err
	}
	return r.resolveSlow(ctx, key, gen, q)
}

func (r *Resolver) hit(e *entry) {
	// Only write the bit when it changes, so a hot key's entry is not a
	// cache line every core keeps writing.
	if !e.used.Load() {
		e.used.Store(true)
	}
	r.hits.Add(1)
}

// resolveSlow answers a key the cache did not: it parses the key, looks for
// its canonical form in the cache, and otherwise fetches it from the
// backends, or waits for the fetch of it already under way.
func (r *Resolver) resolveSlow(ctx context.Context, key string, gen uint64, q *RequestResolver) (*contract.Contract, error) {
	if q != nil && !q.deadline.IsZero() {
		// The request's deadline, armed here rather than for every
		// request: most never get past the cache.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, q.deadline)
		defer cancel()
	}
	k, err := contract.ParseKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", contract.ErrBadKey, err)
	}
	canon := k.String()

	r.mu.Lock()
	now := r.now()
	if e := r.entries[canon]; e != nil && now.Before(e.expires) {
		if key != canon {
			r.put(key, e.c, e.err, e.expires, gen)
		}
		r.mu.Unlock()
		r.hit(e)
		return e.c, e.err
	}
	r.misses.Add(1)
	if f, ok := r.flights[canon]; ok {
		r.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			r.overBudget.Add(1)
			return nil, fmt.Errorf("%w: %s: the request's deadline passed while it was being looked up (%v)", contract.ErrLookupBudget, canon, ctx.Err())
		}
		r.alias(key, canon, f)
		return f.c, f.err
	}
	if q != nil && len(r.backends) > 0 {
		if err := q.spend(ctx, canon); err != nil {
			r.mu.Unlock()
			r.overBudget.Add(1)
			return nil, err
		}
	}
	f := &flight{done: make(chan struct{}), localGen: gen}
	r.flights[canon] = f
	purges := r.purges
	var stale *contract.Contract
	if e := r.entries[canon]; e != nil && e.c != nil {
		stale = e.c // expired, but the last good answer
	}
	r.mu.Unlock()

	f.c, f.cache, f.ttl, f.err = r.fetch(ctx, k, canon)
	if !f.cache && stale != nil {
		// The backends failed while refreshing a contract they served
		// before: keep serving it rather than fail every event during an
		// outage, and try again after the negative TTL.
		f.c, f.err, f.cache, f.ttl = stale, nil, true, r.opts.NegativeTTL
		r.stale.Add(1)
	}

	r.mu.Lock()
	if f.cache && purges == r.purges {
		r.put(canon, f.c, f.err, r.now().Add(f.ttl), f.localGen)
	}
	delete(r.flights, canon)
	r.mu.Unlock()
	close(f.done)
	r.alias(key, canon, f)
	return f.c, f.err
}

// alias caches a flight's answer under the non-canonical form it was
// looked up by.
func (r *Resolver) alias(key, canon string, f *flight) {
	if key == canon || !f.cache {
		return
	}
	r.mu.Lock()
	if e := r.entries[canon]; e != nil && e.c == f.c && e.err == f.err {
		r.put(key, e.c, e.err, e.expires, f.localGen)
	}
	r.mu.Unlock()
}

// fetch asks each backend in turn for the key. A backend that fails, or
// whose document does not compile, is passed over for the next one; when no
// backend has the key and one of them failed, the answer is that failure
// and is not cached, because the one that failed may have had it.
func (r *Resolver) fetch(ctx context.Context, k contract.Key, canon string) (c *contract.Contract, cache bool, ttl time.Duration, err error) {
	if len(r.backends) > 0 {
		select {
		case r.fetchSlots <- struct{}{}:
			defer func() { <-r.fetchSlots }()
		case <-ctx.Done():
		}
		// A turn that came as the deadline passed starts no fetch: select
		// picks either when both are ready, and a deadline's timer may
		// fire a little after the time it names.
		err := ctx.Err()
		if d, ok := ctx.Deadline(); ok && err == nil && !time.Now().Before(d) {
			err = context.DeadlineExceeded
		}
		if err != nil {
			r.overBudget.Add(1)
			return nil, false, 0, fmt.Errorf("%w: %s: the request's deadline passed while waiting for a turn to look it up (%v)", contract.ErrLookupBudget, canon, err)
		}
	}
	var failed backendErrors
	for _, b := range r.backends {
		r.fetches.Add(1)
		fctx, cancel := context.WithTimeout(ctx, r.opts.FetchTimeout)
		doc, err := b.Fetch(fctx, k)
		cancel()
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				continue
			}
			r.failures.Add(1)
			failed = append(failed, &BackendError{Backend: b.Name(), Key: canon, Err: err})
			continue
		}
		c, err := contract.Compile(doc, k, b.Name()+":"+canon)
		if err != nil {
			r.failures.Add(1)
			failed = append(failed, &BackendError{Backend: b.Name(), Key: canon, Err: fmt.Errorf("compile its document: %w", err)})
			continue
		}
		return c, true, r.opts.TTL, nil
	}
	if ctx.Err() != nil && len(failed) > 0 {
		// The request ended while the backends were asked: say so, rather
		// than blame the backends.
		r.overBudget.Add(1)
		return nil, false, 0, fmt.Errorf("%w: %s: the request's deadline passed while it was being looked up (%v)", contract.ErrLookupBudget, canon, ctx.Err())
	}
	switch len(failed) {
	case 0:
		return nil, true, r.opts.NegativeTTL, r.notFound(canon)
	case 1:
		return nil, false, 0, failed[0]
	}
	return nil, false, 0, failed
}

func (r *Resolver) notFound(canon string) error {
	if len(r.backends) == 0 {
		return fmt.Errorf("%w: no contract %s", ErrNotFound, canon)
	}
	names := make([]string, len(r.backends))
	for i, b := range r.backends {
		names[i] = b.Name()
	}
	return fmt.Errorf("%w: no contract %s in the contracts directory or in %s", ErrNotFound, canon, strings.Join(names, ", "))
}

// put stores an answer under key, replacing an entry of the same key, or
// evicting one when the cache is full. r.mu must be held for writing.
func (r *Resolver) put(key string, c *contract.Contract, err error, expires time.Time, localGen uint64) {
	e := &entry{key: key, c: c, err: err, expires: expires}
	e.localGen.Store(localGen)
	if old := r.entries[key]; old != nil {
		e.slot = old.slot
		r.ring[e.slot] = e
		r.entries[key] = e
		return
	}
	if len(r.ring) < r.opts.MaxEntries {
		e.slot = len(r.ring)
		r.ring = append(r.ring, e)
		r.entries[key] = e
		return
	}
	now := r.now()
	for {
		victim := r.ring[r.hand]
		if victim.used.Load() && now.Before(victim.expires) {
			victim.used.Store(false)
			r.hand = (r.hand + 1) % len(r.ring)
			continue
		}
		delete(r.entries, victim.key)
		r.evictions.Add(1)
		e.slot = r.hand
		r.ring[r.hand] = e
		r.entries[key] = e
		r.hand = (r.hand + 1) % len(r.ring)
		return
	}
}

// Purge empties the cache, contracts and misses alike, so the next lookup of
// every key asks the backends again. Fetches under way when it is called do
// not fill the cache when they finish.
func (r *Resolver) Purge() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = make(map[string]*entry)
	r.ring = nil
	r.hand = 0
	r.purges++
}

// Changed returns a channel closed at the next change of the local
// contracts (a reload of the contracts directory, which a registry write and
// a cache purge also do). Contracts in the backends change without notice;
// the cache's TTL bounds how long an old one is served.
func (r *Resolver) Changed() <-chan struct{} {
	if r.local == nil {
		return nil
	}
	return r.local.Changed()
}

// Stats returns the cache's counters.
func (r *Resolver) Stats() Stats {
	r.mu.RLock()
	n := len(r.entries)
	r.mu.RUnlock()
	return Stats{
		Hits:       r.hits.Load(),
		Misses:     r.misses.Load(),
		Fetches:    r.fetches.Load(),
		Failures:   r.failures.Load(),
		Evictions:  r.evictions.Load(),
		Stale:      r.stale.Load(),
		OverBudget: r.overBudget.Load(),
		Entries:    n,
	}
}

// Contracts returns the local registry's contracts and the contracts the
// cache holds and has not expired, sorted by key. A local contract hides a
// cached one of the same key, as it does in Resolve.
func (r *Resolver) Contracts() []*contract.Contract {
	var out []*contract.Contract
	seen := map[string]bool{}
	if r.local != nil {
		out = r.local.Contracts()
		for _, c := range out {
			seen[c.URI] = true
		}
	}
	now := r.now()
	r.mu.RLock()
	for _, e := range r.entries {
		if e.c != nil && now.Before(e.expires) && !seen[e.c.URI] {
			seen[e.c.URI] = true
			out = append(out, e.c)
		}
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].URI < out[j].URI })
	return out
}
