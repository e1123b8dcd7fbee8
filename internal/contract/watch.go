package contract

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Watcher keeps a Set in step with a contracts directory: it polls the
// tree every interval (path, size and modification time of each file) and,
// when anything changed, recompiles what changed and swaps the whole new set
// in with Set.Replace, so an event sees the old set or the new one,
// never a mix. Polling rather than file notifications keeps it dependency-free
// and works the same on every filesystem, network mounts included.
//
// A file that fails to compile keeps the contract it last compiled to, if it
// ever did, so a half-written or broken edit never takes a contract away
// from the events that use it; the failure is logged with the file and why.
type Watcher struct {
	dir      string
	reg      *Set
	log      *slog.Logger
	interval time.Duration

	mu    sync.Mutex // serialises reloads; guards files
	files map[string]watchedFile
	// reloads counts the reloads that replaced the registry's contracts.
	reloads atomic.Uint64

	cancel context.CancelFunc
	done   chan struct{}
}

// watchedFile is what the watcher knows of one file in the tree.
type watchedFile struct {
	size    int64
	modTime time.Time
	// contract is the file's last good compilation, nil if it never compiled.
	contract *Contract
	// err is why the file's current content does not compile, if it does not.
	err error
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
// positive, polls dir for changes every interval until ctx ends or Close is
// called. A dir that does not exist (yet) is logged and leaves the registry
// empty; a later poll picks it up when it appears.
func NewWatcher(ctx context.Context, dir string, reg *Set, interval time.Duration, log *slog.Logger) *Watcher {
	w := &Watcher{dir: dir, reg: reg, log: log, interval: interval, files: map[string]watchedFile{}, done: make(chan struct{})}
	rep, err := w.reload(true)
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
		close(w.done)
		return w
	}
	go w.poll(ctx)
	return w
}

// Close stops polling and waits for the polling goroutine to end.
func (w *Watcher) Close() {
	w.cancel()
	<-w.done
}

// Reloads counts the reloads that replaced the contracts served, the
// first load at start included: forced ones (Reload) and those a poll made
// on finding a file added, changed or removed.
func (w *Watcher) Reloads() uint64 { return w.reloads.Load() }

// Reload recompiles every contract file now, whether it changed or not, and
// swaps the result in. Files that do not compile keep their earlier version.
func (w *Watcher) Reload() (ReloadReport, error) {
	rep, err := w.reload(true)
	if err != nil {
		return ReloadReport{}, fmt.Errorf("reload contracts from %s: %w", w.dir, err)
	}
	w.log.Info("contracts reloaded", "dir", w.dir, "loaded", rep.Loaded, "failed", len(rep.Failed))
	return rep, nil
}

func (w *Watcher) poll(ctx context.Context) {
	defer close(w.done)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rep, err := w.reload(false)
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
}

// errUnchanged: a poll found nothing to reload.
var errUnchanged = errors.New("contracts unchanged")

type statted struct {
	path    string
	size    int64
	modTime time.Time
}

// reload scans the tree; unless force, it returns errUnchanged when no file
// was added, removed or changed since the last scan.
func (w *Watcher) reload(force bool) (ReloadReport, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen, dirErr := w.scan()
	if dirErr != nil && !errors.Is(dirErr, fs.ErrNotExist) {
		return ReloadReport{}, dirErr
	}
	// A directory that does not exist holds no contracts: one that went
	// away is every contract removed; it is reported, not retried.
	if !force && !w.changed(seen) {
		return ReloadReport{}, errUnchanged
	}
	// The files added or changed (all of them when forced) are compiled
	// together first.
	var changed []string
	for _, f := range seen {
		if old, known := w.files[f.path]; force || !known || old.size != f.size || !old.modTime.Equal(f.modTime) {
			changed = append(changed, f.path)
		}
	}
	compiled := loadFiles(w.dir, changed)
	next := make(map[string]watchedFile, len(seen))
	rep := ReloadReport{Failed: []ReloadProblem{}}
	contracts := make([]*Contract, 0, len(seen))
	for _, f := range seen {
		old, known := w.files[f.path]
		wf := watchedFile{size: f.size, modTime: f.modTime, contract: old.contract, err: old.err}
		if len(changed) > 0 && changed[0] == f.path {
			c, err := compiled[0].contract, compiled[0].err
			changed, compiled = changed[1:], compiled[1:]
			wf.err = err
			if err == nil {
				wf.contract = c
			} else if !known || wf.err.Error() != errText(old.err) {
				w.logProblem(f.path, err, wf.contract)
			}
		}
		if wf.err != nil {
			p := ReloadProblem{File: f.path, Error: wf.err.Error()}
			if wf.contract != nil {
				p.Kept = wf.contract.URI
			}
			rep.Failed = append(rep.Failed, p)
		}
		if wf.contract != nil {
			contracts = append(contracts, wf.contract)
		}
		next[f.path] = wf
	}
	w.files = next
	w.reg.Replace(contracts)
	w.reloads.Add(1)
	rep.Loaded = len(contracts)
	return rep, dirErr
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

func (w *Watcher) changed(seen []statted) bool {
	if len(seen) != len(w.files) {
		return true
	}
	for _, f := range seen {
		old, ok := w.files[f.path]
		if !ok || old.size != f.size || !old.modTime.Equal(f.modTime) {
			return true
		}
	}
	return false
}

// scan lists the files under dir as LoadDir reads them: hidden files and
// directories are skipped.
func (w *Watcher) scan() ([]statted, error) {
	var out []statted
	err := filepath.WalkDir(w.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == w.dir {
				return err
			}
			// A file removed between listing and stat is simply gone.
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && path != w.dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		out = append(out, statted{path: path, size: info.Size(), modTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
