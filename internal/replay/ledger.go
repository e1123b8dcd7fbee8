package replay

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/filelock"
)

// Ledger remembers, per sink, the replayed records each sink has taken, so
// that a replay run again, or again after it failed part way, writes no
// record to a sink twice, whatever the sink: the file, stdout and http sinks
// cannot tell a record they already hold. A sink's ledger is one file in the
// ledger's directory, SINK.ledger, one line per record it took: g (good) or
// f (failed), a space, and the SHA-256 of the record's event_id in hex, so
// every line is the same length however long the client's event ids are.
// A lock file keeps one replay at a time on a ledger.
type Ledger struct {
	dir   string
	lock  *os.File
	sinks map[string]*sinkLedger
}

// ledgerKey is one record in a sink's ledger.
type ledgerKey struct {
	id    [sha256.Size]byte
	valid bool
}

type sinkLedger struct {
	taken map[ledgerKey]bool
	file  *os.File
}

// ledgerLine is the length of a ledger line: "g " or "f ", 64 hex digits
// and a newline.
const ledgerLine = 2 + 2*sha256.Size + 1

// ErrReplayRunning means another accord replay holds the ledger.
var ErrReplayRunning = errors.New("another accord replay is running")

// OpenLedger opens (creating) the ledger in dir and locks it; Close unlocks.
func OpenLedger(dir string) (*Ledger, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create replay ledger dir: %w", err)
	}
	lock, err := filelock.Lock(filepath.Join(dir, "LOCK"))
	if errors.Is(err, filelock.ErrLocked) {
		return nil, fmt.Errorf("%w on the ledger in %s; wait for it to end", ErrReplayRunning, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("lock replay ledger: %w", err)
	}
	return &Ledger{dir: dir, lock: lock, sinks: map[string]*sinkLedger{}}, nil
}

func keyOf(rec *event.Envelope) ledgerKey {
	return ledgerKey{id: sha256.Sum256([]byte(rec.EventID)), valid: rec.Valid}
}

// sink loads the named sink's ledger on first use.
func (l *Ledger) sink(name string) (*sinkLedger, error) {
	if sl, ok := l.sinks[name]; ok {
		return sl, nil
	}
	path := filepath.Join(l.dir, url.PathEscape(name)+".ledger")
	sl := &sinkLedger{taken: map[ledgerKey]bool{}}
	f, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open replay ledger of sink %s: %w", name, err)
	default:
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, ok := parseLedgerLine(sc.Bytes())
			if !ok {
				// A line cut by a crash is the last one; its records
				// are written again, as at-least-once allows.
				continue
			}
			sl.taken[k] = true
		}
		err := sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read replay ledger %s: %w", path, err)
		}
	}
	l.sinks[name] = sl
	return sl, nil
}

// parseLedgerLine reads one line (without its newline).
func parseLedgerLine(line []byte) (ledgerKey, bool) {
	var k ledgerKey
	if len(line) != ledgerLine-1 || line[1] != ' ' || (line[0] != 'g' && line[0] != 'f') {
		return k, false
	}
	if _, err := hex.Decode(k.id[:], line[2:]); err != nil {
		return k, false
	}
	k.valid = line[0] == 'g'
	return k, true
}

// Taken reports whether the sink called name took rec in an earlier replay
// (or earlier in this one).
func (l *Ledger) Taken(name string, rec *event.Envelope) (bool, error) {
	sl, err := l.sink(name)
	if err != nil {
		return false, err
	}
	return sl.taken[keyOf(rec)], nil
}

// Add records that the sink called name took recs, on disk (synced) before
// it returns.
func (l *Ledger) Add(name string, recs []*event.Envelope) error {
	sl, err := l.sink(name)
	if err != nil {
		return err
	}
	if sl.file == nil {
		path := filepath.Join(l.dir, url.PathEscape(name)+".ledger")
		if sl.file, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
			return fmt.Errorf("open replay ledger of sink %s: %w", name, err)
		}
		// Lines are all one length: cut a line a crash left half
		// written, so that the next one starts on a line of its own.
		if st, err := sl.file.Stat(); err != nil || st.Size()%ledgerLine != 0 {
			if err == nil {
				err = sl.file.Truncate(st.Size() - st.Size()%ledgerLine)
			}
			if err != nil {
				return fmt.Errorf("cut the torn line of replay ledger %s: %w", path, err)
			}
		}
	}
	buf := make([]byte, 0, len(recs)*ledgerLine)
	for _, rec := range recs {
		k := keyOf(rec)
		mark := byte('f')
		if k.valid {
			mark = 'g'
		}
		buf = append(buf, mark, ' ')
		buf = hex.AppendEncode(buf, k.id[:])
		buf = append(buf, '\n')
	}
	if _, err := sl.file.Write(buf); err != nil {
		return fmt.Errorf("write replay ledger of sink %s: %w", name, err)
	}
	if err := sl.file.Sync(); err != nil {
		return fmt.Errorf("sync replay ledger of sink %s: %w", name, err)
	}
	for _, rec := range recs {
		sl.taken[keyOf(rec)] = true
	}
	return nil
}

// Close closes the sinks' ledgers and releases the lock.
func (l *Ledger) Close() error {
	var errs []error
	for name, sl := range l.sinks {
		if sl.file != nil {
			if err := sl.file.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close replay ledger of sink %s: %w", name, err))
			}
		}
	}
	if err := filelock.Unlock(l.lock); err != nil {
		errs = append(errs, fmt.Errorf("unlock replay ledger: %w", err))
	}
	return errors.Join(errs...)
}
