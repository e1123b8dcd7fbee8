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
	// Period is how long records are kept; it must be positive.
	Period time.Duration
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
	if cfg.Period <= 0 {
		return nil, fmt.Errorf("retention period %s is not positive", cfg.Period)
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

// Run removes, batch by batch, everything received before now minus the
// period, pausing between batches, and returns how much it removed.
func (l *Loop) Run(ctx context.Context) (int64, error) {
	started := l.cfg.Now()
	cutoff := started.Add(-l.cfg.Period)
	var total int64
	var err error
	for {
		var n int64
		n, err = l.store.DeleteBefore(ctx, cutoff, l.cfg.Limit)
		total += n
		l.count(n)
		if err != nil || n < int64(l.cfg.Limit) {
			break
		}
		if err = sleep(ctx, l.cfg.Pause); err != nil {
			break
		}
	}
	if err == nil && total > 0 && l.cfg.After != nil {
		err = l.cfg.After(ctx)
	}
	l.finish(started, err)
	return total, err
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
