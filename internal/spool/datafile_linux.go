package spool

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/accord-events/accord/internal/iouring"
)

// dataFile is a segment open for writing. Its Sync is fdatasync: the
// spool needs a segment's bytes and size durable, not its times, and an
// fdatasync of a write into allocated space (see reserve) needs no inode
// update of its own.
type dataFile struct {
	*os.File
	fd int
}

func newDataFile(f *os.File) dataFile { return dataFile{File: f, fd: int(f.Fd())} }

// writesOverSpare: on Linux the spool keeps a delivered segment's file as
// the spare (see keepsSpare).
const writesOverSpare = true

func (f dataFile) Sync() error {
	return f.syscall("fdatasync", func() error { return unix.Fdatasync(f.fd) })
}

// SyncThrough is Sync run by the kernel's io_uring worker while the
// calling goroutine parks (see package iouring); where the ring failed
// before the flush ran it is Sync. A flush whose outcome the ring lost is
// a failed flush: the kernel reports a flush's failure once, so a second
// one could succeed over lost data.
func (f dataFile) SyncThrough(r *iouring.Ring) error {
	err := r.Fdatasync(f.fd)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, iouring.ErrRing):
		// The flush may not have run: the data is still in the page
		// cache, unflushed but not known lost.
		return f.Sync()
	default:
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
}

func (f dataFile) Allocate(off, n int64) error {
	return f.syscall("fallocate", func() error { return unix.Fallocate(f.fd, 0, off, n) })
}

// syscall calls call until a signal does not interrupt it, and words its
// error as the os package does.
func (f dataFile) syscall(op string, call func() error) error {
	for {
		err := call()
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, syscall.EINTR):
			return &os.PathError{Op: op, Path: f.Name(), Err: err}
		}
	}
}
