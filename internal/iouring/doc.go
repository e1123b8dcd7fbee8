// Package iouring runs fdatasync through the kernel's io_uring, so that
// the goroutine waiting for it parks in Go's network poller instead of
// blocking its thread.
//
// Why: a system call that blocks for longer than the runtime's monitor
// sleeps (20 µs while the process is busy) makes the runtime take the
// thread's P away and start or wake another thread to run goroutines
// meanwhile; when the call returns, its thread finds no P free, queues the
// goroutine and sleeps again. The spool's group commit calls fdatasync up
// to a few thousand times a second, each for a fraction of a millisecond,
// and on a small virtual machine those thread switches cost more than the
// flush's own work (docs/performance-log.md, "The spool's fsync through
// io_uring"). Through a ring the flush runs on the kernel's io_uring
// worker, a thread of this process that holds no P, and its completion
// wakes the goroutine through an eventfd the poller watches.
//
// A Ring runs one operation at a time: the spool has one writer, and with
// one operation in flight the completion queue holds nothing but its
// answer. Where the kernel has no io_uring or refuses it (older than
// Linux 5.4, kernel.io_uring_disabled, a seccomp profile such as
// container runtimes' default), Open fails and callers make the system
// call themselves.
package iouring

import "errors"

// ErrRing matches the errors of the ring itself, as opposed to the failure
// of the operation it ran: the operation may not have run, so the caller
// runs it as a system call. A ring whose system calls or eventfd failed
// fails every later call the same way; an operation the kernel cancelled
// before it ran (its submitting thread exited) fails alone.
var ErrRing = errors.New("io_uring failed")
