package contract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watcher keeps a Set in step with a contracts directory: every interval,
// when anything changed, it recompiles what changed (and the contracts whose
// $refs reach what changed) and swaps the whole new set in with Set.Replace,
// so an event sees the old set or the new one, never a mix.
//
// Where the system says what changes (inotify on Linux, for a contracts
// directory on a local filesystem), the watcher watches each directory of
// the tree and, every interval, lists again only the directories that
// events named; an interval without events costs nothing. Elsewhere (other
// systems, network filesystems, where notification is unavailable or runs
// out of watches) it polls: it walks the tree every interval and compares
// each file's size and modification time with what it saw last.
//
// A file that fails to compile keeps the contract it last compiled to, if it
// ever did, so a half-written or broken edit never takes a contract away
// from the events that use it; the failure is logged with the file and why.
type Watcher struct {
	dir      string
	reg      *Set
	log      *slog.Logger
	interval time.Duration

	mu sync.Mutex // serialises reloads; guards what follows
	// useNotify: the watcher asks the system for notifications (interval
	// positive, a system that has them) until that proves impossible.
	useNotify bool
	files     map[string]watchedFile
	// dirs is the listing of every directory in the tree, dir included,
	// by path: the names in it that are not hidden, sorted as listed.
	dirs map[string][]dirEntry
	// notify watches every directory in dirs; nil when polling.
	notify *fsnotify.Watcher
	// reloads counts the reloads that replaced the registry's contracts.
	reloads atomic.Uint64
	// compiled counts the files reloads compiled (or tried to), the first
	// load's included, for tests: not those a recheck, or a check of a
	// dependent, found unchanged.
	compiled atomic.Uint64
	// recheckSince: the next full walk that does not compile everything
	// reads again the files changed since then (changeTime), whatever
	// their size and modification time say, and compiles those that hold
	// something else than they were compiled from (zero: none). The first load
	// sets it to a little before it began: a file rewritten between being
	// read and being watched (or polled) may keep its size, and its
	// modification time may be the same clock tick as before or set back.
	recheckSince time.Time
	// watched is closed once the first load's directories are watched (or
	// it is known they will be polled); tests and benchmarks wait on it.
	watched chan struct{}
	// begin is closed by Watch: the watching goroutine waits for it
	// before it watches the tree (or polls it).
	begin     chan struct{}
	beginOnce sync.Once

	cancel context.CancelFunc
	done   chan struct{}
}

// watchedFile is what the watcher knows of one file in the tree.
type watchedFile struct {
	size    int64
	modTime time.Time
	// regular: the file was listed as a regular file.
	regular bool
	// contract is the file's last good compilation, nil if it never compiled.
	contract *Contract
	// err is why the file's current content does not compile, if it does not.
	err error
	// failedRead is the digest of the content err refused, when the file
	// was read (see loaded.failedRead).
	failedRead *[sha256.Size]byte
	// refs are the contracts its last compilation looked up for $refs,
	// and what it read of them.
	refs []refRead
}

// problem is how a reload reports f, at path, when it does not compile:
// the error, and the contract still served from its last good content.
func (f watchedFile) problem(path string) ReloadProblem {
	p := ReloadProblem{File: path, Error: f.err.Error()}
	if f.contract != nil {
		p.Kept = f.contract.URI
	}
	return p
}

// dirEntry is a name in a directory's listing.
type dirEntry struct {
	name string
	dir  bool
}

// ReloadReport says what a reload found.
type ReloadReport struct {
	// Loaded is how many contracts the directory holds after the reload
	// (the registry also holds the contracts that ship with Accord).
	Loaded int `json:"loaded"`
	// Failed lists the files that do not compile, each with the contract
	// kept in its place, if any.
	Failed []ReloadProblem `json:"failed"`
}

// ReloadProblem is a contract file that does not compile.
type ReloadProblem struct {
	File  string `json:"file"`
	Error string `json:"error"`
	// Kept is the key of the earlier version of the file still served, or
	// empty when there is none.
	Kept string `json:"kept,omitempty"`
}

// NewWatcher loads the contracts under dir into reg and, when interval is
// positive, reloads what changes under dir every interval until ctx ends or
// Close is called. A dir that does not exist (yet) is logged and leaves the
// registry empty; a later reload picks it up when it appears.
func NewWatcher(ctx context.Context, dir string, reg *Set, interval time.Duration, log *slog.Logger) *Watcher {
	w := LoadWatcher(ctx, dir, reg, interval, log)
	w.Watch()
	return w
}

// LoadWatcher is NewWatcher, except that it starts watching the directory
// for changes (or polling it) only once Watch is called: accord serve
// loads the contracts first, starts everything else, and then watches, so
// that watching the tree (at 10,000 contracts, 20,000 directories to
// watch and a walk of the tree) does not take the CPU from the rest of
// the start. Changes made in between are still seen (see
// recheckSlack). Close stops it whether or not Watch was called.
func LoadWatcher(ctx context.Context, dir string, reg *Set, interval time.Duration, log *slog.Logger) *Watcher {
	return newWatcherPaused(ctx, dir, reg, interval, log, notifySupported)
}

// Watch starts watching (or polling) the directory, when the watcher's
// interval is positive; calling it again does nothing.
func (w *Watcher) Watch() {
	w.beginOnce.Do(func() { close(w.begin) })
}

// newWatcher is NewWatcher; notify false polls even where notifications
// are available (tests of polling).
func newWatcher(ctx context.Context, dir string, reg *Set, interval time.Duration, log *slog.Logger, notify bool) *Watcher {
	w := newWatcherPaused(ctx, dir, reg, interval, log, notify)
	w.Watch()
	return w
}

// recheckSlack is how long before the first load began a file's change
// time may say and still have it compiled again when the tree is first
// watched or polled: more than a filesystem's clock (a coarse tick, or a
// 2 s granularity on FAT) can lag the process's.
const recheckSlack = 3 * time.Second

// newWatcherPaused is LoadWatcher; notify false polls even where
// notifications are available (tests of polling).
func newWatcherPaused(ctx context.Context, dir string, reg *Set, interval time.Duration, log *slog.Logger, notify bool) *Watcher {
	w := &Watcher{dir: filepath.Clean(dir), reg: reg, log: log, interval: interval,
		files: map[string]watchedFile{}, dirs: map[string][]dirEntry{}, done: make(chan struct{}), watched: make(chan struct{}),
		begin: make(chan struct{})}
	// The first load lists and compiles the tree without watching it, so
	// that the contracts are served sooner: at 10,000 contracts, watching
	// the 20,000 directories of the Iglu layout is 0.17 s of CPU. The
	// watching goroutine then watches every directory and walks the tree
	// again, comparing each file with what the load read (and reading
	// again those changed since shortly before the load, compiling those
	// whose content is not what the load compiled), so a change made
	// before the watches were in place is not missed.
	w.recheckSince = time.Now().Add(-recheckSlack)
	rep, err := w.reload(true, nil, false)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		log.Warn("contracts directory does not exist: every event will fail as schema_not_found; run accord init, or set contracts.dir", "dir", dir)
	case err != nil:
		log.Error("contracts could not be read: every event will fail as schema_not_found", "dir", dir, "err", err)
	default:
		log.Info("contracts loaded", "dir", dir, "loaded", rep.Loaded, "failed", len(rep.Failed))
	}
	ctx, w.cancel = context.WithCancel(ctx)
	if interval <= 0 {
		close(w.watched)
		close(w.done)
		return w
	}
	w.useNotify = notify
	go w.poll(ctx, notify)
	return w
}

// Close stops watching and waits for the watching goroutine to end.
func (w *Watcher) Close() {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopNotify()
}

// Reloads counts the reloads that replaced the contracts served, the
// first load at start included: forced ones (Reload) and those a poll made
// on finding a file added, changed or removed.
func (w *Watcher) Reloads() uint64 { return w.reloads.Load() }

// Reload recompiles every contract file now, whether it changed or not, and
// swaps the result in. Files that do not compile keep their earlier version.
func (w *Watcher) Reload() (ReloadReport, error) {
	rep, err := w.reload(true, nil, false)
	if err != nil {
		return ReloadReport{}, fmt.Errorf("reload contracts from %s: %w", w.dir, err)
	}
	w.log.Info("contracts reloaded", "dir", w.dir, "loaded", rep.Loaded, "failed", len(rep.Failed))
	return rep, nil
}

func (w *Watcher) poll(ctx context.Context, watch bool) {
	defer close(w.done)
	select {
	case <-w.begin:
	case <-ctx.Done():
		close(w.watched)
		return
	}
	if watch {
		// Watch the tree the first load listed, then walk it again.
		rep, err := w.reload(false, nil, true)
		w.logReload(rep, err)
	}
	close(w.watched)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	// The paths events named since the last reload, and whether events
	// were lost; only this goroutine reads the notifications.
	touched := map[string]fsnotify.Op{}
	lost := false
	notify := w.currentNotify()
	events, errs := notifyChannels(notify)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events, errs = nil, nil
				continue
			}
			// Clean: under a watch of ".", fsnotify names "./vendor".
			touched[filepath.Clean(ev.Name)] |= ev.Op
			continue
		case err, ok := <-errs:
			if !ok {
				events, errs = nil, nil
				continue
			}
			// The queue overflowed, or a read failed: what changed is
			// not known, so the next reload walks the whole tree.
			w.log.Debug("contracts directory notifications lost; walking the tree again", "dir", w.dir, "err", err)
			lost = true
			continue
		case <-t.C:
		}
		rep, err := w.reload(false, touched, lost)
		clear(touched)
		lost = false
		if n := w.currentNotify(); n != notify {
			notify = n
			events, errs = notifyChannels(n)
		}
		w.logReload(rep, err)
	}
}

// logReload says what a reload of the watching goroutine did.
func (w *Watcher) logReload(rep ReloadReport, err error) {
	switch {
	case errors.Is(err, errUnchanged):
	case errors.Is(err, fs.ErrNotExist):
		w.log.Warn("contracts directory is gone: every event will fail as schema_not_found", "dir", w.dir)
	case err != nil:
		w.log.Error("contracts directory could not be read; keeping the contracts loaded", "dir", w.dir, "err", err)
	default:
		w.log.Info("contracts reloaded", "dir", w.dir, "loaded", rep.Loaded, "failed", len(rep.Failed))
	}
}

func (w *Watcher) currentNotify() *fsnotify.Watcher {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.notify
}

func notifyChannels(n *fsnotify.Watcher) (<-chan fsnotify.Event, <-chan error) {
	if n == nil {
		return nil, nil
	}
	return n.Events, n.Errors
}

// errUnchanged: a poll found nothing to reload.
var errUnchanged = errors.New("contracts unchanged")

// startNotify starts watching for notifications before a walk of the whole
// tree, when the directory is one they can be trusted for; otherwise the
// watcher polls from now on. A directory that does not exist yet is
// decided on when it appears.
func (w *Watcher) startNotify() {
	info, err := os.Lstat(w.dir)
	if err != nil {
		return
	}
	if !info.IsDir() || !localFilesystem(w.dir) {
		w.useNotify = false
		w.log.Info("contracts directory is polled for changes: it is a symbolic link or on a filesystem whose changes this system may not report", "dir", w.dir, "interval", w.interval.String())
		return
	}
	n, err := fsnotify.NewWatcher()
	if err != nil {
		w.useNotify = false
		w.log.Warn("contracts directory is polled for changes: notifications are unavailable", "dir", w.dir, "err", err)
		return
	}
	w.notify = n
}

func (w *Watcher) stopNotify() {
	if w.notify != nil {
		w.notify.Close()
		w.notify = nil
	}
}

// reload brings the watcher up to date with the tree. force walks the
// whole tree and compiles every file. Otherwise, when notifications are
// watched, it lists again only what touched names (the whole tree when
// lost), and returns errUnchanged when nothing was added, removed or
// changed; when polling, it walks the whole tree and compares.
func (w *Watcher) reload(force bool, touched map[string]fsnotify.Op, lost bool) (ReloadReport, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	full := force || lost || w.notify == nil || len(w.dirs) == 0
	if !full && len(touched) == 0 {
		return ReloadReport{}, errUnchanged
	}
	reset := false
	if !full {
		for p, op := range touched {
			if _, isDir := w.dirs[p]; isDir && op.Has(fsnotify.Rename) {
				// A directory moved: its watches, and those under it,
				// follow it under names the notifications no longer
				// know. Start afresh.
				full, reset = true, true
				break
			}
		}
	}
	s := &scan{w: w, force: force, files: maps.Clone(w.files), dirs: maps.Clone(w.dirs), queued: map[string]*compileJob{}}
	if full && !force {
		s.recheckSince = w.recheckSince
	}
	if full && w.useNotify {
		if reset {
			w.stopNotify()
		}
		if w.notify == nil {
			w.startNotify()
			s.watchAll = w.notify != nil
		}
	}
	s.notify = w.notify
	var dirErr error
	if full {
		dirErr = s.dir(w.dir, true)
	} else {
		dirErr = s.touched(touched)
	}
	if dirErr != nil && !errors.Is(dirErr, fs.ErrNotExist) {
		if s.pool != nil {
			s.pool.wait() // its work is thrown away with the rest
		}
		if w.notify != nil {
			// What failed is listed again next time.
			w.stopNotify()
		}
		return ReloadReport{}, dirErr
	}
	if s.watchErr != nil {
		w.stopNotify()
		w.useNotify = false
		w.log.Warn("contracts directory is polled for changes from now on: a directory could not be watched (see fs.inotify.max_user_watches)", "dir", w.dir, "err", s.watchErr)
	}
	s.compileQueued()
	if !force {
		// A forced reload compiled every file, each against what the
		// others hold now.
		s.dependents()
	}
	w.files, w.dirs = s.files, s.dirs
	if full && !force {
		w.recheckSince = time.Time{}
	}
	if !force && !s.changed {
		return ReloadReport{}, errUnchanged
	}
	rep := ReloadReport{Failed: []ReloadProblem{}}
	contracts := make([]*Contract, 0, len(w.files))
	w.walk(w.dir, func(path string, f watchedFile) {
		if f.err != nil {
			rep.Failed = append(rep.Failed, f.problem(path))
		}
		if f.contract != nil {
			contracts = append(contracts, f.contract)
		}
	})
	w.reg.Replace(contracts)
	w.reloads.Add(1)
	rep.Loaded = len(contracts)
	return rep, dirErr
}

// walk calls fn for the files under path in the order of a walk of the
// tree (names sorted in each directory), as LoadDir reads them.
func (w *Watcher) walk(path string, fn func(string, watchedFile)) {
	for _, e := range w.dirs[path] {
		p := joinPath(path, e.name)
		if e.dir {
			w.walk(p, fn)
		} else if f, ok := w.files[p]; ok {
			fn(p, f)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (w *Watcher) logProblem(path string, err error, kept *Contract) {
	if kept != nil {
		w.log.Error("contract not reloaded; still serving its earlier version", "file", path, "schema", kept.URI, "err", err)
		return
	}
	w.log.Error("contract not loaded", "file", path, "err", err)
}

// scan is one reload's pass over (part of) the tree. It works on copies
// of the watcher's files and dirs, which replace them once it succeeds.
type scan struct {
	w      *Watcher
	force  bool
	notify *fsnotify.Watcher
	// watchAll watches every directory listed, known or not (a new
	// notifications watcher); otherwise only new ones are watched.
	watchAll bool
	watchErr error
	files    map[string]watchedFile
	dirs     map[string][]dirEntry
	// content names the files whose content events say changed, which are
	// compiled again whatever their size and modification time say.
	content map[string]bool
	// pool compiles the files queued while the scan goes on (then the
	// dependents, see dependents), queue in the order queued; queued
	// holds each one's last job of the walk.
	pool   *compilePool
	queue  []*compileJob
	queued map[string]*compileJob
	// changedPaths are the files added, removed or queued by the walk.
	changedPaths []string
	changed      bool
	// recheckSince: files changed since (changeTime) are read again and,
	// unless they hold what they were compiled from, compiled again; they
	// count as changed only when that gives something else (zero: none).
	recheckSince time.Time
}

func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// touched lists again what the events named: the directory a touched file
// is in (the nearest the tree knows), and the whole of a touched directory
// and the directory it is in.
func (s *scan) touched(touched map[string]fsnotify.Op) error {
	root := s.w.dir
	shallow := map[string]bool{}
	deep := map[string]bool{}
	s.content = map[string]bool{}
	for p, op := range touched {
		if !inTree(root, p) {
			continue
		}
		if _, isDir := s.dirs[p]; isDir {
			deep[p] = true
			if p == root {
				continue
			}
		} else if op&^fsnotify.Chmod != 0 {
			s.content[p] = true
		}
		d := filepath.Dir(p)
		for d != root && s.dirs[d] == nil {
			if _, known := s.dirs[d]; known {
				break
			}
			d = filepath.Dir(d)
		}
		shallow[d] = true
	}
	if deep[root] {
		return s.dir(root, true)
	}
	for _, d := range slices.Sorted(maps.Keys(shallow)) {
		if _, known := s.dirs[d]; !known && d != root {
			continue // dropped by an earlier listing
		}
		if err := s.dir(d, false); err != nil && (d == root || !notExist(err)) {
			return err
		}
	}
	for _, d := range slices.Sorted(maps.Keys(deep)) {
		if _, known := s.dirs[d]; !known {
			continue // gone, or listed afresh by its parent's listing
		}
		if err := s.dir(d, true); err != nil && !notExist(err) {
			return err
		}
	}
	return nil
}

// dir lists the directory at path again, and the directories in it that
// are new to the tree (every one of them when deep), and queues what
// changed in them. A directory that is gone takes what was under it with
// it; for the root, the error says so.
func (s *scan) dir(path string, deep bool) error {
	old, known := s.dirs[path]
	if s.notify != nil && (!known || s.watchAll) && s.watchErr == nil {
		// Watched before it is listed: nothing added between the two
		// goes unseen.
		if err := s.notify.Add(path); err != nil && !notExist(err) {
			s.watchErr = err
		}
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		if notExist(err) {
			s.drop(path)
			if path == s.w.dir {
				return err
			}
			return nil
		}
		return err
	}
	cur := make([]dirEntry, 0, len(ents))
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			cur = append(cur, dirEntry{name: e.Name(), dir: e.IsDir()})
		}
	}
	// What is gone first, so that a name that changed from a file to a
	// directory (or back) is dropped before it is listed anew.
	i := 0
	for _, o := range old {
		for i < len(cur) && cur[i].name < o.name {
			i++
		}
		if i < len(cur) && cur[i] == o {
			continue
		}
		p := joinPath(path, o.name)
		if o.dir {
			s.drop(p)
		} else {
			s.remove(p)
		}
	}
	s.dirs[path] = cur
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := joinPath(path, name)
		if e.IsDir() {
			if _, known := s.dirs[p]; !known || deep {
				if err := s.dir(p, true); err != nil && !notExist(err) {
					return err
				}
			}
			continue
		}
		if err := s.file(p, e); err != nil {
			return err
		}
	}
	return nil
}

// file queues the file at p when it is new, when events say its content
// changed, or when its size or modification time did.
func (s *scan) file(p string, e fs.DirEntry) error {
	regular := e.Type().IsRegular()
	if old, known := s.files[p]; known && !s.force && !s.content[p] {
		info, err := e.Info()
		if err != nil {
			if notExist(err) {
				s.remove(p)
				return nil
			}
			return err
		}
		if info.Size() == old.size && info.ModTime().Equal(old.modTime) {
			if !s.recheckSince.IsZero() && !changeTime(info).Before(s.recheckSince) {
				s.recheck(p, regular, old)
			}
			return nil
		}
	}
	s.enqueue(p, regular)
	return nil
}

func (s *scan) enqueue(p string, regular bool) { s.add(&compileJob{path: p, regular: regular}) }

// recheck queues the file at p, known as old, though it may not have
// changed: it is read again, and compiled only if it holds something else
// than old was compiled from, or than old's compile refused: a broken
// file left as it was is refused as before, and compiling it again would
// only say so again. A file whose compile failed before reading it (a
// path out of the layout, a read that failed) is compiled again.
func (s *scan) recheck(p string, regular bool, old watchedFile) {
	j := &compileJob{path: p, regular: regular, recheck: true}
	switch {
	case old.err == nil && old.contract != nil:
		j.read = old.contract.Document
	case old.err != nil:
		j.readSum = old.failedRead
	}
	s.add(j)
}

// add queues j's file for compiling, unless it is queued already (but
// for a recheck only, when j is not).
func (s *scan) add(j *compileJob) {
	p := j.path
	if q := s.queued[p]; q != nil && (j.recheck || !q.recheck) {
		return
	}
	s.queued[p] = j
	s.submit(j)
	// A rechecked file's dependents are checked too, even when it holds
	// what its own compile read: a dependent's compile read it on its
	// own, perhaps before a change.
	s.changedPaths = append(s.changedPaths, p)
	if !j.recheck {
		s.changed = true
	}
}

// submit hands j to the scan's compile pool, started on first use.
func (s *scan) submit(j *compileJob) {
	if s.pool == nil {
		s.pool = newCompilePool(s.w.dir)
	}
	s.queue = append(s.queue, s.pool.add(j))
}

// drop takes the directory at path, and all under it, out of the tree.
func (s *scan) drop(path string) {
	ents, ok := s.dirs[path]
	if !ok {
		return
	}
	delete(s.dirs, path)
	for _, e := range ents {
		p := joinPath(path, e.name)
		if e.dir {
			s.drop(p)
		} else {
			s.remove(p)
		}
	}
}

func (s *scan) remove(p string) {
	if _, ok := s.files[p]; ok {
		delete(s.files, p)
		s.changedPaths = append(s.changedPaths, p)
		s.changed = true
	}
}

// dependents checks, once the walk's compiles are recorded, the files
// whose last compilation looked up a contract that a file of the walk
// holds (added, removed, queued, or read again for a recheck): a contract
// is compiled with the documents it $refs, so it is compiled again when
// one of them holds something else than its compile read, appeared or
// went. Each is checked once, after the walk: by then every directory
// listed is watched (where notifications are used), so what the check and
// the compile read is current, and a change after is an event for the
// next reload. Checked during the walk, a file could read a referred-to
// file whose directory was not watched yet; and one queued for a recheck
// and compiled again as a dependent was compiled twice, the last compile
// winning (and once with nothing changed, a reload for nothing).
//
// The check reads the referred-to documents again rather than taking the
// walk's word for what changed: a rechecked file that holds what its own
// compile read may still not hold what a dependent's compile read (read
// on its own, perhaps before a change), and a file whose status changed
// may hold what it held.
func (s *scan) dependents() {
	if len(s.changedPaths) == 0 {
		return
	}
	var keys map[Key]bool
	for p, f := range s.files {
		if len(f.refs) == 0 {
			continue
		}
		if keys == nil {
			keys = map[Key]bool{}
			for _, c := range s.changedPaths {
				if rel, err := filepath.Rel(s.w.dir, c); err == nil {
					if k, err := ParseKey(filepath.ToSlash(rel)); err == nil {
						keys[k] = true
					}
				}
			}
		}
		for _, r := range f.refs {
			if keys[r.key] {
				s.submit(&compileJob{path: p, regular: f.regular, recheck: true, dependent: true, readRefs: f.refs})
				break
			}
		}
	}
	s.compileQueued()
}

// compileQueued waits for the queued files' compilations and records what
// each gave; a file that fails keeps the contract it compiled to before.
func (s *scan) compileQueued() {
	if s.pool == nil {
		return
	}
	s.pool.wait()
	queue := s.queue
	s.pool, s.queue = nil, nil
	for _, j := range queue {
		if j.same {
			continue // what it was compiled from is what the files hold
		}
		s.w.compiled.Add(1)
		p := j.path
		st := j.stat
		if st == nil || !j.regular {
			// Not read, or not a regular file: its own status is what the
			// next poll compares.
			info, err := os.Lstat(p)
			if err != nil {
				// Gone since it was listed; the next listing says so.
				s.remove(p)
				continue
			}
			st = &fileStat{size: info.Size(), modTime: info.ModTime()}
		}
		old, known := s.files[p]
		if j.recheck && known && sameCompile(old, j) {
			// Nothing served changes; what this compile read is what
			// the next comparisons are with.
			old.failedRead, old.refs = j.failedRead, j.refs
			s.files[p] = old
			continue
		}
		if j.recheck {
			s.changed = true
		}
		wf := watchedFile{size: st.size, modTime: st.modTime, regular: j.regular, contract: old.contract, err: j.err, failedRead: j.failedRead, refs: j.refs}
		if j.err == nil {
			wf.contract = j.contract
		} else if !known || j.err.Error() != errText(old.err) {
			s.w.logProblem(p, j.err, wf.contract)
		}
		s.files[p] = wf
	}
}

// sameCompile reports whether j, a file compiled again though its size
// and modification time had not changed, gave what old holds: the same
// refusal, or the same document compiled, unless j is a dependent,
// compiled because a document it refers to changed (the same text of its
// own says nothing then).
func sameCompile(old watchedFile, j *compileJob) bool {
	if j.err != nil || old.err != nil {
		return j.err != nil && old.err != nil && j.err.Error() == old.err.Error()
	}
	return !j.dependent && old.contract != nil && j.contract != nil && bytes.Equal(old.contract.Document, j.contract.Document)
}

// report is what the last reload left: the contracts served and the files
// failing.
func (w *Watcher) report() (ReloadReport, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rep := ReloadReport{Failed: []ReloadProblem{}}
	w.walk(w.dir, func(path string, f watchedFile) {
		if f.err != nil {
			rep.Failed = append(rep.Failed, f.problem(path))
		}
		if f.contract != nil {
			rep.Loaded++
		}
	})
	return rep, nil
}

// joinPath is filepath.Join for a clean directory and a name: the paths of
// a walk from "." are "vendor/...", as filepath.WalkDir gives them.
func joinPath(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + string(filepath.Separator) + name
}

// inTree reports whether path (as joinPath builds them) is root or under it.
func inTree(root, path string) bool {
	if root == "." {
		return filepath.IsLocal(path) || path == "."
	}
	return path == root || strings.HasPrefix(path, root+string(filepath.Separator))
}
