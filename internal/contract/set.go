package contract

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Resolution errors. Callers branch on them with errors.Is.
var (
	// ErrNotFound: no contract has the key.
	ErrNotFound = errors.New("schema not found")
	// ErrBadKey: the key is not a schema key at all.
	ErrBadKey = errors.New("malformed schema key")
	// ErrLookupBudget: the key was not looked up in the registry backends
	// because its request had used its budget of lookups, or its deadline
	// passed. It wraps ErrNotFound: the event's contract was not found.
	ErrLookupBudget = fmt.Errorf("%w: lookup budget ran out", ErrNotFound)
)

// maxCachedLookups bounds the cache of non-canonical keys and misses, which
// clients control: past it the cache starts afresh rather than grow.
const maxCachedLookups = 10_000

// Resolver finds the contract for a schema key. *Set is one; so is the
// resolver of registry backends, and the pipeline validates through one.
type Resolver interface {
	Resolve(key string) (*Contract, error)
}

// Set is the compiled contracts Accord holds in memory (the contracts
// directory and those that ship with Accord), resolving schema keys to them.
// It is safe for concurrent use; Replace swaps in a new set of contracts
// atomically, so a lookup sees either the old set or the new one, never a
// mix.
type Set struct {
	current atomic.Pointer[snapshot]
	// base holds the contracts that ship with Accord (the Snowplow event
	// types); every Replace keeps them, under the contracts given.
	base []*Contract
	// generation counts Replace calls, so that what is derived from the
	// contracts (a Segment tracking plan) knows when to derive it again.
	generation atomic.Uint64

	// changed is closed by the next Replace; nil until someone asks.
	changeMu sync.Mutex
	changed  chan struct{}
}

type snapshot struct {
	byKey map[string]*Contract // by Key.String()
	// lookups caches resolutions of keys not in canonical form, and misses,
	// so a malformed or unknown key is parsed once, not once per event.
	lookups atomic.Pointer[lookupCache]
}

type lookupCache struct {
	m sync.Map // string -> lookup
	n atomic.Int64
}

type lookup struct {
	c   *Contract
	err error
}

// NewSet returns a set holding contracts.
func NewSet(contracts []*Contract) *Set {
	r := &Set{}
	r.Replace(contracts)
	return r
}

// NewSetWithBase returns a set that always holds base (contracts
// that ship with Accord) besides the contracts given to it; a contract of
// the same key given later replaces a base one, so users can amend them.
func NewSetWithBase(base, contracts []*Contract) *Set {
	r := &Set{base: base}
	r.Replace(contracts)
	return r
}

// Replace swaps the registry's contracts for contracts (and the base ones).
func (r *Set) Replace(contracts []*Contract) {
	s := &snapshot{byKey: make(map[string]*Contract, len(r.base)+len(contracts))}
	for _, c := range r.base {
		s.byKey[c.Key.String()] = c
	}
	for _, c := range contracts {
		s.byKey[c.Key.String()] = c
	}
	s.lookups.Store(&lookupCache{})
	r.current.Store(s)
	r.generation.Add(1)
	r.changeMu.Lock()
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
	r.changeMu.Unlock()
}

// Changed returns a channel that the next Replace closes. Those that derive
// something from the contracts (a sink's tables) take the channel, then
// read the contracts, and when it is closed take a new one and read again,
// so no change slips between the two.
func (r *Set) Changed() <-chan struct{} {
	r.changeMu.Lock()
	defer r.changeMu.Unlock()
	if r.changed == nil {
		r.changed = make(chan struct{})
	}
	return r.changed
}

// Generation changes whenever the registry's contracts are replaced.
func (r *Set) Generation() uint64 { return r.generation.Load() }

// Len returns how many contracts the registry holds.
func (r *Set) Len() int { return len(r.current.Load().byKey) }

// Contracts returns the registry's contracts, sorted by key.
func (r *Set) Contracts() []*Contract {
	s := r.current.Load()
	out := make([]*Contract, 0, len(s.byKey))
	for _, c := range s.byKey {
		out = append(out, c)
	}
	// By URI, the map's key (Key.String()) kept on each contract: building
	// that string in every comparison took 0.15 s at 10,000 contracts, at
	// start, where the privacy stage checks them all.
	slices.SortFunc(out, func(a, b *Contract) int { return strings.Compare(a.URI, b.URI) })
	return out
}

// Resolve returns the contract named by key, in any form ParseKey accepts.
// The error wraps ErrBadKey or ErrNotFound.
func (r *Set) Resolve(key string) (*Contract, error) {
	s := r.current.Load()
	if c, ok := s.byKey[key]; ok {
		return c, nil
	}
	cache := s.lookups.Load()
	if v, ok := cache.m.Load(key); ok {
		l := v.(lookup)
		return l.c, l.err
	}
	l := s.resolveSlow(key)
	if cache.n.Add(1) > maxCachedLookups {
		s.lookups.Store(&lookupCache{})
	} else {
		// A copy: key may be a record's string sharing a larger buffer
		// (event.DecodeEnvelopeShared), which the cache would keep.
		cache.m.Store(strings.Clone(key), l)
	}
	return l.c, l.err
}

func (s *snapshot) resolveSlow(key string) lookup {
	k, err := ParseKey(key)
	if err != nil {
		return lookup{err: fmt.Errorf("%w: %v", ErrBadKey, err)}
	}
	if c, ok := s.byKey[k.String()]; ok {
		return lookup{c: c}
	}
	return lookup{err: fmt.Errorf("%w: no contract %s", ErrNotFound, k)}
}

// LoadError is a contract file that could not be loaded.
type LoadError struct {
	Path string
	Err  error
}

func (e *LoadError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// LoadDir compiles every contract under dir, laid out as Iglu's static
// repositories are: {vendor}/{name}/jsonschema/{M-R-A}, with or without a
// .json suffix. A file that fails to load is reported in the returned
// LoadErrors and does not stop the others; the error is for a dir that cannot
// be read at all.
func LoadDir(dir string) ([]*Contract, []*LoadError, error) {
	contracts, problems, _, err := LoadDirSkipping(dir)
	return contracts, problems, err
}

// OtherFormats are Iglu's schema formats besides jsonschema. A tree copied
// from an Iglu repository may hold them; Accord reads JSON Schema only.
var OtherFormats = []string{"avro", "thrift", "protobuf"}

// OtherFormat reports whether rel, a slash-separated path relative to a
// contracts directory, is {vendor}/{name}/{format}/{version} in one of
// OtherFormats, and returns the format.
func OtherFormat(rel string) (string, bool) {
	parts := strings.Split(rel, "/")
	if len(parts) != 4 {
		return "", false
	}
	for _, f := range OtherFormats {
		if parts[2] == f {
			return f, true
		}
	}
	return "", false
}

// Skipped counts the files a load or a lint passed over because they hold
// one of Iglu's other formats, by format.
type Skipped map[string]int

// Total is how many files were skipped.
func (s Skipped) Total() int {
	n := 0
	for _, c := range s {
		n += c
	}
	return n
}

// Note says what was skipped, as one line for people; "" when nothing was.
func (s Skipped) Note() string {
	if s.Total() == 0 {
		return ""
	}
	var parts []string
	for _, f := range OtherFormats {
		if s[f] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", f, s[f]))
		}
	}
	files := "files"
	if s.Total() == 1 {
		files = "file"
	}
	return fmt.Sprintf("skipped %d %s in formats other than jsonschema (%s): Accord reads JSON Schema only", s.Total(), files, strings.Join(parts, ", "))
}

// LoadDirSkipping is LoadDir, also counting the files it skipped because
// they hold one of Iglu's other formats (avro, thrift, protobuf), which
// are not load errors.
func LoadDirSkipping(dir string) ([]*Contract, []*LoadError, Skipped, error) {
	skipped := Skipped{}
	// The walk lists the files (and what could not be walked, in its
	// place); they are compiled together afterwards.
	type entry struct {
		path string
		err  error
	}
	var entries []entry
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			entries = append(entries, entry{path: path, err: err})
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") && path != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if f, ok := OtherFormat(filepath.ToSlash(rel)); ok {
			skipped[f]++
			return nil
		}
		entries = append(entries, entry{path: path})
		files = append(files, path)
		return nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load contracts from %s: %w", dir, err)
	}
	loaded := loadFiles(dir, files)
	var contracts []*Contract
	var problems []*LoadError
	for _, e := range entries {
		if e.err == nil {
			l := loaded[0]
			loaded = loaded[1:]
			e.err = l.err
			if e.err == nil {
				contracts = append(contracts, l.contract)
				continue
			}
		}
		problems = append(problems, &LoadError{Path: e.path, Err: e.err})
	}
	return contracts, problems, skipped, nil
}

// loaded is what loading one contract file gave.
type loaded struct {
	contract *Contract
	err      error
	// refs are the contracts the compile looked up for its $refs, found or
	// not (those of the contracts it refers to included), and what it
	// read of each, so that a change to one of them recompiles this one.
	refs []refRead
	// stat is the file's status as it was read (nil when it was not).
	stat *fileStat
	// failedRead is the digest of the document a compile that failed
	// had read (nil when it compiled, or failed before reading): what a
	// recheck compares, the document itself not being kept (it may be
	// up to maxContractFile, and broken files are not bounded in number).
	failedRead *[sha256.Size]byte
}

// loadFiles compiles the contract files at paths under dir; the results
// are in the order of paths.
func loadFiles(dir string, paths []string) []loaded {
	p := newCompilePool(dir)
	out := make([]*compileJob, len(paths))
	for i, path := range paths {
		out[i] = p.add(&compileJob{path: path})
	}
	p.wait()
	res := make([]loaded, len(paths))
	for i, j := range out {
		res[i] = j.loaded
	}
	return res
}

// refRead is one lookup of another contract by a compile: the key, and
// whether a document was found and the digest of what it held. The
// document itself is not kept: the contract looked up keeps its own.
type refRead struct {
	key   Key
	found bool
	sum   [sha256.Size]byte
}

// readRef looks k up through others, recorded as a compile's lookup is.
func readRef(others Documents, k Key) ([]byte, refRead) {
	doc, ok := others(k)
	r := refRead{key: k, found: ok}
	if ok {
		r.sum = sha256.Sum256(doc)
	}
	return doc, r
}

// compilePool compiles contract files, each on its own, with as many at
// once as Go may run threads: compiling a contract is CPU work that shares
// nothing with the others, so a large directory loads in about the time of
// its share per core. Files are compiled as they are added, while the one
// adding them (a walk of the tree) goes on listing.
type compilePool struct {
	dir    string
	others Documents
	jobs   chan *compileJob
	wg     sync.WaitGroup
}

// compileJob is one file for a compilePool; loaded is its result once the
// pool's wait returns.
type compileJob struct {
	path string
	// regular: the file was listed as a regular file, which needs no
	// status taken before it is opened.
	regular bool
	// recheck: the file is compiled again though its size and
	// modification time did not change (see Watcher.recheckSince), or
	// as a dependent; it counts as a change only if its compile gives
	// something else than the last one.
	recheck bool
	// read, for a rechecked file, is the document the watcher last
	// compiled from it, and readSum the digest of the one its last
	// compile read and refused (both nil when that compile failed before
	// reading, or there is none): the file is compiled again only if it
	// holds something else now; same says it did not, and was not
	// compiled.
	read    []byte
	readSum *[sha256.Size]byte
	// readRefs, for a dependent (a file whose last compile looked up a
	// contract that may have changed), is what that compile read of the
	// contracts it looked up: the file is compiled again only if one of
	// them holds something else now (see scan.dependents).
	readRefs  []refRead
	dependent bool
	same      bool
	loaded
}

func newCompilePool(dir string) *compilePool {
	p := &compilePool{dir: dir, others: DirDocuments(dir), jobs: make(chan *compileJob, 256)}
	for range runtime.GOMAXPROCS(0) {
		p.wg.Go(func() {
			for j := range p.jobs {
				p.load(j)
			}
		})
	}
	return p
}

// add queues j's file for compiling.
func (p *compilePool) add(j *compileJob) *compileJob {
	p.jobs <- j
	return j
}

// wait returns once every file added is compiled; the pool takes no more.
func (p *compilePool) wait() {
	close(p.jobs)
	p.wg.Wait()
}

func (p *compilePool) load(j *compileJob) {
	if j.unchanged(p.others) {
		j.same = true
		return
	}
	rel, err := filepath.Rel(p.dir, j.path)
	if err != nil {
		j.err = err
		return
	}
	// Each compile looks other contracts up through its own recorder.
	docs := func(k Key) ([]byte, bool) {
		doc, r := readRef(p.others, k)
		j.refs = append(j.refs, r)
		return doc, r.found
	}
	var doc []byte
	j.contract, j.stat, doc, j.err = loadFile(j.path, filepath.ToSlash(rel), j.regular, docs)
	if j.err != nil && doc != nil {
		sum := sha256.Sum256(doc)
		j.failedRead = &sum
	}
}

// unchanged reports whether j's file need not be compiled again: it is a
// recheck or a dependent, and what its last compile read (its own
// document, or for a dependent the contracts it looked up) is what the
// files hold now.
func (j *compileJob) unchanged(others Documents) bool {
	switch {
	case j.read != nil || j.readSum != nil:
		doc, _, err := readContractFile(j.path, !j.regular)
		if err != nil || j.read != nil && !bytes.Equal(doc, j.read) || j.readSum != nil && sha256.Sum256(doc) != *j.readSum {
			return false
		}
	case !j.dependent:
		return false // nothing to compare with: compile
	}
	for _, old := range j.readRefs {
		if _, now := readRef(others, old.key); now != old {
			return false
		}
	}
	return true
}

// loadFile compiles the contract file at path (rel under the contracts
// directory); stat is the file's status as read, and doc what it held,
// both nil when it was not read.
func loadFile(path, rel string, regular bool, others Documents) (c *Contract, stat *fileStat, doc []byte, err error) {
	if strings.Count(rel, "/") != 3 {
		return nil, nil, nil, fmt.Errorf("not in the contracts layout {vendor}/{name}/jsonschema/{M-R-A}; move it there or out of the contracts directory")
	}
	want, err := ParseKey(rel)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("path is not a contract key: %w", err)
	}
	doc, stat, err = readContractFile(path, !regular)
	if err != nil {
		return nil, stat, nil, err
	}
	c, err = compileLoaded(doc, want, path, others)
	return c, stat, doc, err
}

// LoadFS compiles every contract in fsys, laid out as LoadDir expects. It is
// for contracts that ship inside the binary, so any problem is an error;
// source names the set in Contract.Source and in errors. Like a contracts
// directory's files, a contract the library could refuse only for its
// meta-schema is checked against it now and compiled on its first event
// (late.go): the binary ships about a hundred Snowplow contracts, most of
// which a collector never sees an event of, and compiling them at start
// kept 1.2 MiB more of live heap and took 36 ms instead of 12.
func LoadFS(fsys fs.FS, source string) ([]*Contract, error) {
	var contracts []*Contract
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want, err := ParseKey(path)
		if err != nil || strings.Count(path, "/") != 3 {
			return fmt.Errorf("%s: not in the contracts layout {vendor}/{name}/jsonschema/{M-R-A}", path)
		}
		doc, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		c, err := compileLoaded(doc, want, source+":"+path, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		contracts = append(contracts, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load contracts from %s: %w", source, err)
	}
	return contracts, nil
}
