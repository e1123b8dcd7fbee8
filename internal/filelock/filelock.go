// Package filelock takes an exclusive advisory lock on a file, so that two
// processes never write the same files (a spool, the replay ledger). The
// lock goes with the process: a kill -9 releases it.
package filelock

import "errors"

// ErrLocked means another process holds the lock.
var ErrLocked = errors.New("locked by another process")
