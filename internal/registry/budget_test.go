package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
)

// One request naming many unknown keys causes at most MaxFetchesPerRequest
// backend lookups; the rest fail at once, saying the budget ran out, and
// are not cached as misses (another request may look them up).
func TestRequestLookupBudget(t *testing.T) {
	b := newFake("fake", "iglu:com.acme/known/jsonschema/1-0-0")
	r := NewResolver(nil, []Backend{b}, CacheOptions{MaxFetchesPerRequest: 3})
	q := r.ForRequest(context.Background(), time.Time{})
	var over int
	for i := range 50 {
		_, err := q.Resolve(fmt.Sprintf("iglu:com.acme/k%d/jsonschema/1-0-0", i))
		if !errors.Is(err, contract.ErrNotFound) {
			t.Fatalf("key %d: %v, want not found", i, err)
		}
		if errors.Is(err, contract.ErrLookupBudget) {
			over++
			if !strings.Contains(err.Error(), "lookup budget of 3 keys ran out") {
				t.Errorf("budget error %q does not say the budget ran out", err)
			}
		}
	}
	if b.fetches != 3 || over != 47 {
		t.Errorf("%d fetches, %d over budget; want 3 and 47", b.fetches, over)
	}
	// A key already cached costs nothing, even past the budget.
	if _, err := q.Resolve("iglu:com.acme/k0/jsonschema/1-0-0"); err == nil || errors.Is(err, contract.ErrLookupBudget) {
		t.Errorf("a cached miss past the budget: %v", err)
	}
	// The next request has a budget of its own, and the keys refused
	// above were not cached.
	if c, err := r.ForRequest(context.Background(), time.Time{}).Resolve("iglu:com.acme/known/jsonschema/1-0-0"); err != nil || c == nil {
		t.Fatalf("a new request: %v", err)
	}
	if st := r.Stats(); st.OverBudget != 47 {
		t.Errorf("stats over_budget %d, want 47", st.OverBudget)
	}
}

// Lookups end with their request's context or at its deadline (the
// collector gives a deadline, three quarters of server.write_timeout),
// waiting for a fetch slot or in the backend, and fetches under way at
// once never exceed MaxConcurrentFetches.
func TestRequestLookupsHonourDeadlineAndConcurrency(t *testing.T) {
	for _, by := range []string{"context", "deadline"} {
		t.Run(by, func(t *testing.T) {
			b := newFake("slow")
			b.gate = make(chan struct{}) // never opens: fetches end only with their context
			r := NewResolver(nil, []Backend{b}, CacheOptions{MaxConcurrentFetches: 2, MaxFetchesPerRequest: 100})
			ctx, deadline := context.Background(), time.Now().Add(200*time.Millisecond)
			if by == "context" {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, deadline)
				defer cancel()
				deadline = time.Time{}
			}
			start := time.Now()
			var wg sync.WaitGroup
			errs := make([]error, 10)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = r.ForRequest(ctx, deadline).Resolve(fmt.Sprintf("iglu:com.acme/slow%d/jsonschema/1-0-0", i))
				}()
			}
			wg.Wait()
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("lookups took %s after their deadline of 200ms", took)
			}
			for i, err := range errs {
				if !errors.Is(err, contract.ErrLookupBudget) || !strings.Contains(err.Error(), "deadline passed") {
					t.Errorf("lookup %d: %v, want the deadline named", i, err)
				}
			}
			if b.fetches > 2 {
				t.Errorf("%d fetches started with 2 slots and a backend that never answers", b.fetches)
			}
		})
	}
}

// kept keeps what a benchmark or an allocation count made, as a caller
// would, so that the compiler cannot leave it on the stack.
var kept contract.Resolver

// With no backend nothing a request looks up can reach one, so a request
// gets the resolver itself: nothing is allocated for it, and keys resolve
// as they do without a request.
func TestForRequestWithoutBackendsAllocatesNothing(t *testing.T) {
	r := NewResolver(contract.NewSet(nil), nil, CacheOptions{})
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	if n := testing.AllocsPerRun(100, func() { kept = r.ForRequest(ctx, deadline) }); n != 0 {
		t.Errorf("ForRequest without backends allocates %v times; want 0", n)
	}
	if _, err := r.ForRequest(ctx, deadline).Resolve("iglu:com.acme/missing/jsonschema/1-0-0"); !errors.Is(err, contract.ErrNotFound) || errors.Is(err, contract.ErrLookupBudget) {
		t.Errorf("an unknown key without backends: %v; want not found, no budget involved", err)
	}
	withBackend := NewResolver(nil, []Backend{newFake("fake")}, CacheOptions{})
	if _, ok := withBackend.ForRequest(ctx, deadline).(*RequestResolver); !ok {
		t.Error("with a backend, a request's lookups are not bounded by a RequestResolver of their own")
	}
}
