// Package retention removes what a store holds past its retention period,
// in the background and a small batch at a time, so that the writes going
// on meanwhile wait for at most one batch. A store plugs in by
// implementing Store; the Loop runs it on a ticker and counts what it
// removed for /stats.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/accord-events/accord/internal/redact"
)

// Store is what the loop needs of a store: remove a few of the records
// received before cutoff.
type Store interface {
	// DeleteBefore removes at most limit records received before cutoff
	// and returns how many it removed; fewer than limit means none is
	// left. It holds the store's write lock for one batch at most.
	DeleteBefore(ctx context.Context, cutoff time.Time, limit int) (int64, error)
}

// Scope selects records by contract: those whose schema key starts with
// Prefix (all when empty) and with none of Except.
type Scope struct {
	Prefix string
	Except []string
}

// ScopedStore is a Store that can remove the records of some contracts
// only, for periods per contract (Config.ByContract).
type ScopedStore interface {
	Store
	// DeleteScopedBefore is DeleteBefore for the records in scope.
	DeleteScopedBefore(ctx context.Context, scope Scope, cutoff time.Time, limit int) (int64, error)
}

// Reporter is implemented by a sink that enforces a retention period;
// delivery shows its Stats in /stats.
type Reporter interface {
	RetentionStats() Stats
}

// Stats is what one store's retention has done since the process started.
type Stats struct {
	// Period is the retention period, as a Go duration (720h0m0s).
	Period string `json:"period"`
	// Unit is what Removed counts: rows or files.
	Unit string `json:"unit"`
	// Removed counts what the runs removed.
	Removed uint64 `json:"removed"`
	// LastRunStartedAt and LastRunAt are when the last run started and
	// ended; nil before the first.
	LastRunStartedAt *time.Time `json:"last_run_started_at,omitempty"`
	LastRunAt        *time.Time `json:"last_run_at,omitempty"`
	// LastError is the last run's error, and when; empty when none has
	// failed.
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// Defaults for Config's zero fields.
const (
	// DefaultLimit is how many records one batch removes: in SQLite,
	// 5,000 rows take tens of milliseconds, which is how long a write
	// may wait for a batch.
	DefaultLimit = 5000
	// DefaultEvery is how often a run starts.
	DefaultEvery = time.Minute
	// DefaultPause is the pause between batches of one run, which lets
	// the writes waiting on the store's lock go first.
	DefaultPause = 10 * time.Millisecond
)

// Config configures a Loop.
type Config struct {
	// Period is how long records are kept; 0 keeps those ByContract does
	// not name for ever.
	Period time.Duration
	// ByContract maps a contract key prefix (iglu:com.acme/) to how long
	// the records whose schema starts with it are kept, instead of
	// Period; the longest prefix a schema starts with wins, and 0 keeps
	// its records for ever. It needs a ScopedStore.
	ByContract map[string]time.Duration
	// Unit names what Store removes, for Stats (rows, files).
	Unit string
	// Limit, Every and Pause default to DefaultLimit, DefaultEvery and
	// DefaultPause.
	Limit int
	Every time.Duration
	Pause time.Duration
	// After, when set, runs after a run that removed something, such as
	// SQLite's incremental vacuum; its error counts as the run's.
	After func(ctx context.Context) error
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// Loop enforces one store's retention period.
type Loop struct {
	cfg   Config
	store Store

	mu    sync.Mutex // guards stats
	stats Stats

	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a loop for store; Start runs it in the background, Run runs
// it once.
func New(cfg Config, store Store) (*Loop, error) {
	if cfg.Period < 0 || (cfg.Period == 0 && len(cfg.ByContract) == 0) {
		return nil, fmt.Errorf("retention period %s is not positive", cfg.Period)
	}
	if _, ok := store.(ScopedStore); len(cfg.ByContract) > 0 && !ok {
		return nil, fmt.Errorf("retention by contract: the store %T cannot remove the records of some contracts only", store)
	}
	if cfg.Limit <= 0 {
		cfg.Limit = DefaultLimit
	}
	if cfg.Every <= 0 {
		cfg.Every = DefaultEvery
	}
	if cfg.Pause <= 0 {
		cfg.Pause = DefaultPause
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Loop{cfg: cfg, store: store, stats: Stats{Period: cfg.Period.String(), Unit: cfg.Unit}}, nil
}

// Start runs the loop in the background, at once and then every
// Config.Every, until Stop.
func (l *Loop) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	go func() {
		defer close(l.done)
		t := time.NewTicker(l.cfg.Every)
		defer t.Stop()
		for {
			if _, err := l.Run(ctx); err != nil && ctx.Err() == nil {
				l.cfg.Logger.Warn("retention: remove old records", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the background loop, waiting for a batch under way; it is safe
// on a loop never started.
func (l *Loop) Stop() {
	if l.cancel == nil {
		return
	}
	l.cancel()
	<-l.done
}

// Run removes, batch by batch, everything received before now minus its
// period, pausing between batches, and returns how much it removed.
func (l *Loop) Run(ctx context.Context) (int64, error) {
	started := l.cfg.Now()
	var total int64
	var errs []error
	for _, sp := range l.scopes() {
		if sp.period <= 0 {
			continue // kept for ever
		}
		n, err := l.runScope(ctx, sp.scope, started.Add(-sp.period))
		total += n
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	err := errors.Join(errs...)
	if err == nil && total > 0 && l.cfg.After != nil {
		err = l.cfg.After(ctx)
	}
	l.finish(started, err)
	return total, err
}

type scopedPeriod struct {
	scope  Scope
	period time.Duration
}

// scopes returns each prefix of ByContract with its period, excepting the
// longer prefixes that have periods of their own, then everything else
// with Period.
func (l *Loop) scopes() []scopedPeriod {
	if len(l.cfg.ByContract) == 0 {
		return []scopedPeriod{{period: l.cfg.Period}}
	}
	prefixes := make([]string, 0, len(l.cfg.ByContract))
	for p := range l.cfg.ByContract {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	out := make([]scopedPeriod, 0, len(prefixes)+1)
	for _, p := range prefixes {
		var except []string
		for _, q := range prefixes {
			if q != p && strings.HasPrefix(q, p) {
				except = append(except, q)
			}
		}
		out = append(out, scopedPeriod{Scope{Prefix: p, Except: except}, l.cfg.ByContract[p]})
	}
	return append(out, scopedPeriod{Scope{Except: prefixes}, l.cfg.Period})
}

// runScope removes the records in scope received before cutoff, a batch at
// a time.
func (l *Loop) runScope(ctx context.Context, scope Scope, cutoff time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		var err error
		if ss, ok := l.store.(ScopedStore); ok && (scope.Prefix != "" || len(scope.Except) > 0) {
			n, err = ss.DeleteScopedBefore(ctx, scope, cutoff, l.cfg.Limit)
		} else {
			n, err = l.store.DeleteBefore(ctx, cutoff, l.cfg.Limit)
		}
		total += n
		l.count(n)
		if err != nil || n < int64(l.cfg.Limit) {
			return total, err
		}
		if err := sleep(ctx, l.cfg.Pause); err != nil {
			return total, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (l *Loop) count(n int64) {
	if n <= 0 {
		return
	}
	l.mu.Lock()
	l.stats.Removed += uint64(n)
	l.mu.Unlock()
}

func (l *Loop) finish(started time.Time, err error) {
	now, started := l.cfg.Now().UTC(), started.UTC()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.LastRunStartedAt, l.stats.LastRunAt = &started, &now
	if err != nil && !errors.Is(err, context.Canceled) {
		// Shown by GET /stats: redacted as delivery's last_error is.
		l.stats.LastError, l.stats.LastErrorAt = redact.BoundedError(err), &now
	}
}

// Stats returns what the loop has done so far.
func (l *Loop) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// minPeriod is the shortest retention period accepted: a shorter one is
// nearly always a duration written without its unit (720 is 720ns).
const minPeriod = time.Minute

// maxContracts bounds ByContract: each prefix costs a query per run.
const maxContracts = 100

// CheckByContract reports what is wrong with a retention-by-contract
// option's value, for the sink's Validate to name the key.
func CheckByContract(m map[string]time.Duration) error {
	if len(m) > maxContracts {
		return fmt.Errorf("%d entries; name at most %d contract key prefixes", len(m), maxContracts)
	}
	var errs []error
	for _, p := range slices.Sorted(maps.Keys(m)) {
		if !strings.HasPrefix(p, "iglu:") || len(p) > 512 {
			errs = append(errs, fmt.Errorf("%q is not a contract key prefix; write one such as iglu:com.acme/ or iglu:com.acme/checkout/", p))
		} else if err := CheckPeriod(m[p]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// CheckPeriod reports what is wrong with a retention option's value, for
// the sink's Validate to name the key; 0 (retention off) is fine.
func CheckPeriod(d time.Duration) error {
	switch {
	case d < 0:
		return fmt.Errorf("%s is negative; use a duration such as 720h for 30 days, or 0 to keep everything", d)
	case d > 0 && d < minPeriod:
		return fmt.Errorf("%s is shorter than %s; write the duration with its unit, such as 720h for 30 days, or 0 to keep everything", d, minPeriod)
	}
	return nil
}
