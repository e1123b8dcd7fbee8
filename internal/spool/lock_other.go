//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package spool

import (
	"fmt"
	"os"
)

// lockDir opens the lock file without locking it: this platform has no
// flock, so keeping one process per spool is up to the operator.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open spool lock file: %w", err)
	}
	return f, nil
}

// unlockDir closes the lock file.
func unlockDir(f *os.File) error { return f.Close() }
