package delivery

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accord-events/accord/internal/atomicfile"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/spool"

	"github.com/accord-events/accord/internal/sink/retention"
)

// StatsFile is the name of the file, in the spool directory, that keeps the
// delivery counters across restarts.
const StatsFile = "delivery-stats.json"

// maxContracts bounds the contracts counted one by one. Only keys that
// resolved to a contract are counted by name, so it is reached only by a
// registry of that many contracts (or counters saved by an older version);
// records beyond it are counted under OtherContracts.
const maxContracts = 10000

// maxSchemaKey bounds a key counted by name; a longer one (a registry may
// hold one, written through its API) is counted under OtherContracts.
const maxSchemaKey = 256

// maxUnknownContexts bounds the unknown context keys counted, the
// OtherContracts bucket included. Those keys come from clients, so a
// client could send any number of them: once the list is full (and for a
// key longer than maxSchemaKey) records are counted in the bucket.
const maxUnknownContexts = 100

// Names under which records without a contract of their own are counted.
const (
	// NoContract counts records that named no schema (or carry arbitrary
	// data, as the pixel's /px does).
	NoContract = "(none)"
	// UnknownContracts counts records whose schema key named no contract:
	// those keys come from clients, so they are never counted by name.
	UnknownContracts = "(unknown)"
	// OtherContracts counts records of contracts past the first
	// maxContracts, or with keys longer than maxSchemaKey.
	OtherContracts = "(other)"
)

// Stats is what GET /stats and accord spool status show.
type Stats struct {
	// CountedSince is when the counters started (they survive restarts;
	// after a crash, up to the last few seconds of counts may be missing).
	CountedSince time.Time `json:"counted_since"`
	// Spool is what the spool holds; nil when the spool is off.
	Spool     *spool.Stats    `json:"spool"`
	Sinks     []SinkStats     `json:"sinks"`
	Contracts []ContractStats `json:"contracts"`
	// UnknownContexts counts, per schema key, the records that carried a
	// context whose contract is not registered (kept or failed, as
	// contracts.unknown_contexts says): the contracts still to write.
	UnknownContexts []UnknownContextStats `json:"unknown_contexts"`
}

// UnknownContextStats counts the records carrying a context of one schema
// key that no contract was registered for.
type UnknownContextStats struct {
	Schema  string `json:"schema"`
	Records uint64 `json:"records"`
}

// SinkStats describes delivery to one sink.
type SinkStats struct {
	Name string `json:"name"`
	// LagRecords and LagBytes are what the sink has yet to pass in the
	// spool (records it does not select included).
	LagRecords uint64 `json:"lag_records"`
	LagBytes   int64  `json:"lag_bytes"`
	// LagSeconds, while LagRecords is not 0, is how long ago the sink had
	// last passed every record then in the spool (or the server started,
	// if later): the oldest record it has yet to pass is at most that
	// old. 0 when it has nothing to pass.
	LagSeconds float64 `json:"lag_seconds"`
	// LastSuccessAt is when the sink last took a write since the server
	// started; absent when it has taken none.
	LastSuccessAt *time.Time `json:"last_success_at,omitempty"`
	// Delivered counts records the sink took; Retried, failed write
	// attempts that were retried; DeadLettered, records sent to the dead
	// letter.
	Delivered    uint64 `json:"delivered"`
	Retried      uint64 `json:"retried"`
	DeadLettered uint64 `json:"dead_lettered"`
	// LastError is the last write error and when it happened; empty when
	// none has happened since the counters started.
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	// State is "connecting" until the sink's Connect has succeeded, then
	// "connected"; empty for a server that is not running.
	State string `json:"state,omitempty"`
	// LastConnectError is why the last failed Connect failed, and when;
	// empty when none has failed since the server started.
	LastConnectError   string     `json:"last_connect_error,omitempty"`
	LastConnectErrorAt *time.Time `json:"last_connect_error_at,omitempty"`
	// Retention is what the sink's retention has removed since the server
	// started; nil when the sink has no retention period.
	Retention *retention.Stats `json:"retention,omitempty"`
	// DeadLetterRetention is what spool.dead_letter_retention removed from
	// the sink's dead letters; nil when it is off.
	DeadLetterRetention *retention.Stats `json:"dead_letter_retention,omitempty"`
}

// Sink states, as SinkStats.State shows them.
const (
	StateConnecting = "connecting"
	StateConnected  = "connected"
)

// ContractStats counts the records accepted for one contract.
type ContractStats struct {
	Schema string `json:"schema"`
	Good   uint64 `json:"good"`
	Failed uint64 `json:"failed"`
}

// sinkCounters are one sink's live counters.
type sinkCounters struct {
	delivered, retried, deadLettered atomic.Uint64
	mu                               sync.Mutex
	lastError                        string
	lastErrorAt                      time.Time
	connectError                     string
	connectErrorAt                   time.Time
}

func (c *sinkCounters) connectFailed(err error) {
	c.mu.Lock()
	c.connectError, c.connectErrorAt = err.Error(), time.Now().UTC()
	c.mu.Unlock()
}

func (c *sinkCounters) failed(err error) {
	c.mu.Lock()
	// last_error is served by /stats and persisted: no credential in it.
	c.lastError, c.lastErrorAt = redact.BoundedError(err), time.Now().UTC()
	c.mu.Unlock()
}

func (c *sinkCounters) snapshot(name string) SinkStats {
	st := SinkStats{Name: name, Delivered: c.delivered.Load(), Retried: c.retried.Load(), DeadLettered: c.deadLettered.Load()}
	c.mu.Lock()
	if c.lastError != "" {
		at := c.lastErrorAt
		st.LastError, st.LastErrorAt = c.lastError, &at
	}
	if c.connectError != "" {
		at := c.connectErrorAt
		st.LastConnectError, st.LastConnectErrorAt = c.connectError, &at
	}
	c.mu.Unlock()
	return st
}

func (c *sinkCounters) restore(st SinkStats) {
	c.delivered.Store(st.Delivered)
	c.retried.Store(st.Retried)
	c.deadLettered.Store(st.DeadLettered)
	if st.LastErrorAt != nil {
		// Redacted again: a file written before redaction may hold one.
		c.lastError, c.lastErrorAt = redact.String(st.LastError), *st.LastErrorAt
	}
}

// maxEventKinds bounds the kinds (contract, protocol, valid, failure type)
// counted one by one; beyond it records are counted under OtherContracts
// with an empty protocol. Contracts are bounded as in the per-contract
// counts (maxContracts), and protocols and failure types are the
// collector's own names, so it is reached only by a registry near
// maxContracts whose contracts come in by several protocols.
const maxEventKinds = 4 * maxContracts

// EventKind is what accord_events_total counts records by.
type EventKind struct {
	// Contract is the record's schema key, or NoContract,
	// UnknownContracts or OtherContracts, as in ContractStats.
	Contract string
	// Protocol is the protocol the record came in by.
	Protocol string
	// Valid says the record is good.
	Valid bool
	// FailureType is the failure's type; empty for a good record.
	FailureType string
}

// EventCount counts the records of one kind since the server started.
type EventCount struct {
	EventKind
	Records uint64
}

// contractCounters counts good and failed records per contract, records
// per unknown context key, and records per kind (since the start only:
// Prometheus counters start at 0 with the process).
type contractCounters struct {
	mu      sync.RWMutex
	counts  map[string]*[2]atomic.Uint64 // [good, failed]
	unknown map[string]*atomic.Uint64
	kinds   map[EventKind]kindCounters
	// otherKinds counts the records of kinds past maxEventKinds.
	otherKinds atomic.Uint64
}

// kindCounters are the counters a record of one kind adds to.
type kindCounters struct {
	records  *atomic.Uint64
	contract *[2]atomic.Uint64 // the contract's [good, failed]
}

func newContractCounters() *contractCounters {
	return &contractCounters{counts: map[string]*[2]atomic.Uint64{}, unknown: map[string]*atomic.Uint64{}, kinds: map[EventKind]kindCounters{}}
}

// kindOf is the kind a record is counted as.
func kindOf(r *event.Envelope) EventKind {
	kind := EventKind{Contract: r.Schema, Protocol: r.Protocol, Valid: r.Valid}
	switch {
	case r.Schema == "":
		kind.Contract = NoContract
	case !r.Resolved:
		kind.Contract = UnknownContracts
	case len(r.Schema) > maxSchemaKey:
		kind.Contract = OtherContracts
	}
	if r.Failure != nil {
		kind.FailureType = string(r.Failure.Type)
	}
	return kind
}

// tallyRun is a run of records of one kind, counted in advance by
// prepare and added by apply.
type tallyRun struct {
	k     kindCounters
	valid bool
	n     uint64
}

// prepare finds the counters records add to, as runs of one kind appended
// to runs, without counting them yet: apply counts them once they are
// stored, and the records need not be kept meanwhile. It reports false
// when a record needs a counter not made yet (a kind, or an unknown
// context, seen for the first time, or any unknown context): add counts
// such records after they are stored, so that a counter is only ever made
// for records that were.
func (c *contractCounters) prepare(records []*event.Envelope, runs []tallyRun) ([]tallyRun, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, r := range records {
		if len(r.UnknownContexts) > 0 {
			return runs, false
		}
		k, ok := c.kinds[kindOf(r)]
		if !ok {
			return runs, false
		}
		if n := len(runs); n > 0 && runs[n-1].k.records == k.records && runs[n-1].k.contract == k.contract && runs[n-1].valid == r.Valid {
			runs[n-1].n++
			continue
		}
		runs = append(runs, tallyRun{k: k, valid: r.Valid, n: 1})
	}
	return runs, true
}

// apply counts what prepare found.
func (c *contractCounters) apply(runs []tallyRun) {
	for _, run := range runs {
		run.k.records.Add(run.n)
		if run.valid {
			run.k.contract[0].Add(run.n)
		} else {
			run.k.contract[1].Add(run.n)
		}
	}
}

// add counts records. The common case, a contract already seen, takes only
// the read lock.
func (c *contractCounters) add(records []*event.Envelope) {
	c.mu.RLock()
	for _, r := range records {
		kind := kindOf(r)
		// One lookup finds both counters: the kind's, and its contract's.
		k, ok := c.kinds[kind]
		if !ok {
			c.mu.RUnlock()
			k = c.addKind(kind)
			c.mu.RLock()
		}
		k.records.Add(1)
		if r.Valid {
			k.contract[0].Add(1)
		} else {
			k.contract[1].Add(1)
		}
		if len(r.UnknownContexts) > 0 {
			// unknownCounter takes the lock itself: a read lock must
			// not be taken twice (a writer waiting between would
			// deadlock both).
			c.mu.RUnlock()
			for j, key := range r.UnknownContexts {
				if slices.Contains(r.UnknownContexts[:j], key) {
					continue // a record counts once per key
				}
				c.unknownCounter(key).Add(1)
			}
			c.mu.RLock()
		}
	}
	c.mu.RUnlock()
}

// addKind returns the counters of a kind not yet counted: its contract's,
// bucketed past maxContracts, and its own, shared past maxEventKinds. A
// kind whose contract is bucketed is kept under the bucket's name only,
// so the kinds stay within maxEventKinds however many contracts there are.
func (c *contractCounters) addKind(kind EventKind) kindCounters {
	contract, bucket := cappedCounterKey(&c.mu, c.counts, kind.Contract, OtherContracts, maxContracts)
	kind.Contract = bucket
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.kinds[kind]; ok {
		return k
	}
	if len(c.kinds) >= maxEventKinds {
		return kindCounters{records: &c.otherKinds, contract: contract}
	}
	k := kindCounters{records: new(atomic.Uint64), contract: contract}
	c.kinds[kind] = k
	return k
}

func (c *contractCounters) unknownCounter(key string) *atomic.Uint64 {
	if len(key) > maxSchemaKey {
		key = OtherContracts
	}
	return cappedCounter(&c.mu, c.unknown, key, OtherContracts, maxUnknownContexts)
}

func (c *contractCounters) snapshotUnknown() []UnknownContextStats {
	c.mu.RLock()
	out := make([]UnknownContextStats, 0, len(c.unknown))
	for k, n := range c.unknown {
		out = append(out, UnknownContextStats{Schema: k, Records: n.Load()})
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Schema < out[j].Schema })
	return out
}

func (c *contractCounters) restoreUnknown(list []UnknownContextStats) {
	for _, u := range list {
		c.unknownCounter(u.Schema).Store(u.Records)
	}
}

func (c *contractCounters) counter(key string) *[2]atomic.Uint64 {
	return cappedCounter(&c.mu, c.counts, key, OtherContracts, maxContracts)
}

// cappedCounter returns counts' counter for key, adding it while counts
// holds fewer than limit keys and using other's after. The common case, a
// key already counted, takes only the read lock of mu.
func cappedCounter[K comparable, T any](mu *sync.RWMutex, counts map[K]*T, key, other K, limit int) *T {
	n, _ := cappedCounterKey(mu, counts, key, other, limit)
	return n
}

// cappedCounterKey is cappedCounter, and says under which key it counts.
func cappedCounterKey[K comparable, T any](mu *sync.RWMutex, counts map[K]*T, key, other K, limit int) (*T, K) {
	mu.RLock()
	n, ok := counts[key]
	mu.RUnlock()
	if ok {
		return n, key
	}
	mu.Lock()
	defer mu.Unlock()
	if n, ok := counts[key]; ok {
		return n, key
	}
	if len(counts) >= limit {
		key = other
		if n, ok := counts[key]; ok {
			return n, key
		}
	}
	n = new(T)
	counts[key] = n
	return n, key
}

func (c *contractCounters) snapshot() []ContractStats {
	c.mu.RLock()
	out := make([]ContractStats, 0, len(c.counts))
	for k, n := range c.counts {
		out = append(out, ContractStats{Schema: k, Good: n[0].Load(), Failed: n[1].Load()})
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Schema < out[j].Schema })
	return out
}

func (c *contractCounters) snapshotKinds() []EventCount {
	c.mu.RLock()
	out := make([]EventCount, 0, len(c.kinds)+1)
	for k, n := range c.kinds {
		out = append(out, EventCount{EventKind: k, Records: n.records.Load()})
	}
	c.mu.RUnlock()
	if n := c.otherKinds.Load(); n > 0 {
		// One series per kind: a counted kind of the same name takes
		// the overflow in.
		other := EventKind{Contract: OtherContracts}
		if i := slices.IndexFunc(out, func(e EventCount) bool { return e.EventKind == other }); i >= 0 {
			out[i].Records += n
		} else {
			out = append(out, EventCount{EventKind: other, Records: n})
		}
	}
	return out
}

func (c *contractCounters) restore(list []ContractStats) {
	for _, cs := range list {
		n := c.counter(cs.Schema)
		n[0].Store(cs.Good)
		n[1].Store(cs.Failed)
	}
}

// savedStats is the counters file's content.
type savedStats struct {
	SavedAt      time.Time       `json:"saved_at"`
	CountedSince time.Time       `json:"counted_since"`
	Sinks        []SinkStats     `json:"sinks"`
	Contracts    []ContractStats `json:"contracts"`
	// UnknownContexts is absent from files written before it was counted.
	UnknownContexts []UnknownContextStats `json:"unknown_contexts,omitempty"`
}

// loadSaved reads the counters file; a missing file is no counts yet.
func loadSaved(path string) (savedStats, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return savedStats{}, nil
	}
	if err != nil {
		return savedStats{}, fmt.Errorf("read delivery stats: %w", err)
	}
	var s savedStats
	if err := json.Unmarshal(data, &s); err != nil {
		return savedStats{}, fmt.Errorf("read delivery stats %s: %w", path, err)
	}
	return s, nil
}

// save replaces the counters file atomically. It is not fsynced: counters
// are a view, and losing the last seconds of them to a power cut is fine.
func save(path string, s savedStats) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteNoSync(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write delivery stats: %w", err)
	}
	return nil
}

// ReadStats reads the stats of a stopped server from its spool directory:
// what the spool holds, each sink's lag, and the counters as last saved.
// It fails with an error matching spool.ErrLocked while a server has the
// spool open; ask its GET /stats instead.
func ReadStats(spoolDir string) (Stats, error) {
	sp, err := spool.ReadStats(spoolDir)
	if err != nil {
		return Stats{}, err
	}
	saved, err := loadSaved(filepath.Join(spoolDir, StatsFile))
	if err != nil {
		return Stats{}, err
	}
	st := Stats{CountedSince: saved.CountedSince, Spool: &sp, Contracts: saved.Contracts, Sinks: []SinkStats{}}
	if st.Contracts == nil {
		st.Contracts = []ContractStats{}
	}
	st.UnknownContexts = saved.UnknownContexts
	if st.UnknownContexts == nil {
		st.UnknownContexts = []UnknownContextStats{}
	}
	bySink := map[string]SinkStats{}
	for _, s := range saved.Sinks {
		bySink[s.Name] = s
	}
	for _, r := range sp.Readers {
		s := bySink[r.Name]
		s.Name, s.LagRecords, s.LagBytes = r.Name, r.LagRecords, r.LagBytes
		// Connection is a running server's state, not a stopped one's.
		s.State, s.LastConnectError, s.LastConnectErrorAt = "", "", nil
		s.LagSeconds, s.LastSuccessAt = 0, nil
		st.Sinks = append(st.Sinks, s)
	}
	return st, nil
}
