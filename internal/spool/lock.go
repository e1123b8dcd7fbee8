package spool

import (
	"errors"
	"fmt"
	"os"

	"github.com/accord-events/accord/internal/filelock"
)

// lockDir takes the spool's lock file, so two processes never write one
// spool; a second one gets an error matching ErrLocked.
func lockDir(path string) (*os.File, error) {
	f, err := filelock.Lock(path)
	if errors.Is(err, filelock.ErrLocked) {
		return nil, fmt.Errorf("%w: %s is locked; stop the other Accord process or give this one its own spool dir", ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("lock spool: %w", err)
	}
	return f, nil
}

// unlockDir releases the lock taken by lockDir.
func unlockDir(f *os.File) error { return filelock.Unlock(f) }
