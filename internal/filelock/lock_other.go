//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package filelock

import (
	"fmt"
	"os"
)

// Lock opens the lock file without locking it: this platform has no
// flock, so keeping one process per spool or ledger is up to the operator.
func Lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	return f, nil
}

// Unlock closes the lock file.
func Unlock(f *os.File) error { return f.Close() }
