package spool

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/accord-events/accord/internal/atomicfile"
)

// maxReaderName bounds a reader name so its escaped file name stays well
// under file system limits.
const maxReaderName = 64

// cursor is a registered reader's persisted position. Guarded by Spool.mu.
type cursor struct {
	name      string
	committed uint64 // last offset delivered; 0 for none
	// seg and pos locate the record after committed: the base of its
	// segment and its byte position there.
	seg uint64
	pos int64
	// open is the Reader using the cursor in this process, if any.
	open *Reader
}

// cursorFile is a cursor file's content.
type cursorFile struct {
	Reader    string `json:"reader"`
	Committed uint64 `json:"committed"`
	Segment   uint64 `json:"segment"`
	Position  int64  `json:"position"`
}

// checkReaderName reports whether name can name a reader.
func checkReaderName(name string) error {
	if name == "" || len(name) > maxReaderName {
		return fmt.Errorf("spool reader name %q: must be 1 to %d bytes", name, maxReaderName)
	}
	return nil
}

// cursorFileName is the file holding a reader's cursor: the name with every
// byte other than letters, digits, '-' and '_' escaped as %XX, so any sink
// name maps to one safe file name and back.
func cursorFileName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String() + cursorSuffix
}

// readCursor reads a cursor file.
func readCursor(path string) (*cursor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spool cursor: %w", err)
	}
	var cf cursorFile
	if err := json.Unmarshal(b, &cf); err != nil {
		return nil, fmt.Errorf("read spool cursor %s: %w; remove the file to have that sink start again from the oldest record held", filepath.Base(path), err)
	}
	if checkReaderName(cf.Reader) != nil || cursorFileName(cf.Reader) != filepath.Base(path) {
		return nil, fmt.Errorf("read spool cursor %s: names reader %q, which belongs in %s; remove or rename the file", filepath.Base(path), cf.Reader, cursorFileName(cf.Reader))
	}
	return &cursor{name: cf.Reader, committed: cf.Committed, seg: cf.Segment, pos: cf.Position}, nil
}

// writeCursor replaces a cursor file atomically: a temporary file written
// and fsynced, renamed over the old one, and the directory fsynced. A crash
// leaves the old cursor or the new one, never a mix.
func writeCursor(dir string, cf cursorFile, sync bool) error {
	b, err := json.Marshal(cf)
	if err != nil {
		return fmt.Errorf("encode spool cursor: %w", err)
	}
	b = append(b, '\n')
	path := filepath.Join(dir, cursorFileName(cf.Reader))
	write := atomicfile.WriteNoSync
	if sync {
		write = atomicfile.Write
	}
	if err := write(path, b, 0o644); err != nil {
		return fmt.Errorf("write spool cursor %s: %w", cf.Reader, writeErr(err))
	}
	return nil
}
